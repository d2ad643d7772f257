//! votebox's database layer: PostgreSQL, MySQL/MariaDB and SQLite behind one [`Db`] handle.
//!
//! Every query is defined once with sea-query and run on whichever pool is configured; only
//! migrations (DDL) are per dialect. Table and column names are Elekto's (schema version 2), so
//! legacy databases are adopted as they are. This crate knows SQL, not HTTP.

pub mod elections;
pub mod migrate;
pub mod users;
pub mod voters;

mod pool;
pub use pool::{Backend, Db};

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
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;
