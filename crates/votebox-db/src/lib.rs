//! votebox's database layer: PostgreSQL, MySQL/MariaDB and SQLite behind one [`Db`] handle.
//!
//! Every query is defined once with sea-query and run on whichever pool is configured; only
//! migrations (DDL) are per dialect. Table and column names are Elekto's (schema version 2), so
//! legacy databases are adopted as they are. This crate knows SQL, not HTTP.
//!
//! Layout:
//! - [`Db`] (`pool.rs`): the pool enum, URL parsing, connection settings.
//! - `query.rs` (private): the one dispatch macro that renders a sea-query statement for the
//!   right dialect and runs it on the right connection, transactions.
//! - [`schema`]: every table's identifiers and Elekto's column lists.
//! - [`elections`], [`users`], [`identity`], [`voters`], [`sessions`]: one function per operation.
//! - [`audit`]: each election's hash-chained audit log.
//! - [`ballot_mixing`], [`conclusion`]: what keeps ballots secret from whoever holds the files.
//! - [`leases`], [`meta_snapshots`], [`user_limits`]: what several instances on one database
//!   share (one fetch of the meta, jobs run once, per-user limits).
//! - [`migrate`]: embedded per-dialect migrations under a database-wide lock.
//! - [`testing`] (feature `testing`): throw-away databases on all three engines for tests.

pub mod audit;
pub mod ballot_mixing;
pub mod ballots;
pub mod conclusion;
pub mod elections;
pub mod identity;
mod ids;
pub mod leases;
mod login_claims;
pub mod meta_snapshots;
pub mod migrate;
pub mod requests;
pub mod schema;
pub mod schema1_ballots;
pub mod sessions;
pub mod user_limits;
pub mod users;
pub mod voters;

mod pool;
mod query;
#[cfg(feature = "testing")]
pub mod testing;

pub use ids::{ElectionId, RequestId, UserId, VoterId};
pub use pool::{Backend, Db, redact_url};

/// Naive UTC timestamp, as Elekto stores them.
pub type Timestamp = time::PrimitiveDateTime;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(String),
    /// A row the operation needs is not there (deleted meanwhile, or a caller's stale id).
    #[error("no {table} row with id {id}")]
    NotFound { table: &'static str, id: i64 },
    /// The server answered in a way the query cannot use (no id for an INSERT, an id too large).
    #[error("unexpected database answer: {0}")]
    Unexpected(String),
    /// Deleted rows could not be purged from the database files (they stay until the next try).
    #[error("database files not flushed: {0}")]
    Flush(String),
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl DbError {
    /// The database server could not be reached or went away (connection refused or lost, pool
    /// timed out waiting for a connection, server shutting down): a 503 and a retry later, not a
    /// bug. The pool reconnects by itself once the server is back.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Sqlx(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(d) => d.code().is_some_and(|c| {
                    // SQLSTATE 08xxx: connection exception; PostgreSQL 57P01–57P03: admin or
                    // crash shutdown, cannot connect now; MariaDB 70100: connection killed.
                    c.starts_with("08") || c.starts_with("57P0") || c == "70100"
                }),
                _ => false,
            },
            _ => false,
        }
    }

    /// The transaction lost to a concurrent one (MariaDB lock wait timeout or deadlock,
    /// PostgreSQL serialization failure, deadlock or lock not available, SQLite busy): it was
    /// rolled back whole, so the request can simply be sent again.
    pub fn is_contended(&self) -> bool {
        let DbError::Sqlx(e) = self else {
            return false;
        };
        if crate::pool::is_sqlite_busy(e) {
            return true;
        }
        let sqlx::Error::Database(d) = e else {
            return false;
        };
        if let Some(mysql) = d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
            // ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK.
            return matches!(mysql.number(), 1205 | 1213);
        }
        d.code()
            .is_some_and(|c| matches!(c.as_ref(), "40001" | "40P01" | "55P03"))
    }
}

/// The current time as a naive UTC [`Timestamp`] with microsecond precision (what PostgreSQL and
/// Python keep). Use it for values such as `token_expires_at = utc_now() + 1 day`.
pub fn utc_now() -> Timestamp {
    let now = time::OffsetDateTime::now_utc();
    let now = time::PrimitiveDateTime::new(now.date(), now.time());
    now.replace_microsecond(now.microsecond())
        .expect("microsecond from a valid time is valid")
}
