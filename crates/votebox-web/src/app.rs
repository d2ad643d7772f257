//! Application state: configuration, database, meta repository and the current meta snapshot.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum_extra::extract::cookie::Key;
use sha2::{Digest, Sha512};
use time::{OffsetDateTime, PrimitiveDateTime};
use votebox_core::meta::{BrokenElection, Catalog, CatalogEntry, Election};
use votebox_db::Db;
use votebox_meta::{MetaRepo, Snapshot};

use crate::meta_sync::{self, SyncError, SyncOutcome};

/// Web settings, read by the binary from Elekto's environment variables.
/// [`WebConfig::new`] gives the defaults (GitHub login not configured).
#[derive(Clone)]
pub struct WebConfig {
    /// `APP_NAME`: shown in the breadcrumb `elekto (<APP_NAME>)`, page titles and error pages.
    pub app_name: String,
    /// `APP_KEY`: the session cookie key is derived from it.
    pub app_key: String,
    /// `APP_URL`: public base URL. Optional. The session cookie is `Secure` unless it is an
    /// explicit `http://` URL; `https://` also turns on HSTS.
    pub app_url: Option<String>,
    /// `APP_DEBUG`.
    pub debug: bool,
    /// `META_SECRET`: the webhook's HMAC key. `None` disables the webhook (500).
    pub meta_secret: Option<String>,
    /// `GITHUB_REDIRECT`: path of the OAuth callback.
    pub github_redirect: String,
    /// `MIN_PASSCODE_LENGTH`.
    pub min_passcode_length: usize,
    /// Offer a login form without GitHub (demo instances and tests only).
    pub demo_login: bool,
    /// `GITHUB_CLIENT_ID`: the OAuth App. `None`: GitHub login answers 501 "not configured".
    pub github_client_id: Option<String>,
    /// `GITHUB_CLIENT_SECRET`.
    pub github_client_secret: Option<String>,
    /// `GITHUB_AUTHORIZE_URL` (default [`DEFAULT_GITHUB_AUTHORIZE_URL`]).
    pub github_authorize_url: String,
    /// `GITHUB_ACCESS_TOKEN_URL` (default [`DEFAULT_GITHUB_ACCESS_TOKEN_URL`]).
    pub github_access_token_url: String,
    /// `GITHUB_API_URL` (default [`DEFAULT_GITHUB_API_URL`]); the user is read from `<it>/user`.
    pub github_api_url: String,
    /// `VOTEBOX_KDF_CONCURRENCY`: how many ballot KDFs (Argon2i, 512 MiB each) may run at once
    /// (at least 1). The binary defaults it from cores and memory ([`crate::kdf_concurrency_for`]).
    pub kdf_concurrency: usize,
    /// `VOTEBOX_SESSION_LIFETIME_SECONDS`: how long a login lasts (default
    /// [`DEFAULT_SESSION_LIFETIME`], Elekto's `token_expires_at`).
    pub session_lifetime: Duration,
}

/// A login lasts one day, like Elekto's `token_expires_at = now + 1 day`.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

pub const DEFAULT_GITHUB_REDIRECT: &str = "/oauth/github/callback";
pub const DEFAULT_GITHUB_AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
pub const DEFAULT_GITHUB_ACCESS_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

impl WebConfig {
    /// Elekto's defaults for everything but the name and key: no `APP_URL`, no webhook secret,
    /// callback `/oauth/github/callback`, `MIN_PASSCODE_LENGTH` 6, no demo login, GitHub login
    /// not configured (github.com endpoints).
    pub fn new(app_name: impl Into<String>, app_key: impl Into<String>) -> WebConfig {
        WebConfig {
            app_name: app_name.into(),
            app_key: app_key.into(),
            app_url: None,
            debug: false,
            meta_secret: None,
            github_redirect: DEFAULT_GITHUB_REDIRECT.to_owned(),
            min_passcode_length: 6,
            demo_login: false,
            github_client_id: None,
            github_client_secret: None,
            github_authorize_url: DEFAULT_GITHUB_AUTHORIZE_URL.to_owned(),
            github_access_token_url: DEFAULT_GITHUB_ACCESS_TOKEN_URL.to_owned(),
            github_api_url: DEFAULT_GITHUB_API_URL.to_owned(),
            kdf_concurrency: 1,
            session_lifetime: DEFAULT_SESSION_LIFETIME,
        }
    }

