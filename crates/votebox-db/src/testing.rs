//! Throw-away databases on all three engines, for tests (cargo feature `testing`).
//!
//! Every test gets a database of its own: a temporary SQLite file, or `CREATE DATABASE vbt_<random>`
//! on the PostgreSQL / MariaDB server named by an admin URL:
//! - [`POSTGRES_URL_ENV`] (`VOTEBOX_TEST_POSTGRES_URL`), default [`DEFAULT_POSTGRES_URL`];
//! - [`MYSQL_URL_ENV`] (`VOTEBOX_TEST_MYSQL_URL`), default [`DEFAULT_MYSQL_URL`].
//!
//! An unreachable server makes the helper **panic** with a message naming the URL: a test on an
//! engine fails, it is never skipped. The database is dropped (best effort) when the returned
//! [`TestDatabase`] guard is dropped; set [`KEEP_ENV`] (`VOTEBOX_TEST_KEEP_DB=1`) to keep it for
//! inspection (its URL is printed).
//!
//! ```ignore
//! for backend in votebox_db::Backend::ALL {
//!     let (db, _url, _guard) = votebox_db::testing::migrated_database(backend).await;
//!     // ...
//! }
//! ```

/// Expands each listed `async fn name(backend: Backend)` of a test file into the tests
/// `sqlite::name`, `postgres::name` and `mysql::name`.
#[macro_export]
macro_rules! on_every_engine {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::Sqlite).await })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::Postgres).await })+
        }
        mod mysql {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::MySql).await })+
        }
    };
}

use std::time::Duration;

use sea_query_sqlx::SqlxBinder;
use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, Executor, FromRow, MySqlConnection, PgConnection};

use crate::query::trusted_sql;
use crate::{Backend, Db, Result, migrate, redact_url};

/// The sea-query version this crate builds statements with, for seeding rows in tests.
pub use sea_query;

/// Legacy Elekto databases from `shared/fixtures/legacy-db`: loading, manifests, snapshots.
pub mod elekto_fixtures;

pub const POSTGRES_URL_ENV: &str = "VOTEBOX_TEST_POSTGRES_URL";
pub const MYSQL_URL_ENV: &str = "VOTEBOX_TEST_MYSQL_URL";
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/mysql";
/// When set (to anything), test databases are not dropped.
pub const KEEP_ENV: &str = "VOTEBOX_TEST_KEEP_DB";

/// The admin URL used to create test databases on `backend` (`None` for SQLite).
pub fn admin_url(backend: Backend) -> Option<String> {
    let (env, default) = match backend {
        Backend::Postgres => (POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL),
        Backend::MySql => (MYSQL_URL_ENV, DEFAULT_MYSQL_URL),
        Backend::Sqlite => return None,
    };
    Some(std::env::var(env).unwrap_or_else(|_| default.to_owned()))
}

/// Owns a test database; dropping it drops the database (best effort) or deletes the SQLite file.
#[derive(Debug)]
pub struct TestDatabase {
    backend: Backend,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Dir(Option<tempfile::TempDir>),
    Server { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL of the test database (pass it to [`Db::connect`] or to a server under test).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let keep = std::env::var_os(KEEP_ENV).is_some();
        match &mut self.cleanup {
            Cleanup::Dir(dir) => {
                if keep && let Some(dir) = dir.take() {
                    let _ = dir.keep();
                    eprintln!("{KEEP_ENV}: kept test database {}", self.url);
                }
            }
            Cleanup::Server { admin_url, name } => {
                if keep {
                    eprintln!("{KEEP_ENV}: kept test database {}", redact_url(&self.url));
                    return;
                }
                let (backend, admin_url, name) = (self.backend, admin_url.clone(), name.clone());
                // Drop may run inside a runtime (block_on is not allowed there): use a thread
                // with a runtime of its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    rt.block_on(async {
                        tokio::time::timeout(
                            Duration::from_secs(30),
                            drop_database(backend, &admin_url, &name),
                        )
                        .await
                        .ok()
                    })
                })
                .join();
            }
        }
    }
}

