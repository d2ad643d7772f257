//! The `election` table: one row per meta election key, kept in step by sync.

use crate::{Db, Result, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionRow {
    pub id: i32,
    pub key: String,
    pub name: Option<String>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

/// What a sync changed. Rows whose key vanished from the meta are never deleted here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Keys inserted.
    pub added: Vec<String>,
    /// Keys whose name changed.
    pub renamed: Vec<String>,
    /// Keys in the database but no longer in the meta (kept, with their data).
    pub orphaned: Vec<OrphanInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanInfo {
    pub key: String,
    pub voters: i64,
    pub ballots: i64,
    pub requests: i64,
}

/// Inserts new keys and updates names, in one transaction. `meta` is (key, name) of every parsed election.
pub async fn sync(db: &Db, meta: &[(String, String)]) -> Result<SyncReport> {
    let _ = (db, meta);
    todo!("db helper")
}

pub async fn list(db: &Db) -> Result<Vec<ElectionRow>> {
    let _ = db;
    todo!("db helper")
}

pub async fn find_by_key(db: &Db, key: &str) -> Result<Option<ElectionRow>> {
    let _ = (db, key);
    todo!("db helper")
}

/// Deletes an orphaned election row and everything that hangs off it (voters, ballots, requests).
/// Only an explicit operator command calls this. Refuses (Ok(false)) when `key` is in `meta_keys`.
pub async fn delete_orphan(db: &Db, key: &str, meta_keys: &[String]) -> Result<bool> {
    let _ = (db, key, meta_keys);
    todo!("db helper")
}
