//! Configuration: every environment variable Elekto reads, with Elekto's names and defaults, plus
//! votebox's few additions. See `docs/configuration.md` for the list and
//! `shared/design/elekto-reference.md` §1 for the behaviour reproduced here.
//!
//! Reading is a pure function of an environment map ([`Config::from_env`]): `.env` loading
//! ([`crate::dotenv`]) and the process environment are applied before, by the caller. Rules that
//! apply to every variable:
//!
//! * an **empty value counts as unset** (Elekto's `env()` helper), so the default applies;
//! * values are otherwise taken raw: no trimming, no case folding (except where noted);
//! * an invalid value is a [`ConfigError`] naming the variable; the binary prints it as one line
//!   (`votebox: error: VAR: problem`) and exits with status 2.
//!
//! Settings that only some commands need (the database, the meta repository) are checked when a
//! command asks for them ([`Config::database`], [`Config::meta`]), so `votebox generate-key` works
//! without a database configured.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use votebox_db::Backend;

/// The environment as seen by votebox: process environment overlaid with `.env`.
pub type Env = HashMap<String, String>;

/// Elekto's default instance name.
pub const DEFAULT_APP_NAME: &str = "k8s.elections";
pub const DEFAULT_APP_PORT: u16 = 5000;
/// `console --run`'s default bind address (`votebox serve`).
pub const DEFAULT_APP_HOST: &str = "127.0.0.1";
pub const DEFAULT_MIN_PASSCODE_LENGTH: usize = 6;
pub const DEFAULT_DB_USERNAME: &str = "root";
pub const DEFAULT_DB_HOST: &str = "localhost";
/// Elekto's default port for MySQL **and PostgreSQL** ([QUIRK], checklist 2).
pub const DEFAULT_DB_PORT: &str = "3306";
pub const DEFAULT_META_PATH: &str = "meta";
pub const DEFAULT_META_BRANCH: &str = "main";
pub const DEFAULT_META_DEPLOYMENT: &str = "local";
pub const DEFAULT_GITHUB_REDIRECT: &str = "/oauth/github/callback";
pub const DEFAULT_GITHUB_AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
pub const DEFAULT_GITHUB_ACCESS_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";
/// votebox-only: where votebox keeps files it owns (generated `APP_KEY`, default SQLite file).
pub const DEFAULT_DATA_DIR: &str = "data";
/// `VOTEBOX_SHUTDOWN_GRACE_SECONDS` default: how long SIGTERM waits for requests in flight.
pub const DEFAULT_SHUTDOWN_GRACE_SECONDS: u64 = 30;
/// `VOTEBOX_SESSION_LIFETIME_SECONDS` default: one day, like Elekto's `token_expires_at`.
pub const DEFAULT_SESSION_LIFETIME_SECONDS: u64 = 24 * 60 * 60;
/// `VOTEBOX_BALLOT_MIX_INTERVAL` default, in seconds: how long a fresh ballot stays linkable to
/// its voter in the database (see `votebox_db::ballot_mixing`).
pub const DEFAULT_BALLOT_MIX_INTERVAL_SECONDS: u64 = 30;
/// File name of the SQLite database under the data dir when `DB_PATH` is unset.
pub const DEFAULT_SQLITE_FILE: &str = "votebox.db";
/// File name of the generated session key under the data dir.
pub const APP_KEY_FILE: &str = "app_key";
/// `APP_KEY` values that are placeholders, not secrets (Elekto's default and its sample ConfigMap's).
pub const PLACEHOLDER_APP_KEYS: [&str; 2] = ["test", "N/A"];

/// A configuration problem: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(var: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            var: var.into(),
            problem: problem.into(),
        }
    }
}

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

/// Maps a `DB_CONNECTION` value (an SQLAlchemy engine name) to an engine.
///
/// Elekto accepts exactly `mysql`, `postgresql` and `sqlite`; votebox also accepts the
/// SQLAlchemy `dialect+driver` spellings and the common aliases (harmless superset).
pub fn backend_from_db_connection(value: &str) -> Option<Backend> {
    match value.to_ascii_lowercase().as_str() {
        "mysql" | "mysql+pymysql" | "mysql+mysqldb" | "mariadb" => Some(Backend::MySql),
        "postgresql" | "postgresql+psycopg2" | "postgres" => Some(Backend::Postgres),
        "sqlite" => Some(Backend::Sqlite),
        _ => None,
    }
}

/// The engine of a `DATABASE_URL` scheme, SQLAlchemy's `dialect+driver` spellings included.
fn backend_from_url_scheme(scheme: &str) -> Option<Backend> {
    let dialect = scheme.split('+').next().unwrap_or_default();
    backend_from_db_connection(dialect)
}

/// Where the database is: a URL `votebox_db::Db::connect` understands.
#[derive(Clone, PartialEq, Eq)]
pub struct Database {
    pub engine: Backend,
    /// The connection URL (sqlx syntax). Contains the password: never log it; use `redacted`.
    pub url: String,
    /// The URL with the password replaced by `***`, for logs and messages.
    pub redacted: String,
    /// The SQLite database file, if that is the engine (its folder is created before connecting).
    pub sqlite_file: Option<PathBuf>,
    /// Non-fatal remarks to log once (e.g. `DB_DATABASE` unset).
    pub notes: Vec<String>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("engine", &self.engine)
            .field("url", &self.redacted)
            .field("sqlite_file", &self.sqlite_file)
            .field("notes", &self.notes)
            .finish()
    }
}

/// The meta repository settings, once `META_REPO` and `ELECTION_DIR` are known to be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub repo: String,
    pub path: PathBuf,
    pub branch: String,
    pub election_dir: String,
}

/// GitHub OAuth settings. The endpoint URLs are votebox additions (Elekto hard-codes github.com).
#[derive(Clone, PartialEq, Eq)]
pub struct Github {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Path of the OAuth callback route (`GITHUB_REDIRECT`), always starting with `/`.
    pub redirect: String,
    pub authorize_url: String,
    pub access_token_url: String,
    /// API base; the user is read from `<api_url>/user`.
    pub api_url: String,
}

impl fmt::Debug for Github {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Github")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("redirect", &self.redirect)
            .field("authorize_url", &self.authorize_url)
            .field("access_token_url", &self.access_token_url)
            .field("api_url", &self.api_url)
            .finish()
    }
}

/// The session key as configured: a real secret, or unset/placeholder (checklist 6).
#[derive(Clone, PartialEq, Eq)]
pub enum AppKey {
    Set(String),
    /// Unset, empty, `test` or `N/A`: Elekto would sign sessions with `test`; votebox generates
    /// and persists a key instead ([`crate::keys::resolve_app_key`]). Holds the placeholder seen.
    Weak(Option<String>),
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppKey::Set(_) => f.write_str("Set(***)"),
            AppKey::Weak(p) => f.debug_tuple("Weak").field(p).finish(),
        }
    }
}

