use crate::Result;

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    MySql,
    Sqlite,
}

/// A connection pool on one of the three engines, chosen at run time from the URL scheme
/// (`postgres://`/`postgresql://`, `mysql://`/`mariadb://`, `sqlite:`).
#[derive(Debug, Clone)]
pub enum Db {
    Pg(sqlx::PgPool),
    My(sqlx::MySqlPool),
    Lite(sqlx::SqlitePool),
}

impl Db {
    /// Connects; for SQLite creates the file if missing. The URL's password is never logged.
    pub async fn connect(url: &str) -> Result<Db> {
        let _ = url;
        todo!("db helper")
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
        todo!("db helper")
    }

    pub async fn close(&self) {
        match self {
            Db::Pg(p) => p.close().await,
            Db::My(p) => p.close().await,
            Db::Lite(p) => p.close().await,
        }
    }
}