    /// `APP_URL` is an explicit `http://` URL: the only case in which the session cookie is not
    /// `Secure` (a plain-http deployment, or a browser that refuses Secure cookies on
    /// `http://localhost`).
    pub fn app_url_is_http(&self) -> bool {
        self.app_url_scheme().as_deref() == Some("http")
    }

    /// `APP_URL` is an `https://` URL: HSTS is sent.
    pub fn app_url_is_https(&self) -> bool {
        self.app_url_scheme().as_deref() == Some("https")
    }

    fn app_url_scheme(&self) -> Option<String> {
        let url = self.app_url.as_deref()?.trim();
        let (scheme, _) = url.split_once("://")?;
        Some(scheme.to_ascii_lowercase())
    }
}

/// Secrets (`APP_KEY`, `META_SECRET`, `GITHUB_CLIENT_SECRET`) are not printed.
impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("WebConfig")
            .field("app_name", &self.app_name)
            .field("app_url", &self.app_url)
            .field("debug", &self.debug)
            .field("meta_secret", &hidden(&self.meta_secret))
            .field("github_redirect", &self.github_redirect)
            .field("min_passcode_length", &self.min_passcode_length)
            .field("demo_login", &self.demo_login)
            .field("github_client_id", &self.github_client_id)
            .field("github_client_secret", &hidden(&self.github_client_secret))
            .field("github_authorize_url", &self.github_authorize_url)
            .field("github_access_token_url", &self.github_access_token_url)
            .field("github_api_url", &self.github_api_url)
            .field("kdf_concurrency", &self.kdf_concurrency)
            .field("session_lifetime", &self.session_lifetime)
            .finish_non_exhaustive()
    }
}

/// Where "now" comes from. Election status is computed from it; tests pin it or move it.
#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Fixed(PrimitiveDateTime),
    /// A clock the caller moves ([`Clock::set`]); for tests of what happens as a deadline passes.
    Manual(Arc<std::sync::Mutex<PrimitiveDateTime>>),
}

impl Clock {
    /// A [`Clock::Manual`] starting at `t`.
    pub fn manual(t: PrimitiveDateTime) -> Clock {
        Clock::Manual(Arc::new(std::sync::Mutex::new(t)))
    }

    /// Moves a [`Clock::Manual`] to `t` (every clone sees it); other clocks ignore it.
    pub fn set(&self, t: PrimitiveDateTime) {
        if let Clock::Manual(m) = self {
            *m.lock().unwrap_or_else(|e| e.into_inner()) = t;
        }
    }