/// Creates an empty database on `backend` and returns its URL. Panics (naming the URL) when the
/// server cannot be reached or refuses.
pub async fn fresh_url(backend: Backend) -> (String, TestDatabase) {
    let name = format!("vbt_{:016x}", rand::random::<u64>());
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::Builder::new()
                .prefix("vbt_")
                .tempdir()
                .unwrap_or_else(|e| panic!("cannot create a temporary directory for SQLite: {e}"));
            let url = format!(
                "sqlite://{}",
                dir.path().join(format!("{name}.db")).display()
            );
            let guard = TestDatabase {
                backend,
                url: url.clone(),
                cleanup: Cleanup::Dir(Some(dir)),
            };
            (url, guard)
        }
        Backend::Postgres | Backend::MySql => {
            let admin = admin_url(backend).expect("server engine");
            let env = if backend == Backend::Postgres {
                POSTGRES_URL_ENV
            } else {
                MYSQL_URL_ENV
            };
            let fail = |what: &str, e: &dyn std::fmt::Display| -> ! {
                panic!(
                    "\n\n*** votebox-db tests: {what} {backend} at {} failed: {e}\n\
                     *** Start the server or point {env} at a reachable admin URL. Tests never \
                     skip an engine.\n",
                    redact_url(&admin)
                )
            };
            let mut url =
                url::Url::parse(&admin).unwrap_or_else(|e| fail("parsing the admin URL for", &e));
            url.set_path(&format!("/{name}"));
            if let Err(e) = create_database(backend, &admin, &name).await {
                fail("creating a test database on", &e);
            }
            let url = url.to_string();
            let guard = TestDatabase {
                backend,
                url: url.clone(),
                cleanup: Cleanup::Server {
                    admin_url: admin,
                    name,
                },
            };
            (url, guard)
        }
    }
}

/// A fresh, empty (not migrated) database on `backend`, connected.
pub async fn fresh_database(backend: Backend) -> (Db, String, TestDatabase) {
    let (url, guard) = fresh_url(backend).await;
    let db = Db::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connecting to test database {}: {e}", redact_url(&url)));
    (db, url, guard)
}

/// [`fresh_database`] with every migration applied.
pub async fn migrated_database(backend: Backend) -> (Db, String, TestDatabase) {
    let (db, url, guard) = fresh_database(backend).await;
    migrate::run(&db)
        .await
        .unwrap_or_else(|e| panic!("migrating test database {}: {e}", redact_url(&url)));
    (db, url, guard)
}

/// Runs any sea-query statement (to seed or inspect rows the API does not write yet); returns
/// the number of rows affected.
pub async fn exec(db: &Db, stmt: &(impl SqlxBinder + Sync)) -> Result<u64> {
    Ok(db.execute(stmt).await?.rows_affected)
}

/// Runs a sea-query `SELECT` and decodes every row (a `#[derive(sqlx::FromRow)]` struct or a
/// tuple).
pub async fn fetch_all<T>(db: &Db, stmt: &(impl SqlxBinder + Sync)) -> Result<Vec<T>>
where
    T: for<'r> FromRow<'r, PgRow>
        + for<'r> FromRow<'r, MySqlRow>
        + for<'r> FromRow<'r, SqliteRow>
        + Send
        + Unpin,
{
    db.fetch_all(stmt).await
}

async fn create_database(backend: Backend, admin_url: &str, name: &str) -> Result<()> {
    match backend {
        Backend::Postgres => {
            let mut c = PgConnection::connect(admin_url).await?;
            c.execute(trusted_sql(format!(r#"CREATE DATABASE "{name}""#)))
                .await?;
            let _ = c.close().await;
        }
        Backend::MySql => {
            let mut c = MySqlConnection::connect(admin_url).await?;
            c.execute(trusted_sql(format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4"
            )))
            .await?;
            let _ = c.close().await;
        }
        Backend::Sqlite => {}
    }
    Ok(())
}

async fn drop_database(backend: Backend, admin_url: &str, name: &str) -> Result<()> {
    match backend {
        Backend::Postgres => {
            let mut c = PgConnection::connect(admin_url).await?;
            // FORCE (PostgreSQL 13+) ends the sessions of pools the test did not close.
            let forced = c
                .execute(trusted_sql(format!(
                    r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                )))
                .await;
            if forced.is_err() {
                c.execute(trusted_sql(format!(r#"DROP DATABASE IF EXISTS "{name}""#)))
                    .await?;
            }
            let _ = c.close().await;
        }
        Backend::MySql => {
            let mut c = MySqlConnection::connect(admin_url).await?;
            c.execute(trusted_sql(format!("DROP DATABASE IF EXISTS `{name}`")))
                .await?;
            let _ = c.close().await;
        }
        Backend::Sqlite => {}
    }
    Ok(())
}