/// Every setting, read from one environment map.
#[derive(Debug, Clone)]
pub struct Config {
    pub app_name: String,
    pub app_key: AppKey,
    pub app_debug: bool,
    pub app_port: u16,
    /// `APP_HOST` if set; the default depends on the command (`serve`: 127.0.0.1, `entrypoint`: 0.0.0.0).
    pub app_host: Option<String>,
    /// `APP_CONNECT` (Elekto's entrypoint: `socket` = uWSGI protocol).
    pub app_connect: Option<String>,
    /// `APP_URL` if it is a valid http(s) URL (Elekto never read it; an invalid one is ignored with a warning).
    pub app_url: Option<String>,
    pub min_passcode_length: usize,
    /// Checked on use: commands that need no database never fail because of it.
    pub database: Result<Database, ConfigError>,
    pub meta_repo: Option<String>,
    pub meta_path: PathBuf,
    pub meta_branch: String,
    pub meta_secret: Option<String>,
    /// Read for completeness; unused, as in Elekto.
    pub meta_deployment: String,
    pub election_dir: Option<String>,
    pub github: Github,
    pub data_dir: PathBuf,
    /// `VOTEBOX_DEMO_LOGIN`: offer the demo login (sign in as anyone, no GitHub). Only honoured on
    /// a loopback listener; for demos, tests and benchmarks.
    pub demo_login: bool,
    /// `VOTEBOX_KDF_CONCURRENCY`: ballot KDFs (512 MiB each) allowed at once; `None`: automatic
    /// (cores and available memory, see `crate::kdf_sizing::default_concurrency`).
    pub kdf_concurrency: Option<usize>,
    pub log_format: LogFormat,
    /// `VOTEBOX_METRICS_ADDR` (`host:port`): where to serve Prometheus `/metrics`; off when unset.
    pub metrics_addr: Option<String>,
    /// `VOTEBOX_SHUTDOWN_GRACE_SECONDS`: on SIGTERM/SIGINT, how long requests in flight may finish.
    pub shutdown_grace: std::time::Duration,
    /// `VOTEBOX_SESSION_LIFETIME_SECONDS`: how long a login lasts.
    pub session_lifetime: std::time::Duration,
    /// `VOTEBOX_BALLOT_MIX_INTERVAL`: seconds between two ballot mixes (and conclusion checks).
    pub ballot_mix_interval: std::time::Duration,
    /// Non-fatal remarks to log at start-up.
    pub warnings: Vec<String>,
}

/// The value of `key`, `None` when unset **or empty** (Elekto's rule for every variable).
pub fn var<'a>(env: &'a Env, key: &str) -> Option<&'a str> {
    env.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

/// Elekto's boolean parsing (`APP_DEBUG`): lower-cased value in `y yes on 1 true t`.
pub fn parse_bool(value: &str) -> bool {
    matches!(
        value.to_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t"
    )
}

impl Config {
    /// Reads every setting from `env`. Fails on the first invalid value of a setting every
    /// command uses; database and meta problems are deferred to [`Config::database`] and
    /// [`Config::meta`].
    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        let mut warnings = Vec::new();

