//! Schema migrations: per-dialect SQL trees with the same numbers and names, a lock so that two
//! processes never both apply one, and (later) adoption of legacy Elekto databases.

use crate::{Db, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

/// Applies every pending migration under a database-wide lock. Returns the ones applied now
/// (empty when up to date). Idempotent.
pub async fn run(db: &Db) -> Result<Vec<MigrationState>> {
    let _ = db;
    todo!("db helper")
}

/// Every known migration, applied or pending.
pub async fn status(db: &Db) -> Result<Vec<MigrationState>> {
    let _ = db;
    todo!("db helper")
}
