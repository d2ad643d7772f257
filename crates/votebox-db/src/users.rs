//! The `user` table (GitHub accounts).

use crate::{Db, Result, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i32,
    pub username: Option<String>,
    pub name: Option<String>,
    pub token: Option<String>,
    pub token_expires_at: Option<Timestamp>,
    pub created_at: Option<Timestamp>,
}

/// Finds the user by login, case-insensitively (Elekto #84); inserts it if missing.
/// On insert sets `name`; on update sets `token`/`token_expires_at` only (as Elekto).
pub async fn upsert_login(
    db: &Db,
    login: &str,
    name: Option<&str>,
    token: Option<&str>,
    token_expires_at: Option<Timestamp>,
) -> Result<UserRow> {
    let _ = (db, login, name, token, token_expires_at);
    todo!("db helper")
}

pub async fn find_by_id(db: &Db, id: i32) -> Result<Option<UserRow>> {
    let _ = (db, id);
    todo!("db helper")
}

/// Logout: token and token_expires_at set to NULL.
pub async fn clear_token(db: &Db, id: i32) -> Result<()> {
    let _ = (db, id);
    todo!("db helper")
}