    /// The current naive UTC time (as Elekto compares election datetimes).
    pub fn now(&self) -> PrimitiveDateTime {
        match self {
            Clock::System => {
                let now = OffsetDateTime::now_utc();
                PrimitiveDateTime::new(now.date(), now.time())
            }
            Clock::Fixed(t) => *t,
            Clock::Manual(m) => *m.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// Shared state of every request. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    config: WebConfig,
    db: Db,
    meta: MetaRepo,
    clock: Clock,
    cookie_key: Key,
    secure_cookies: bool,
    /// The GitHub OAuth App (`None`: not configured).
    github: Option<crate::github::Github>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    /// Bounds the ballot KDF (global semaphore, one per user).
    kdf: crate::kdf::KdfLimiter,
    /// Serialises syncs: two webhooks never fetch into the mirror at once.
    sync_lock: tokio::sync::Mutex<()>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("app_name", &self.0.config.app_name)
            .field("meta", &self.0.meta)
            .field("clock", &self.0.clock)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(config: WebConfig, db: Db, meta: MetaRepo, clock: Clock) -> AppState {
        let cookie_key = derive_cookie_key(&config.app_key);
        let kdf_concurrency = config.kdf_concurrency;
        let secure_cookies = !config.app_url_is_http();
        let github = crate::github::Github::from_config(&config).unwrap_or_else(|e| {
            tracing::error!(error = %e, "GitHub login disabled: bad configuration");
            None
        });
        AppState(Arc::new(Inner {
            config,
            db,
            meta,
            clock,
            cookie_key,
            secure_cookies,
            github,
            snapshot: RwLock::new(None),
            kdf: crate::kdf::KdfLimiter::new(kdf_concurrency),
            sync_lock: tokio::sync::Mutex::new(()),
        }))
    }

    pub fn config(&self) -> &WebConfig {
        &self.0.config
    }

    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub fn meta(&self) -> &MetaRepo {
        &self.0.meta
    }

    /// Current naive UTC time from the configured clock.
    pub fn now(&self) -> PrimitiveDateTime {
        self.0.clock.now()
    }

    pub(crate) fn cookie_key(&self) -> &Key {
        &self.0.cookie_key
    }

    pub(crate) fn secure_cookies(&self) -> bool {
        self.0.secure_cookies
    }

    /// Holds every KDF slot until the returned guard is dropped: casts, views and revokes that
    /// pass their checks meanwhile wait in the queue ([`AppState::kdf_waiting`]). For tests that
    /// need a request parked between its checks and its write.
    #[doc(hidden)]
    pub async fn pause_kdf(&self) -> impl Drop + Send + use<> {
        self.kdf().pause().await
    }

    /// Requests waiting for a KDF slot.
    #[doc(hidden)]
    pub fn kdf_waiting(&self) -> usize {
        self.kdf().waiting()
    }

    pub(crate) fn kdf(&self) -> &crate::kdf::KdfLimiter {
        &self.0.kdf
    }

    pub(crate) fn github(&self) -> Option<&crate::github::Github> {
        self.0.github.as_ref()
    }

    /// The snapshot being served, if one has been loaded.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.0
            .snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serves `snapshot` from now on (start-up from the local mirror). Broken elections are logged.
    pub fn install_snapshot(&self, snapshot: Snapshot) {
        log_broken(&snapshot.catalog);
        tracing::info!(
            commit = %snapshot.commit,
            elections = snapshot.catalog.entries.len(),
            "meta snapshot installed"
        );
        *self.0.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(snapshot));
    }

    /// Runs [`meta_sync::sync`] against the snapshot being served and, when it succeeds,
    /// serves the new one. On failure the last good snapshot keeps being served. One sync at a
    /// time per instance.
    pub async fn sync_meta(&self) -> Result<SyncOutcome, SyncError> {
        let _guard = self.0.sync_lock.lock().await;
        let current = self.snapshot();
        let synced =
            meta_sync::sync(self.db(), self.meta(), current.as_deref(), self.now()).await?;
        self.install_snapshot(synced.snapshot);
        Ok(synced.outcome)
    }
}

fn log_broken(catalog: &Catalog) {
    for b in catalog.broken() {
        tracing::warn!(key = %b.key, error = %b.error, "election could not be loaded");
    }
}

/// 64-byte cookie key from `APP_KEY` (SHA-512 with a domain-separation prefix).
fn derive_cookie_key(app_key: &str) -> Key {
    let mut h = Sha512::new();
    h.update(b"votebox session cookie key v1\0");
    h.update(app_key.as_bytes());
    let out = h.finalize();
    Key::from(out.as_slice())
}

/// An election resolved from a URL key.
pub(crate) enum Resolved<'a> {
    Ok(&'a Election),
    Broken(&'a BrokenElection),
}

/// Looks `key` up among the keys discovery produced (so `..` and friends never match).
pub(crate) fn resolve<'a>(catalog: &'a Catalog, key: &str) -> Option<Resolved<'a>> {
    catalog.get(key).map(|e| match e {
        CatalogEntry::Ok(e) => Resolved::Ok(e),
        CatalogEntry::Broken(b) => Resolved::Broken(b),
    })
}
