//! GitHub identity of `user` rows: the numeric GitHub user id, kept in votebox's own table
//! `votebox_user_identity` (migration 0003), so that a renamed GitHub account keeps its user row.
//!
//! Elekto identifies a user by `user.username` (the GitHub login) only: a GitHub rename gives a
//! new row on the next login, and the old row keeps the voting history. votebox matches, in
//! order:
//!
//! 1. **the GitHub id** → that row; its `username` becomes the current login (a renamed account
//!    keeps its row, its "already voted" state and its exception requests);
//! 2. else **the login, case-insensitively** (Elekto #84), among rows without a GitHub id (legacy
//!    rows written by Elekto, or by votebox before the id was recorded): the exact-case row first,
//!    else the oldest. It is adopted: the id is recorded and `username` takes GitHub's canonical
//!    case;
//! 3. else a new row.
//!
//! A row that holds the login but belongs to **another** GitHub id (that account renamed itself
//! and the login was taken by someone new) is never adopted: its `username` is changed to a
//! marker that no GitHub login can equal (`<old login> (renamed, user <id>)`), so it keeps its
//! history but can no longer be matched by login, and the login goes to its new owner. The same
//! happens to any other row in the way when an account renames itself to a login a stale row
//! still holds. Rows are never deleted and Elekto's columns are unchanged.
//!
//! `name` is set on insert only (as Elekto); `token` and `token_expires_at` on every login.

use sea_query::{Expr, ExprTrait, Func, Order, Query};

use crate::UserId;
use crate::login_claims;
use crate::query::{Conn, retry_after_insert_race, retry_contended, ts_value};
use crate::schema::{User, VoteboxUserIdentity};
use crate::users::{self, LoginDetails, UserRow, find_by_id_in, get_in, select_users};
use crate::{Db, Result, Timestamp, utc_now};

/// Longest `username` Elekto's column holds (`VARCHAR(255)`).
const USERNAME_MAX: usize = 255;

/// Logs in a GitHub account: finds (or creates) its `user` row as described in the module docs,
/// stores `token`/`token_expires_at`, and returns the row.
///
/// Everything happens in one transaction. Two first logins of one account at once are safe: the
/// loser of the insert race (UNIQUE on `username` or `github_id`) retries once and finds the
/// winner's row; a transaction that lost to a concurrent one runs again ([`retry_contended`]).
pub async fn login_github(db: &Db, github_id: i64, details: &LoginDetails<'_>) -> Result<UserRow> {
    retry_contended(|| retry_after_insert_race(|| login_once(db, github_id, details))).await
}

/// The GitHub id recorded for a user row, if any.
pub async fn github_id_of(db: &Db, user_id: UserId) -> Result<Option<i64>> {
    github_id_in(&mut db.acquire().await?.conn(), user_id).await
}

/// The user row recorded for a GitHub id, if any.
pub async fn find_by_github_id(db: &Db, github_id: i64) -> Result<Option<UserRow>> {
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    match user_of_in(&mut conn, github_id).await? {
        Some(id) => find_by_id_in(&mut conn, id).await,
        None => Ok(None),
    }
}

async fn login_once(db: &Db, github_id: i64, details: &LoginDetails<'_>) -> Result<UserRow> {
    let LoginDetails {
        login,
        name,
        token,
        token_expires_at,
    } = *details;
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();

    // 1. By GitHub id.
    let mut known = None;
    if let Some(user_id) = user_of_in(&mut conn, github_id).await? {
        match find_by_id_in(&mut conn, user_id).await? {
            Some(row) => known = Some(row),
            None => {
                // The FK cascades, so only a database edited by hand gets here.
                tracing::warn!(github_id, %user_id, "identity without its user row; dropped");
                delete_identity(&mut conn, user_id).await?;
            }
        }
    }

    let id = match known {
        Some(row) => {
            if row.username.as_deref() != Some(login) {
                // Renamed (or re-cased) on GitHub: same row, new login. The old login keeps
                // its ballots and requests (the next holder of that login cannot use it again).
                if let Some(old) = row.username.as_deref() {
                    login_claims::keep_on_rename(&mut conn, row.id, old).await?;
                }
                free_login(&mut conn, login, Some(row.id)).await?;
                tracing::info!(
                    user_id = %row.id,
                    old = row.username.as_deref().unwrap_or(""),
                    new = login,
                    "GitHub login changed; user row kept"
                );
            }
            update_login(&mut conn, row.id, login, token, token_expires_at).await?;
            row.id
        }
        None => {
            // 2. By login, case-insensitively: rows of another GitHub account step aside, the
            //    first legacy row (no GitHub id) is adopted.
            let mut adopted = None;
            for row in rows_with_login(&mut conn, login).await? {
                match github_id_in(&mut conn, row.id).await? {
                    Some(other) => {
                        tracing::info!(
                            user_id = %row.id,
                            other_github_id = other,
                            github_id,
                            login,
                            "login now belongs to another GitHub account; old row renamed"
                        );
                        retire(&mut conn, &row).await?;
                    }
                    None if adopted.is_none() => adopted = Some(row.id),
                    None => {}
                }
            }
            match adopted {
                Some(user_id) => {
                    tracing::info!(%user_id, github_id, login, "legacy user row adopted");
                    update_login(&mut conn, user_id, login, token, token_expires_at).await?;
                    insert_identity(&mut conn, user_id, github_id).await?;
                    user_id
                }
                // 3. New user.
                None => {
                    let user_id =
                        users::insert(&mut conn, login, name, token, token_expires_at).await?;
                    insert_identity(&mut conn, user_id, github_id).await?;
                    tracing::info!(%user_id, github_id, login, "new user");
                    user_id
                }
            }
        }
    };

    let row = get_in(&mut conn, id).await?;
    tx.commit().await?;
    Ok(row)
}