        let app_name = var(env, "APP_NAME").unwrap_or(DEFAULT_APP_NAME).to_owned();
        let app_key = match var(env, "APP_KEY") {
            None => AppKey::Weak(None),
            Some(k)
                if PLACEHOLDER_APP_KEYS
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(k)) =>
            {
                AppKey::Weak(Some(k.to_owned()))
            }
            Some(k) => AppKey::Set(k.to_owned()),
        };
        let app_debug = var(env, "APP_DEBUG").is_some_and(parse_bool);
        let app_port = match var(env, "APP_PORT") {
            None => DEFAULT_APP_PORT,
            Some(p) => parse_port(p).ok_or_else(|| {
                ConfigError::new("APP_PORT", format!("not a TCP port number: {p:?}"))
            })?,
        };
        let app_host = var(env, "APP_HOST").map(str::to_owned);
        let app_connect = var(env, "APP_CONNECT").map(str::to_owned);
        let app_url = match var(env, "APP_URL") {
            None => None,
            Some(u) => match url::Url::parse(u) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                    Some(u.trim_end_matches('/').to_owned())
                }
                _ => {
                    warnings.push(format!(
                        "APP_URL is not an http(s) URL ({u:?}); ignoring it (Elekto never read it)"
                    ));
                    None
                }
            },
        };
        let min_passcode_length = match var(env, "MIN_PASSCODE_LENGTH") {
            None => DEFAULT_MIN_PASSCODE_LENGTH,
            Some(v) => parse_python_int(v).ok_or_else(|| {
                ConfigError::new(
                    "MIN_PASSCODE_LENGTH",
                    format!("not an integer: {v:?} (default {DEFAULT_MIN_PASSCODE_LENGTH})"),
                )
            })?,
        };

        let data_dir = PathBuf::from(var(env, "VOTEBOX_DATA_DIR").unwrap_or(DEFAULT_DATA_DIR));
        let database = database_from_env(env, &data_dir);

        let meta_repo = var(env, "META_REPO").map(str::to_owned);
        let meta_path = PathBuf::from(var(env, "META_PATH").unwrap_or(DEFAULT_META_PATH));
        let meta_branch = var(env, "META_BRANCH")
            .unwrap_or(DEFAULT_META_BRANCH)
            .to_owned();
        let meta_secret = var(env, "META_SECRET").map(str::to_owned);
        let meta_deployment = var(env, "META_DEPLOYMENT")
            .unwrap_or(DEFAULT_META_DEPLOYMENT)
            .to_owned();
        let election_dir = match var(env, "ELECTION_DIR") {
            None => None,
            Some(d) => Some(check_election_dir(d)?),
        };

        let redirect = var(env, "GITHUB_REDIRECT")
            .unwrap_or(DEFAULT_GITHUB_REDIRECT)
            .to_owned();
        if !redirect.starts_with('/') {
            return Err(ConfigError::new(
                "GITHUB_REDIRECT",
                format!("must be a path starting with '/' (got {redirect:?})"),
            ));
        }
        let github = Github {
            client_id: var(env, "GITHUB_CLIENT_ID").map(str::to_owned),
            client_secret: var(env, "GITHUB_CLIENT_SECRET").map(str::to_owned),
            redirect,
            authorize_url: http_url(env, "GITHUB_AUTHORIZE_URL", DEFAULT_GITHUB_AUTHORIZE_URL)?,
            access_token_url: http_url(
                env,
                "GITHUB_ACCESS_TOKEN_URL",
                DEFAULT_GITHUB_ACCESS_TOKEN_URL,
            )?,
            api_url: http_url(env, "GITHUB_API_URL", DEFAULT_GITHUB_API_URL)?
                .trim_end_matches('/')
                .to_owned(),
        };

        let demo_login = var(env, "VOTEBOX_DEMO_LOGIN").is_some_and(parse_bool);
        let kdf_concurrency = match var(env, "VOTEBOX_KDF_CONCURRENCY") {
            None => None,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    return Err(ConfigError::new(
                        "VOTEBOX_KDF_CONCURRENCY",
                        format!("not a positive integer: {v:?} (unset: automatic)"),
                    ));
                }
            },
        };

        let log_format = match var(env, "LOG_FORMAT") {
            None => LogFormat::Human,
            Some(f) if f.eq_ignore_ascii_case("json") => LogFormat::Json,
            Some(f)
                if ["human", "text", "pretty"]
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(f)) =>
            {
                LogFormat::Human
            }
            Some(f) => {
                warnings.push(format!(
                    "LOG_FORMAT {f:?} is not 'json' or 'human'; using human-readable logs"
                ));
                LogFormat::Human
            }
        };

        let metrics_addr = var(env, "VOTEBOX_METRICS_ADDR").map(|a| a.trim().to_owned());
        if let Some(a) = &metrics_addr
            && a.rsplit_once(':')
                .is_none_or(|(_, p)| parse_port(p).is_none())
        {
            return Err(ConfigError::new(
                "VOTEBOX_METRICS_ADDR",
                format!("not a host:port address: {a:?} (e.g. 127.0.0.1:9090)"),
            ));
        }
        let shutdown_grace = match var(env, "VOTEBOX_SHUTDOWN_GRACE_SECONDS") {
            None => std::time::Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_SECONDS),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(std::time::Duration::from_secs)
                .map_err(|_| {
                    ConfigError::new(
                        "VOTEBOX_SHUTDOWN_GRACE_SECONDS",
                        format!(
                            "not a whole number of seconds: {v:?} (default {DEFAULT_SHUTDOWN_GRACE_SECONDS})"
                        ),
                    )
                })?,
        };

        let session_lifetime = match var(env, "VOTEBOX_SESSION_LIFETIME_SECONDS") {
            None => std::time::Duration::from_secs(DEFAULT_SESSION_LIFETIME_SECONDS),
            Some(v) => match v.trim().parse::<u64>() {
                // At most ten years: the expiry must fit the cookie's Unix time.
                Ok(n) if (1..=10 * 366 * 24 * 60 * 60).contains(&n) => {
                    std::time::Duration::from_secs(n)
                }
                _ => {
                    return Err(ConfigError::new(
                        "VOTEBOX_SESSION_LIFETIME_SECONDS",
                        format!(
                            "not a positive whole number of seconds (at most ten years): {v:?} (default {DEFAULT_SESSION_LIFETIME_SECONDS})"
                        ),
                    ));
                }
            },
        };

        let ballot_mix_interval = match var(env, "VOTEBOX_BALLOT_MIX_INTERVAL") {
            None => std::time::Duration::from_secs(DEFAULT_BALLOT_MIX_INTERVAL_SECONDS),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if votebox_web::BALLOT_MIX_INTERVAL_SECONDS.contains(&n) => {
                    std::time::Duration::from_secs(n)
                }
                _ => {
                    return Err(ConfigError::new(
                        "VOTEBOX_BALLOT_MIX_INTERVAL",
                        format!(
                            "not a whole number of seconds from {} to {}: {v:?} (default {DEFAULT_BALLOT_MIX_INTERVAL_SECONDS})",
                            votebox_web::BALLOT_MIX_INTERVAL_SECONDS.start(),
                            votebox_web::BALLOT_MIX_INTERVAL_SECONDS.end()
                        ),
                    ));
                }
            },
        };

        Ok(Config {
            app_name,
            app_key,
            app_debug,
            app_port,
            app_host,
            app_connect,
            app_url,
            min_passcode_length,
            database,
            meta_repo,
            meta_path,
            meta_branch,
            meta_secret,
            meta_deployment,
            election_dir,
            github,
            data_dir,
            demo_login,
            kdf_concurrency,
            log_format,
            metrics_addr,
            shutdown_grace,
            session_lifetime,
            ballot_mix_interval,
            warnings,
        })
    }

    /// The database target, or why it cannot be built (e.g. `DB_CONNECTION` unset).
    pub fn database(&self) -> Result<&Database, ConfigError> {
        self.database.as_ref().map_err(Clone::clone)
    }

    /// The meta repository settings; `META_REPO` and `ELECTION_DIR` must be set.
    pub fn meta(&self) -> Result<Meta, ConfigError> {
        let repo = self.meta_repo.clone().ok_or_else(|| {
            ConfigError::new(
                "META_REPO",
                "not set: the git URL (or path) of the meta repository is required",
            )
        })?;
        let election_dir = self.election_dir.clone().ok_or_else(|| {
            ConfigError::new(
                "ELECTION_DIR",
                "not set: the directory of the meta repository that holds the elections (e.g. 'elections') is required",
            )
        })?;
        Ok(Meta {
            repo,
            path: self.meta_path.clone(),
            branch: self.meta_branch.clone(),
            election_dir,
        })
    }

    /// Rejects `APP_CONNECT=socket`: Elekto's entrypoint then spoke the uWSGI protocol, which
    /// votebox does not; it serves HTTP only (checklist 9).
    pub fn check_http_only(&self) -> Result<(), ConfigError> {
        match self.app_connect.as_deref() {
            Some("socket") => Err(ConfigError::new(
                "APP_CONNECT",
                "'socket' (uWSGI protocol) is not supported: votebox serves plain HTTP on APP_PORT; unset APP_CONNECT and point the proxy at http://<host>:APP_PORT",
            )),
            _ => Ok(()),
        }
    }
}

/// A TCP port: 0–65535 (0 = any free port).
fn parse_port(v: &str) -> Option<u16> {
    v.trim().parse().ok()
}

/// Python's `int()` on a string, as Elekto applies it to `MIN_PASSCODE_LENGTH`: surrounding
/// whitespace, a sign and `_` digit separators are accepted. A negative minimum means "no
/// minimum" (0).
fn parse_python_int(v: &str) -> Option<usize> {
    let t = v.trim();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let valid = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !valid {
        return None;
    }
    let n: usize = digits.replace('_', "").parse().ok()?;
    Some(if negative { 0 } else { n })
}

fn http_url(env: &Env, key: &str, default: &str) -> Result<String, ConfigError> {
    let value = var(env, key).unwrap_or(default);
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(value.to_owned()),
        _ => Err(ConfigError::new(
            key,
            format!("not an http(s) URL: {value:?}"),
        )),
    }
}

