use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{DbError, Result};

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    MySql,
    Sqlite,
}

impl Backend {
    /// All three engines, in a fixed order (for tests and diagnostics).
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// Short lowercase name: `postgres`, `mysql` or `sqlite`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
            Backend::Sqlite => "sqlite",
        }
    }

    /// The engine a URL names by its scheme, or `None` for an unknown scheme.
    /// `postgres://`/`postgresql://`, `mysql://`/`mariadb://`, `sqlite:` (any letter case).
    pub fn from_url(url: &str) -> Option<Backend> {
        let (scheme, _) = url.trim().split_once(':')?;
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            "sqlite" => Some(Backend::Sqlite),
            _ => None,
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A connection pool on one of the three engines, chosen at run time from the URL scheme
/// (`postgres://`/`postgresql://`, `mysql://`/`mariadb://`, `sqlite:`).
#[derive(Debug, Clone)]
pub enum Db {
    Pg(sqlx::PgPool),
    My(sqlx::MySqlPool),
    Lite(sqlx::SqlitePool),
}

/// PostgreSQL/MySQL: how long a request waits for a connection (sqlx's default is 30 s). While
/// the server is down, requests get their 503 page after this long instead of hanging.
const SERVER_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(8);

/// SQLite waits this long for a lock held by another connection or process.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opening a SQLite file switches it to WAL, which needs the file to itself: while another
/// process holds it longer than [`SQLITE_BUSY_TIMEOUT`] (a `votebox migrate` upgrading a large
/// legacy database, say), opening keeps trying for up to this long.
const SQLITE_OPEN_PATIENCE: Duration = Duration::from_secs(300);

impl Db {
    /// Connects; for SQLite creates the file if missing. The URL's password is never logged.
    ///
    /// Accepted forms:
    /// - `postgres://user:pass@host:port/db` or `postgresql://…` (sqlx syntax, incl. `?sslmode=`);
    /// - `mysql://user:pass@host:port/db` or `mariadb://…` (same driver);
    /// - `sqlite://PATH` or `sqlite:PATH` (PATH relative to the working directory unless it starts
    ///   with `/`, so `sqlite:///data/x.db` is the absolute `/data/x.db` — unlike SQLAlchemy, where
    ///   three slashes mean relative), `sqlite::memory:`. `%` escapes in PATH are decoded and `?`
    ///   starts sqlx parameters; use [`Db::connect_sqlite`] for arbitrary paths.
    ///
    /// SQLite connections use WAL, `busy_timeout` 5 s, `foreign_keys = ON`, `synchronous = NORMAL`,
    /// `secure_delete = ON`.
    /// Opening a legacy Elekto SQLite file therefore switches it to WAL (permanent, still
    /// readable by Python's sqlite3).
    ///
    /// One connection is opened eagerly, so an unreachable server fails here.
    pub async fn connect(url: &str) -> Result<Db> {
        let url = url.trim();
        let invalid =
            |why: String| DbError::InvalidUrl(format!("{why} (in `{}`)", redact_url(url)));
        match Backend::from_url(url) {
            Some(Backend::Postgres) => {
                let opts = PgConnectOptions::from_str(url).map_err(|e| invalid(e.to_string()))?;
                let pool = PgPoolOptions::new()
                    .acquire_timeout(SERVER_ACQUIRE_TIMEOUT)
                    .connect_with(opts)
                    .await?;
                Ok(Db::Pg(pool))
            }
            Some(Backend::MySql) => {
                let (_, rest) = url.split_once(':').expect("from_url found a scheme");
                let url = format!("mysql:{rest}");
                let opts =
                    MySqlConnectOptions::from_str(&url).map_err(|e| invalid(e.to_string()))?;
                let pool = MySqlPoolOptions::new()
                    .acquire_timeout(SERVER_ACQUIRE_TIMEOUT)
                    .connect_with(opts)
                    .await?;
                Ok(Db::My(pool))
            }
            Some(Backend::Sqlite) => {
                let (_, rest) = url.split_once(':').expect("from_url found a scheme");
                let opts = SqliteConnectOptions::from_str(&format!("sqlite:{rest}"))
                    .map_err(|e| invalid(e.to_string()))?;
                Self::connect_sqlite_with(opts).await
            }
            None => Err(invalid(
                "unsupported scheme: expected postgres://, postgresql://, mysql://, mariadb:// \
                 or sqlite:"
                    .to_owned(),
            )),
        }
    }

    /// Opens (creating if missing) the SQLite database file at `path`, taken literally (no URL
    /// decoding). Same settings as [`Db::connect`] with a `sqlite:` URL.
    pub async fn connect_sqlite(path: &Path) -> Result<Db> {
        Self::connect_sqlite_with(SqliteConnectOptions::new().filename(path)).await
    }

    async fn connect_sqlite_with(opts: SqliteConnectOptions) -> Result<Db> {
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Normal)
            // Freed cells and pages are overwritten with zeros, so a deleted (mixed, revoked or
            // concluded) row leaves no bytes behind that would give its old place away.
            .pragma("secure_delete", "ON");
        let in_memory = opts
            .get_filename()
            .to_string_lossy()
            .contains("sqlx-in-memory")
            || opts.get_filename() == Path::new(":memory:");
        let mut pool = SqlitePoolOptions::new();
        if in_memory {
            // An in-memory database lives as long as one connection does.
            pool = pool
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let deadline = tokio::time::Instant::now() + SQLITE_OPEN_PATIENCE;
        let mut waited = false;
        loop {
            match pool.clone().connect_with(opts.clone()).await {
                Err(e) if is_sqlite_busy(&e) && tokio::time::Instant::now() < deadline => {
                    if !waited {
                        tracing::info!(
                            "the SQLite database is busy (another votebox migrating it?): waiting"
                        );
                        waited = true;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                connected => return Ok(Db::Lite(connected?)),
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Pg(_) => Backend::Postgres,
            Db::My(_) => Backend::MySql,
            Db::Lite(_) => Backend::Sqlite,
        }
    }

    /// `SELECT 1`: readiness check.
    pub async fn ping(&self) -> Result<()> {
        match self {
            Db::Pg(p) => {
                sqlx::query("SELECT 1").execute(p).await?;
            }
            Db::My(p) => {
                sqlx::query("SELECT 1").execute(p).await?;
            }
            Db::Lite(p) => {
                sqlx::query("SELECT 1").execute(p).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Db::Pg(p) => p.close().await,
            Db::My(p) => p.close().await,
            Db::Lite(p) => p.close().await,
        }
    }
}

/// `url` with any password replaced by `***`, for logs and error messages. Unparseable input is
/// reduced to its scheme.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => match url.split_once(':') {
            // `sqlite:relative/path` is not a URL with a host but carries no secret either.
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("sqlite") => url.to_owned(),
            Some((scheme, _)) => format!("{scheme}:***"),
            None => "***".to_owned(),
        },
    }
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6), extended codes included: another connection holds a
/// lock this one needs.
pub(crate) fn is_sqlite_busy(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(e) = err else {
        return false;
    };
    e.code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A legacy (rollback-journal) file held by another process for longer than the busy
    /// timeout, as a `votebox migrate` upgrading it does: opening waits instead of failing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn opening_a_busy_sqlite_file_waits_for_it() {
        use sqlx::{ConnectOptions as _, Connection as _, Executor as _};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("legacy.db");
        let mut holder = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .connect()
            .await
            .unwrap();
        holder.execute("CREATE TABLE t (x INTEGER)").await.unwrap();
        holder.execute("BEGIN EXCLUSIVE").await.unwrap();
        let opening = tokio::spawn({
            let path = path.clone();
            async move { Db::connect_sqlite(&path).await }
        });
        tokio::time::sleep(SQLITE_BUSY_TIMEOUT + Duration::from_secs(1)).await;
        assert!(!opening.is_finished(), "opening must wait, not fail");
        holder.execute("COMMIT").await.unwrap();
        holder.close().await.unwrap();
        let db = opening
            .await
            .unwrap()
            .expect("opened once the file was free");
        db.ping().await.unwrap();
        db.close().await;
    }

    #[test]
    fn backend_from_scheme() {
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("PostgreSQL://u@h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::from_url("mysql://u@h/db"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("mariadb://u@h/db"), Some(Backend::MySql));
        assert_eq!(Backend::from_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite:x.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("oracle://h/db"), None);
        assert_eq!(Backend::from_url("no scheme"), None);
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://vote:s3cr%40t@db:5432/elekto"),
            "postgres://vote:***@db:5432/elekto"
        );
        assert_eq!(
            redact_url("mysql://root@db/elekto"),
            "mysql://root@db/elekto"
        );
        assert_eq!(redact_url("sqlite:data/x.db"), "sqlite:data/x.db");
        assert_eq!(redact_url("no scheme at all"), "***");
    }

    #[tokio::test]
    async fn unknown_scheme_is_invalid_url() {
        let err = Db::connect("oracle://scott:tiger@h/db").await.unwrap_err();
        match err {
            DbError::InvalidUrl(msg) => {
                assert!(msg.contains("unsupported scheme"), "{msg}");
                assert!(!msg.contains("tiger"), "password leaked: {msg}");
            }
            other => panic!("expected InvalidUrl, got {other:?}"),
        }
        assert!(matches!(
            Db::connect("not a url").await,
            Err(DbError::InvalidUrl(_))
        ));
    }

    #[tokio::test]
    async fn sqlite_memory_and_file() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        db.ping().await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").with_extension("db");
        let db = Db::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        db.ping().await.unwrap();
        assert!(path.exists(), "file created");
        db.close().await;

        let path2 = dir.path().join("odd?name#.db");
        let db = Db::connect_sqlite(&path2).await.unwrap();
        db.ping().await.unwrap();
        assert!(path2.exists());
    }
}