async fn user_of_in(conn: &mut Conn<'_>, github_id: i64) -> Result<Option<UserId>> {
    let stmt = Query::select()
        .column(VoteboxUserIdentity::UserId)
        .from(VoteboxUserIdentity::Table)
        .and_where(Expr::col(VoteboxUserIdentity::GithubId).eq(github_id))
        .to_owned();
    Ok(conn
        .fetch_optional::<(UserId,)>(&stmt)
        .await?
        .map(|(id,)| id))
}

async fn github_id_in(conn: &mut Conn<'_>, user_id: UserId) -> Result<Option<i64>> {
    let stmt = Query::select()
        .column(VoteboxUserIdentity::GithubId)
        .from(VoteboxUserIdentity::Table)
        .and_where(Expr::col(VoteboxUserIdentity::UserId).eq(user_id))
        .to_owned();
    Ok(conn.fetch_optional::<(i64,)>(&stmt).await?.map(|(id,)| id))
}

/// Rows whose `username` equals `login` case-insensitively: the exact-case row first, then by id.
async fn rows_with_login(conn: &mut Conn<'_>, login: &str) -> Result<Vec<UserRow>> {
    let stmt = select_users()
        .and_where(Expr::expr(Func::lower(Expr::col(User::Username))).eq(Func::lower(login)))
        .order_by_expr(Expr::col(User::Username).eq(login), Order::Desc)
        .order_by(User::Id, Order::Asc)
        .to_owned();
    conn.fetch_all(&stmt).await
}

/// Moves every row but `keep` that holds `login` (case-insensitively) out of the way.
async fn free_login(conn: &mut Conn<'_>, login: &str, keep: Option<UserId>) -> Result<()> {
    for row in rows_with_login(conn, login).await? {
        if Some(row.id) != keep {
            tracing::info!(
                user_id = %row.id,
                login,
                "login taken over by a renamed GitHub account; old row renamed"
            );
            retire(conn, &row).await?;
        }
    }
    Ok(())
}

/// The marker login of a row whose login went to another account: unique (it holds the row id)
/// and never a GitHub login (GitHub logins have no spaces or parentheses).
pub fn retired_username(old: &str, user_id: UserId) -> String {
    let suffix = format!(" (renamed, user {user_id})");
    let keep = USERNAME_MAX.saturating_sub(suffix.chars().count());
    let old: String = old.chars().take(keep).collect();
    format!("{old}{suffix}")
}

async fn retire(conn: &mut Conn<'_>, row: &UserRow) -> Result<()> {
    if let Some(old) = row.username.as_deref() {
        login_claims::keep_on_rename(conn, row.id, old).await?;
    }
    let marker = retired_username(row.username.as_deref().unwrap_or(""), row.id);
    let stmt = Query::update()
        .table(User::Table)
        .value(User::Username, marker)
        .and_where(Expr::col(User::Id).eq(row.id))
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

async fn update_login(
    conn: &mut Conn<'_>,
    user_id: UserId,
    login: &str,
    token: Option<&str>,
    token_expires_at: Option<Timestamp>,
) -> Result<()> {
    let backend = conn.backend();
    let stmt = Query::update()
        .table(User::Table)
        .value(User::Username, login)
        .value(User::Token, token)
        .value(User::TokenExpiresAt, ts_value(backend, token_expires_at))
        .and_where(Expr::col(User::Id).eq(user_id))
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

async fn insert_identity(conn: &mut Conn<'_>, user_id: UserId, github_id: i64) -> Result<()> {
    let backend = conn.backend();
    let stmt = Query::insert()
        .into_table(VoteboxUserIdentity::Table)
        .columns([
            VoteboxUserIdentity::UserId,
            VoteboxUserIdentity::GithubId,
            VoteboxUserIdentity::CreatedAt,
        ])
        .values_panic([
            user_id.into(),
            github_id.into(),
            ts_value(backend, Some(utc_now())).into(),
        ])
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

async fn delete_identity(conn: &mut Conn<'_>, user_id: UserId) -> Result<()> {
    let stmt = Query::delete()
        .from_table(VoteboxUserIdentity::Table)
        .and_where(Expr::col(VoteboxUserIdentity::UserId).eq(user_id))
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_usernames_fit_and_are_not_logins() {
        assert_eq!(
            retired_username("alice", UserId(7)),
            "alice (renamed, user 7)"
        );
        let long = "x".repeat(300);
        let r = retired_username(&long, UserId(123_456));
        assert_eq!(r.chars().count(), USERNAME_MAX);
        assert!(r.ends_with(" (renamed, user 123456)"));
    }
}