/// `ELECTION_DIR` must name a directory inside the meta repository.
fn check_election_dir(d: &str) -> Result<String, ConfigError> {
    if d.starts_with('/') {
        return Err(ConfigError::new(
            "ELECTION_DIR",
            format!(
                "must be relative to the meta repository root, without a leading '/' (got {d:?})"
            ),
        ));
    }
    if d.split('/').any(|part| part == "..") {
        return Err(ConfigError::new(
            "ELECTION_DIR",
            format!("must stay inside the meta repository ('..' is not allowed; got {d:?})"),
        ));
    }
    let trimmed = d.trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    Ok(if trimmed.is_empty() { "." } else { trimmed }.to_owned())
}

/// Characters escaped in a SQLite path inside an sqlx URL (sqlx percent-decodes the path).
const SQLITE_PATH: &AsciiSet = &percent_encoding::CONTROLS.add(b'%').add(b'?').add(b'#');

/// Builds the database URL as Elekto does (reference §1.3), or takes `DATABASE_URL`.
fn database_from_env(env: &Env, data_dir: &Path) -> Result<Database, ConfigError> {
    if let Some(url) = var(env, "DATABASE_URL") {
        return database_from_url(url);
    }
    let Some(connection) = var(env, "DB_CONNECTION") else {
        return Err(ConfigError::new(
            "DB_CONNECTION",
            "not set: choose mysql, postgresql or sqlite (or set DATABASE_URL)",
        ));
    };
    let engine = backend_from_db_connection(connection).ok_or_else(|| {
        ConfigError::new(
            "DB_CONNECTION",
            format!("invalid database engine {connection:?}: choose mysql, postgresql or sqlite"),
        )
    })?;
    let mut notes = Vec::new();

    if engine == Backend::Sqlite {
        // Elekto: `sqlite:///{DB_PATH}`; SQLAlchemy reads what follows the third slash as a
        // file path (relative to the working directory, or absolute when it starts with `/`).
        let path = match var(env, "DB_PATH") {
            Some(p) => PathBuf::from(p),
            None => data_dir.join(DEFAULT_SQLITE_FILE),
        };
        let url = format!(
            "sqlite://{}",
            utf8_percent_encode(&path.to_string_lossy(), SQLITE_PATH)
        );
        return Ok(Database {
            engine,
            redacted: url.clone(),
            url,
            sqlite_file: Some(path),
            notes,
        });
    }

    // Elekto pastes the values into `{scheme}://{user}:{password}@{host}:{port}/{db}` without
    // escaping and SQLAlchemy then percent-decodes user and password (RFC 1738). votebox decodes
    // them the same way, then encodes every component so that sqlx reads back exactly those bytes
    // (and, unlike Elekto, an '@' or ':' in a password works).
    let username = sqlalchemy_unquote(var(env, "DB_USERNAME").unwrap_or(DEFAULT_DB_USERNAME));
    let password = sqlalchemy_unquote(var(env, "DB_PASSWORD").unwrap_or_default());
    let host = var(env, "DB_HOST").unwrap_or(DEFAULT_DB_HOST);
    let port_text = var(env, "DB_PORT").unwrap_or(DEFAULT_DB_PORT);
    let port = parse_port(port_text).ok_or_else(|| {
        ConfigError::new("DB_PORT", format!("not a TCP port number: {port_text:?}"))
    })?;
    if engine == Backend::Postgres && var(env, "DB_PORT").is_none() {
        notes.push(
            "DB_PORT is unset: using 3306 for PostgreSQL, as Elekto does; set DB_PORT=5432 if that is not intended"
                .to_owned(),
        );
    }
    let database = match var(env, "DB_DATABASE") {
        Some(d) => d,
        None => {
            notes.push(
                "DB_DATABASE is unset: connecting to the database named 'None', as Elekto does"
                    .to_owned(),
            );
            "None"
        }
    };
    let host_part = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]") // a bare IPv6 address
    } else {
        host.to_owned()
    };
    let scheme = match engine {
        Backend::Postgres => "postgres",
        _ => "mysql",
    };
    let user_enc = utf8_percent_encode(&username, NON_ALPHANUMERIC).to_string();
    let db_enc = utf8_percent_encode(database, NON_ALPHANUMERIC).to_string();
    let userinfo = if password.is_empty() {
        user_enc
    } else {
        format!(
            "{user_enc}:{}",
            utf8_percent_encode(&password, NON_ALPHANUMERIC)
        )
    };
    let url = format!("{scheme}://{userinfo}@{host_part}:{port}/{db_enc}");
    match url::Url::parse(&url) {
        Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => {}
        _ => {
            return Err(ConfigError::new(
                "DB_HOST",
                format!("not a valid host name or address: {host:?}"),
            ));
        }
    }
    Ok(Database {
        engine,
        redacted: votebox_db::redact_url(&url),
        url,
        sqlite_file: None,
        notes,
    })
}

/// `DATABASE_URL` (votebox addition): an sqlx URL; SQLAlchemy `dialect+driver` schemes and
/// `postgresql`/`mariadb` are mapped to what sqlx understands.
fn database_from_url(raw: &str) -> Result<Database, ConfigError> {
    let Some((scheme, rest)) = raw.split_once(':') else {
        return Err(ConfigError::new(
            "DATABASE_URL",
            "not a URL (expected postgres://…, mysql://… or sqlite://…)",
        ));
    };
    let engine = backend_from_url_scheme(scheme).ok_or_else(|| {
        ConfigError::new(
            "DATABASE_URL",
            format!("unsupported scheme {scheme:?}: use postgres://, mysql:// or sqlite://"),
        )
    })?;
    let url = match engine {
        Backend::Postgres => format!("postgres:{rest}"),
        Backend::MySql => format!("mysql:{rest}"),
        Backend::Sqlite => format!("sqlite:{rest}"),
    };
    if engine != Backend::Sqlite
        && let Err(e) = url::Url::parse(&url)
    {
        return Err(ConfigError::new(
            "DATABASE_URL",
            format!("not a valid URL: {e}"),
        ));
    }
    let redacted = votebox_db::redact_url(&url);
    let sqlite_file = (engine == Backend::Sqlite)
        .then(|| {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            let path = percent_decode_str(path).decode_utf8_lossy().into_owned();
            (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
        })
        .flatten();
    Ok(Database {
        engine,
        url,
        redacted,
        sqlite_file,
        notes: Vec::new(),
    })
}

/// `urllib.parse.unquote` as SQLAlchemy 1.4 applies it to user and password: valid `%xx`
/// sequences are decoded, anything else is kept; invalid UTF-8 becomes U+FFFD.
fn sqlalchemy_unquote(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cfg(pairs: &[(&str, &str)]) -> Config {
        Config::from_env(&env(pairs)).expect("valid config")
    }

    fn err(pairs: &[(&str, &str)]) -> ConfigError {
        Config::from_env(&env(pairs)).expect_err("invalid config")
    }

    fn db(pairs: &[(&str, &str)]) -> Result<Database, ConfigError> {
        cfg(pairs).database
    }

    fn db_url(pairs: &[(&str, &str)]) -> String {
        db(pairs).expect("database").url
    }

    // ----- checklist 1: every variable, Elekto's names and defaults, empty = unset -----

    #[test]
    fn checklist_1_defaults_match_elekto() {
        let c = cfg(&[]);
        assert_eq!(c.app_name, "k8s.elections");
        assert_eq!(c.app_key, AppKey::Weak(None));
        assert!(!c.app_debug);
        assert_eq!(c.app_port, 5000);
        assert_eq!(c.app_host, None);
        assert_eq!(c.app_connect, None);
        assert_eq!(c.app_url, None);
        assert_eq!(c.min_passcode_length, 6);
        assert_eq!(c.meta_repo, None);
        assert_eq!(c.meta_path, PathBuf::from("meta"));
        assert_eq!(c.meta_branch, "main");
        assert_eq!(c.meta_secret, None);
        assert_eq!(c.meta_deployment, "local");
        assert_eq!(c.election_dir, None);
        assert_eq!(c.github.client_id, None);
        assert_eq!(c.github.client_secret, None);
        assert_eq!(c.github.redirect, "/oauth/github/callback");
        assert_eq!(
            c.github.authorize_url,
            "https://github.com/login/oauth/authorize"
        );
        assert_eq!(
            c.github.access_token_url,
            "https://github.com/login/oauth/access_token"
        );
        assert_eq!(c.github.api_url, "https://api.github.com");
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert!(!c.demo_login);
        assert_eq!(c.log_format, LogFormat::Human);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn checklist_1_every_variable_is_read() {
        let c = cfg(&[
            ("APP_NAME", "my.elections"),
            ("APP_KEY", "0123456789abcdef0123456789abcdef"),
            ("APP_DEBUG", "True"),
            ("APP_PORT", "8080"),
            ("APP_HOST", "0.0.0.0"),
            ("APP_CONNECT", "http"),
            ("APP_URL", "https://elections.example.org/"),
            ("MIN_PASSCODE_LENGTH", "10"),
            ("META_REPO", "https://github.com/example/meta.git"),
            ("META_PATH", "/tmp/meta"),
            ("META_BRANCH", "trunk"),
            ("META_SECRET", "s3cret"),
            ("META_DEPLOYMENT", "production"),
            ("ELECTION_DIR", "events/elections/"),
            ("GITHUB_CLIENT_ID", "cid"),
            ("GITHUB_CLIENT_SECRET", "csecret"),
            ("GITHUB_REDIRECT", "/auth/callback"),
            ("GITHUB_AUTHORIZE_URL", "http://127.0.0.1:9/authorize"),
            ("GITHUB_ACCESS_TOKEN_URL", "http://127.0.0.1:9/token"),
            ("GITHUB_API_URL", "http://127.0.0.1:9/api/"),
            ("VOTEBOX_DATA_DIR", "/var/lib/votebox"),
            ("VOTEBOX_DEMO_LOGIN", "yes"),
            ("LOG_FORMAT", "JSON"),
        ]);
        assert_eq!(c.app_name, "my.elections");
        assert_eq!(
            c.app_key,
            AppKey::Set("0123456789abcdef0123456789abcdef".into())
        );
        assert!(c.app_debug);
        assert_eq!(c.app_port, 8080);
        assert_eq!(c.app_host.as_deref(), Some("0.0.0.0"));
        assert_eq!(c.app_connect.as_deref(), Some("http"));
        assert_eq!(c.app_url.as_deref(), Some("https://elections.example.org"));
        assert_eq!(c.min_passcode_length, 10);
        assert_eq!(
            c.meta_repo.as_deref(),
            Some("https://github.com/example/meta.git")
        );
        assert_eq!(c.meta_path, PathBuf::from("/tmp/meta"));
        assert_eq!(c.meta_branch, "trunk");
        assert_eq!(c.meta_secret.as_deref(), Some("s3cret"));
        assert_eq!(c.meta_deployment, "production");
        assert_eq!(c.election_dir.as_deref(), Some("events/elections"));
        assert_eq!(c.github.client_id.as_deref(), Some("cid"));
        assert_eq!(c.github.client_secret.as_deref(), Some("csecret"));
        assert_eq!(c.github.redirect, "/auth/callback");
        assert_eq!(c.github.authorize_url, "http://127.0.0.1:9/authorize");
        assert_eq!(c.github.access_token_url, "http://127.0.0.1:9/token");
        assert_eq!(c.github.api_url, "http://127.0.0.1:9/api");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/votebox"));
        assert!(c.demo_login);
        assert_eq!(c.log_format, LogFormat::Json);
        let m = c.meta().unwrap();
        assert_eq!(m.repo, "https://github.com/example/meta.git");
        assert_eq!(m.election_dir, "events/elections");
    }

    #[test]
    fn checklist_1_empty_value_means_unset_for_every_variable() {
        let all = [
            "APP_NAME",
            "APP_KEY",
            "APP_DEBUG",
            "APP_PORT",
            "APP_HOST",
            "APP_CONNECT",
            "APP_URL",
            "MIN_PASSCODE_LENGTH",
            "DB_USERNAME",
            "DB_PASSWORD",
            "DB_HOST",
            "DB_PORT",
            "DB_DATABASE",
            "DB_PATH",
            "DATABASE_URL",
            "META_REPO",
            "META_PATH",
            "META_BRANCH",
            "META_SECRET",
            "META_DEPLOYMENT",
            "ELECTION_DIR",
            "GITHUB_CLIENT_ID",
            "GITHUB_CLIENT_SECRET",
            "GITHUB_REDIRECT",
            "GITHUB_AUTHORIZE_URL",
            "GITHUB_ACCESS_TOKEN_URL",
            "GITHUB_API_URL",
            "VOTEBOX_DATA_DIR",
            "VOTEBOX_DEMO_LOGIN",
            "LOG_FORMAT",
        ];
        let mut pairs: Vec<(&str, &str)> = all.iter().map(|k| (*k, "")).collect();
        pairs.push(("DB_CONNECTION", "mysql"));
        pairs.push(("DB_DATABASE", "elekto"));
        let c = cfg(&pairs);
        let d = cfg(&[("DB_CONNECTION", "mysql"), ("DB_DATABASE", "elekto")]);
        assert_eq!(c.app_name, d.app_name);
        assert_eq!(c.app_key, d.app_key);
        assert_eq!(c.app_port, d.app_port);
        assert_eq!(c.app_host, d.app_host);
        assert_eq!(c.app_url, d.app_url);
        assert_eq!(c.min_passcode_length, 6);
        assert_eq!(c.meta_repo, None);
        assert_eq!(c.meta_path, d.meta_path);
        assert_eq!(c.meta_branch, "main");
        assert_eq!(c.meta_secret, None);
        assert_eq!(c.election_dir, None);
        assert_eq!(c.github, d.github);
        assert_eq!(c.data_dir, d.data_dir);
        assert!(!c.demo_login);
        assert_eq!(
            c.database.unwrap().url,
            "mysql://root@localhost:3306/elekto"
        );
        // DB_CONNECTION itself: empty = unset = error.
        assert_eq!(
            db(&[("DB_CONNECTION", "")]).unwrap_err().var,
            "DB_CONNECTION"
        );
    }

    #[test]
    fn checklist_1_app_debug_truthy_values_like_elekto() {
        for v in [
            "y", "Y", "yes", "YES", "on", "On", "1", "true", "True", "t", "T",
        ] {
            assert!(cfg(&[("APP_DEBUG", v)]).app_debug, "{v}");
        }
        for v in [
            "", "0", "no", "false", "False", "off", " true", "true ", "2", "enabled",
        ] {
            assert!(!cfg(&[("APP_DEBUG", v)]).app_debug, "{v}");
        }
    }

    #[test]
    fn checklist_1_db_connection_accepted_values() {
        for (v, e) in [
            ("mysql", Backend::MySql),
            ("mysql+pymysql", Backend::MySql),
            ("mysql+mysqldb", Backend::MySql),
            ("mariadb", Backend::MySql),
            ("postgresql", Backend::Postgres),
            ("postgresql+psycopg2", Backend::Postgres),
            ("postgres", Backend::Postgres),
            ("sqlite", Backend::Sqlite),
        ] {
            assert_eq!(db(&[("DB_CONNECTION", v)]).unwrap().engine, e, "{v}");
        }
    }

    #[test]
    fn checklist_1_db_connection_missing_or_invalid_is_a_clear_error() {
        let e = db(&[]).unwrap_err();
        assert_eq!(e.var, "DB_CONNECTION");
        assert!(e.problem.contains("not set"), "{e}");
        for bad in ["oracle", "mssql", "sqlite3", "pg"] {
            let e = db(&[("DB_CONNECTION", bad)]).unwrap_err();
            assert_eq!(e.var, "DB_CONNECTION");
            assert!(e.problem.contains(bad), "{e}");
        }
        // Deferred: a command that needs no database still gets a config.
        assert!(Config::from_env(&env(&[("DB_CONNECTION", "oracle")])).is_ok());
    }

    #[test]
    fn checklist_1_min_passcode_length_parsing() {
        assert_eq!(cfg(&[("MIN_PASSCODE_LENGTH", "8")]).min_passcode_length, 8);
        assert_eq!(
            cfg(&[("MIN_PASSCODE_LENGTH", " 12 ")]).min_passcode_length,
            12
        );
        assert_eq!(cfg(&[("MIN_PASSCODE_LENGTH", "+4")]).min_passcode_length, 4);
        assert_eq!(
            cfg(&[("MIN_PASSCODE_LENGTH", "1_0")]).min_passcode_length,
            10
        );
        assert_eq!(cfg(&[("MIN_PASSCODE_LENGTH", "0")]).min_passcode_length, 0);
        assert_eq!(cfg(&[("MIN_PASSCODE_LENGTH", "-3")]).min_passcode_length, 0);
        for bad in ["six", "6.5", "0x10", "_1", "1__0", "-", " "] {
            let e = err(&[("MIN_PASSCODE_LENGTH", bad)]);
            assert_eq!(e.var, "MIN_PASSCODE_LENGTH", "{bad}");
        }
    }

    #[test]
    fn checklist_1_app_port_must_be_a_port() {
        assert_eq!(cfg(&[("APP_PORT", "0")]).app_port, 0);
        assert_eq!(cfg(&[("APP_PORT", "65535")]).app_port, 65535);
        for bad in ["http", "65536", "-1", "80a"] {
            assert_eq!(err(&[("APP_PORT", bad)]).var, "APP_PORT", "{bad}");
        }
    }

    #[test]
    fn checklist_1_app_connect_socket_is_rejected_clearly() {
        let c = cfg(&[("APP_CONNECT", "socket")]);
        let e = c.check_http_only().unwrap_err();
        assert_eq!(e.var, "APP_CONNECT");
        assert!(e.problem.contains("HTTP"));
        assert!(cfg(&[("APP_CONNECT", "http")]).check_http_only().is_ok());
        assert!(cfg(&[]).check_http_only().is_ok());
    }

    #[test]
    fn checklist_1_app_url_invalid_is_ignored_with_a_warning() {
        let c = cfg(&[("APP_URL", "localhost:5000")]);
        assert_eq!(c.app_url, None);
        assert!(c.warnings.iter().any(|w| w.contains("APP_URL")));
    }

    #[test]
    fn checklist_1_meta_and_election_dir_required_on_use() {
        let e = cfg(&[("ELECTION_DIR", "elections")]).meta().unwrap_err();
        assert_eq!(e.var, "META_REPO");
        let e = cfg(&[("META_REPO", "/srv/meta.git")]).meta().unwrap_err();
        assert_eq!(e.var, "ELECTION_DIR");
        let m = cfg(&[
            ("META_REPO", "/srv/meta.git"),
            ("ELECTION_DIR", "./elections"),
        ])
        .meta()
        .unwrap();
        assert_eq!(m.election_dir, "elections");
        assert_eq!(m.path, PathBuf::from("meta"));
        assert_eq!(m.branch, "main");
    }

    #[test]
    fn checklist_1_election_dir_must_stay_inside_the_repository() {
        assert_eq!(err(&[("ELECTION_DIR", "/elections")]).var, "ELECTION_DIR");
        assert_eq!(err(&[("ELECTION_DIR", "../x")]).var, "ELECTION_DIR");
        assert_eq!(err(&[("ELECTION_DIR", "a/../../x")]).var, "ELECTION_DIR");
        assert_eq!(
            cfg(&[("ELECTION_DIR", "events/elections")])
                .election_dir
                .as_deref(),
            Some("events/elections")
        );
    }

    #[test]
    fn checklist_1_github_redirect_must_be_a_path() {
        let e = err(&[("GITHUB_REDIRECT", "oauth/callback")]);
        assert_eq!(e.var, "GITHUB_REDIRECT");
        let e = err(&[("GITHUB_REDIRECT", "https://x.example/cb")]);
        assert_eq!(e.var, "GITHUB_REDIRECT");
        assert_eq!(cfg(&[("GITHUB_REDIRECT", "/cb")]).github.redirect, "/cb");
    }

    #[test]
    fn checklist_1_github_endpoint_urls_are_validated() {
        assert_eq!(
            err(&[("GITHUB_API_URL", "api.github.com")]).var,
            "GITHUB_API_URL"
        );
        assert_eq!(
            err(&[("GITHUB_AUTHORIZE_URL", "ftp://x/y")]).var,
            "GITHUB_AUTHORIZE_URL"
        );
        assert_eq!(
            err(&[("GITHUB_ACCESS_TOKEN_URL", "nope")]).var,
            "GITHUB_ACCESS_TOKEN_URL"
        );
    }

    #[test]
    fn checklist_1_secrets_are_not_in_debug_output() {
        let c = cfg(&[
            ("APP_KEY", "supersecretkeyvalue"),
            ("GITHUB_CLIENT_SECRET", "ghsecretvalue"),
            ("DB_CONNECTION", "postgresql"),
            ("DB_PASSWORD", "dbsecretvalue"),
            ("DB_DATABASE", "x"),
        ]);
        let dump = format!("{c:?}");
        for s in ["supersecretkeyvalue", "ghsecretvalue", "dbsecretvalue"] {
            assert!(!dump.contains(s), "{s} leaked: {dump}");
        }
    }

    #[test]
    fn checklist_1_log_format() {
        assert_eq!(cfg(&[("LOG_FORMAT", "json")]).log_format, LogFormat::Json);
        assert_eq!(cfg(&[("LOG_FORMAT", "human")]).log_format, LogFormat::Human);
        let c = cfg(&[("LOG_FORMAT", "xml")]);
        assert_eq!(c.log_format, LogFormat::Human);
        assert!(c.warnings.iter().any(|w| w.contains("LOG_FORMAT")));
    }

    // ----- checklist 2: the database URL, built exactly as Elekto builds it -----

    #[test]
    fn checklist_2_mysql_url_with_elekto_defaults() {
        assert_eq!(
            db_url(&[("DB_CONNECTION", "mysql"), ("DB_DATABASE", "elekto")]),
            "mysql://root@localhost:3306/elekto"
        );
        assert_eq!(
            db_url(&[
                ("DB_CONNECTION", "mysql"),
                ("DB_USERNAME", "app"),
                ("DB_PASSWORD", "pw"),
                ("DB_HOST", "db.internal"),
                ("DB_PORT", "3307"),
                ("DB_DATABASE", "elekto"),
            ]),
            "mysql://app:pw@db.internal:3307/elekto"
        );
    }

    #[test]
    fn checklist_2_postgresql_default_port_is_3306_like_elekto() {
        let d = db(&[("DB_CONNECTION", "postgresql"), ("DB_DATABASE", "elekto")]).unwrap();
        assert_eq!(d.engine, Backend::Postgres);
        assert_eq!(d.url, "postgres://root@localhost:3306/elekto");
        assert!(d.notes.iter().any(|n| n.contains("3306")));
        let d = db(&[
            ("DB_CONNECTION", "postgresql"),
            ("DB_DATABASE", "elekto"),
            ("DB_PORT", "5432"),
            ("DB_USERNAME", "postgres"),
            ("DB_HOST", "127.0.0.1"),
        ])
        .unwrap();
        assert_eq!(d.url, "postgres://postgres@127.0.0.1:5432/elekto");
        assert!(d.notes.is_empty());
    }

    #[test]
    fn checklist_2_unset_database_name_is_literally_none_like_elekto() {
        let d = db(&[("DB_CONNECTION", "mysql")]).unwrap();
        assert_eq!(d.url, "mysql://root@localhost:3306/None");
        assert!(d.notes.iter().any(|n| n.contains("DB_DATABASE")));
    }

    #[test]
    fn checklist_2_user_and_password_are_percent_decoded_then_reencoded() {
        // SQLAlchemy decodes %xx in user and password: `p%40ss` is the password `p@ss`.
        let d = db(&[
            ("DB_CONNECTION", "postgresql"),
            ("DB_USERNAME", "el%65kto"),
            ("DB_PASSWORD", "p%40ss"),
            ("DB_DATABASE", "elekto"),
        ])
        .unwrap();
        assert_eq!(d.url, "postgres://elekto:p%40ss@localhost:3306/elekto");
        let u = url::Url::parse(&d.url).unwrap();
        assert_eq!(
            percent_decode_str(u.username()).decode_utf8().unwrap(),
            "elekto"
        );
        assert_eq!(
            percent_decode_str(u.password().unwrap())
                .decode_utf8()
                .unwrap(),
            "p@ss"
        );
        // A literal '%' that is not an escape stays; characters special in URLs survive.
        let d = db(&[
            ("DB_CONNECTION", "mysql"),
            ("DB_PASSWORD", "a%zz/b:c?d#e f"),
            ("DB_DATABASE", "elekto"),
        ])
        .unwrap();
        let u = url::Url::parse(&d.url).unwrap();
        assert_eq!(
            percent_decode_str(u.password().unwrap())
                .decode_utf8()
                .unwrap(),
            "a%zz/b:c?d#e f"
        );
        assert_eq!(u.host_str(), Some("localhost"));
        assert_eq!(u.path(), "/elekto");
        // "%2541" is "%41" after SQLAlchemy's single decoding, not "A".
        let d = db(&[
            ("DB_CONNECTION", "mysql"),
            ("DB_PASSWORD", "%2541"),
            ("DB_DATABASE", "elekto"),
        ])
        .unwrap();
        let u = url::Url::parse(&d.url).unwrap();
        assert_eq!(
            percent_decode_str(u.password().unwrap())
                .decode_utf8()
                .unwrap(),
            "%41"
        );
    }

    #[test]
    fn checklist_2_redacted_url_hides_the_password() {
        let d = db(&[
            ("DB_CONNECTION", "mysql"),
            ("DB_PASSWORD", "hunter2"),
            ("DB_DATABASE", "elekto"),
        ])
        .unwrap();
        assert_eq!(d.redacted, "mysql://root:***@localhost:3306/elekto");
        assert!(!format!("{d:?}").contains("hunter2"));
    }

    #[test]
    fn checklist_2_sqlite_path_rule() {
        // Relative DB_PATH: relative to the working directory, as with `sqlite:///{DB_PATH}`.
        assert_eq!(
            db_url(&[("DB_CONNECTION", "sqlite"), ("DB_PATH", "test/test.db")]),
            "sqlite://test/test.db"
        );
        // Absolute DB_PATH.
        assert_eq!(
            db_url(&[
                ("DB_CONNECTION", "sqlite"),
                ("DB_PATH", "/var/lib/elekto.db")
            ]),
            "sqlite:///var/lib/elekto.db"
        );
        // Characters sqlx would otherwise read as URL syntax.
        assert_eq!(
            db_url(&[("DB_CONNECTION", "sqlite"), ("DB_PATH", "/tmp/a?b#c%d.db")]),
            "sqlite:///tmp/a%3Fb%23c%25d.db"
        );
        // votebox default: under the data dir (Elekto: <source dir>/test/test.db).
        assert_eq!(
            db_url(&[("DB_CONNECTION", "sqlite")]),
            "sqlite://data/votebox.db"
        );
        assert_eq!(
            db_url(&[("DB_CONNECTION", "sqlite"), ("VOTEBOX_DATA_DIR", "/data")]),
            "sqlite:///data/votebox.db"
        );
        assert_eq!(
            db(&[("DB_CONNECTION", "sqlite")]).unwrap().sqlite_file,
            Some(PathBuf::from("data/votebox.db"))
        );
        // DB_* network settings are ignored for sqlite.
        assert_eq!(
            db_url(&[
                ("DB_CONNECTION", "sqlite"),
                ("DB_PATH", "x.db"),
                ("DB_PORT", "nonsense"),
            ]),
            "sqlite://x.db"
        );
    }

    #[test]
    fn checklist_2_db_port_and_host_are_validated() {
        let e = db(&[("DB_CONNECTION", "mysql"), ("DB_PORT", "abc")]).unwrap_err();
        assert_eq!(e.var, "DB_PORT");
        let e = db(&[("DB_CONNECTION", "mysql"), ("DB_HOST", "a b")]).unwrap_err();
        assert_eq!(e.var, "DB_HOST");
        assert_eq!(
            db_url(&[
                ("DB_CONNECTION", "postgresql"),
                ("DB_HOST", "::1"),
                ("DB_DATABASE", "e")
            ]),
            "postgres://root@[::1]:3306/e"
        );
    }

    #[test]
    fn checklist_2_database_url_overrides_db_variables() {
        let d = db(&[
            ("DB_CONNECTION", "mysql"),
            ("DATABASE_URL", "postgresql+psycopg2://u:pw@h:5432/d"),
        ])
        .unwrap();
        assert_eq!(d.engine, Backend::Postgres);
        assert_eq!(d.url, "postgres://u:pw@h:5432/d");
        assert_eq!(d.redacted, "postgres://u:***@h:5432/d");
        // No DB_CONNECTION needed.
        let d = db(&[("DATABASE_URL", "sqlite://x.db")]).unwrap();
        assert_eq!(d.engine, Backend::Sqlite);
        assert_eq!(d.url, "sqlite://x.db");
        assert_eq!(d.sqlite_file, Some(PathBuf::from("x.db")));
        let d = db(&[("DATABASE_URL", "sqlite:///var/a%3Fb.db?mode=rwc")]).unwrap();
        assert_eq!(d.sqlite_file, Some(PathBuf::from("/var/a?b.db")));
        assert_eq!(
            db(&[("DATABASE_URL", "sqlite::memory:")])
                .unwrap()
                .sqlite_file,
            None
        );
        let d = db(&[("DATABASE_URL", "mariadb://root@127.0.0.1:3306/e")]).unwrap();
        assert_eq!(d.url, "mysql://root@127.0.0.1:3306/e");
        assert_eq!(
            db(&[("DATABASE_URL", "oracle://x")]).unwrap_err().var,
            "DATABASE_URL"
        );
        assert_eq!(
            db(&[("DATABASE_URL", "nonsense")]).unwrap_err().var,
            "DATABASE_URL"
        );
    }

    // ----- checklist 6: APP_KEY placeholders are recognised -----

    #[test]
    fn checklist_6_placeholder_app_keys_are_weak() {
        assert_eq!(cfg(&[]).app_key, AppKey::Weak(None));
        assert_eq!(cfg(&[("APP_KEY", "")]).app_key, AppKey::Weak(None));
        assert_eq!(
            cfg(&[("APP_KEY", "test")]).app_key,
            AppKey::Weak(Some("test".into()))
        );
        assert_eq!(
            cfg(&[("APP_KEY", "N/A")]).app_key,
            AppKey::Weak(Some("N/A".into()))
        );
        assert_eq!(
            cfg(&[("APP_KEY", "n/a")]).app_key,
            AppKey::Weak(Some("n/a".into()))
        );
        assert_eq!(
            cfg(&[("APP_KEY", "a-real-secret")]).app_key,
            AppKey::Set("a-real-secret".into())
        );
    }

    // ----- operations: metrics listener and shutdown grace -----

    #[test]
    fn session_lifetime_is_whole_seconds() {
        let day = std::time::Duration::from_secs(DEFAULT_SESSION_LIFETIME_SECONDS);
        assert_eq!(cfg(&[]).session_lifetime, day);
        assert_eq!(
            cfg(&[("VOTEBOX_SESSION_LIFETIME_SECONDS", " 3600 ")]).session_lifetime,
            std::time::Duration::from_secs(3600)
        );
        for bad in ["0", "-5", "1h", "1e9", "99999999999"] {
            assert_eq!(
                err(&[("VOTEBOX_SESSION_LIFETIME_SECONDS", bad)]).var,
                "VOTEBOX_SESSION_LIFETIME_SECONDS",
                "{bad}"
            );
        }
    }

    #[test]
    fn ballot_mix_interval_is_one_to_sixty_seconds() {
        assert_eq!(
            cfg(&[]).ballot_mix_interval,
            std::time::Duration::from_secs(DEFAULT_BALLOT_MIX_INTERVAL_SECONDS)
        );
        for (v, secs) in [("1", 1), (" 60 ", 60), ("5", 5)] {
            assert_eq!(
                cfg(&[("VOTEBOX_BALLOT_MIX_INTERVAL", v)]).ballot_mix_interval,
                std::time::Duration::from_secs(secs)
            );
        }
        for bad in ["0", "61", "-1", "30s", "1.5"] {
            let e = err(&[("VOTEBOX_BALLOT_MIX_INTERVAL", bad)]);
            assert_eq!(e.var, "VOTEBOX_BALLOT_MIX_INTERVAL", "{bad}");
            assert!(e.problem.contains("from 1 to 60"), "{}", e.problem);
        }
    }

    #[test]
    fn metrics_addr_and_shutdown_grace() {
        let c = cfg(&[]);
        assert_eq!(c.metrics_addr, None);
        assert_eq!(
            c.shutdown_grace,
            std::time::Duration::from_secs(DEFAULT_SHUTDOWN_GRACE_SECONDS)
        );
        let c = cfg(&[
            ("VOTEBOX_METRICS_ADDR", "127.0.0.1:9090"),
            ("VOTEBOX_SHUTDOWN_GRACE_SECONDS", "5"),
        ]);
        assert_eq!(c.metrics_addr.as_deref(), Some("127.0.0.1:9090"));
        assert_eq!(c.shutdown_grace, std::time::Duration::from_secs(5));
        assert_eq!(
            cfg(&[("VOTEBOX_METRICS_ADDR", "[::1]:0")])
                .metrics_addr
                .as_deref(),
            Some("[::1]:0")
        );
        for bad in ["9090", "localhost", "127.0.0.1:http", "127.0.0.1:70000"] {
            assert_eq!(
                err(&[("VOTEBOX_METRICS_ADDR", bad)]).var,
                "VOTEBOX_METRICS_ADDR",
                "{bad}"
            );
        }
        assert_eq!(
            err(&[("VOTEBOX_SHUTDOWN_GRACE_SECONDS", "soon")]).var,
            "VOTEBOX_SHUTDOWN_GRACE_SECONDS"
        );
    }
}
