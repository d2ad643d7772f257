//! The `user` table (GitHub accounts).

use sea_query::{Expr, ExprTrait, Func, LockType, Order, Query, SelectStatement};

use crate::UserId;
use crate::query::{Conn, retry_after_insert_race, ts_value};
use crate::schema::User;
use crate::{Backend, Db, DbError, Result, Timestamp, utc_now};

/// What a login tells about the account: its login and, from GitHub, name and OAuth token.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginDetails<'a> {
    pub login: &'a str,
    pub name: Option<&'a str>,
    pub token: Option<&'a str>,
    pub token_expires_at: Option<Timestamp>,
}

impl<'a> LoginDetails<'a> {
    /// Just the login (no name, no token).
    pub fn login(login: &'a str) -> Self {
        LoginDetails {
            login,
            ..LoginDetails::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub username: Option<String>,
    pub name: Option<String>,
    pub token: Option<String>,
    pub token_expires_at: Option<Timestamp>,
    pub created_at: Option<Timestamp>,
}

pub(crate) fn select_users() -> SelectStatement {
    Query::select()
        .columns([
            User::Id,
            User::Username,
            User::Name,
            User::Token,
            User::TokenExpiresAt,
            User::CreatedAt,
        ])
        .from(User::Table)
        .to_owned()
}

/// Finds the user by login, case-insensitively (Elekto #84); inserts it if missing.
/// On insert sets `name`; on update sets `token`/`token_expires_at` only (as Elekto).
///
/// The lookup is `LOWER(username) = LOWER(login)`. PostgreSQL and SQLite databases written by
/// Elekto may hold two rows that differ only in case; then the exact match wins, else the oldest
/// row. The stored `username` keeps the case of the first login. On insert `created_at` and
/// `updated_at` are now (UTC); on update `updated_at` is left alone, as Elekto does. Two first
/// logins at once are safe: the loser of the insert race retries and updates the winner's row.
pub async fn upsert_login(db: &Db, details: &LoginDetails<'_>) -> Result<UserRow> {
    let LoginDetails {
        login,
        name,
        token,
        token_expires_at,
    } = *details;
    retry_after_insert_race(|| upsert_once(db, login, name, token, token_expires_at)).await
}

async fn upsert_once(
    db: &Db,
    login: &str,
    name: Option<&str>,
    token: Option<&str>,
    token_expires_at: Option<Timestamp>,
) -> Result<UserRow> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let backend = conn.backend();

    let lookup = select_users()
        .and_where(Expr::expr(Func::lower(Expr::col(User::Username))).eq(Func::lower(login)))
        .order_by_expr(Expr::col(User::Username).eq(login), Order::Desc)
        .order_by(User::Id, Order::Asc)
        .limit(1)
        .to_owned();
    let id = match conn.fetch_optional::<UserRow>(&lookup).await? {
        Some(existing) => {
            let stmt = Query::update()
                .table(User::Table)
                .value(User::Token, token)
                .value(User::TokenExpiresAt, ts_value(backend, token_expires_at))
                .and_where(Expr::col(User::Id).eq(existing.id))
                .to_owned();
            conn.execute(&stmt).await?;
            existing.id
        }
        None => {
            let id = insert(&mut conn, login, name, token, token_expires_at).await?;
            tracing::info!(login, %id, "new user");
            id
        }
    };
    let row = get_in(&mut conn, id).await?;
    tx.commit().await?;
    Ok(row)
}

/// Inserts a `user` row as Elekto does (created/updated now); returns its id.
pub(crate) async fn insert(
    conn: &mut Conn<'_>,
    login: &str,
    name: Option<&str>,
    token: Option<&str>,
    token_expires_at: Option<Timestamp>,
) -> Result<UserId> {
    let backend = conn.backend();
    let now = Some(utc_now());
    let stmt = Query::insert()
        .into_table(User::Table)
        .columns([
            User::Username,
            User::Name,
            User::Token,
            User::TokenExpiresAt,
            User::CreatedAt,
            User::UpdatedAt,
        ])
        .values_panic([
            login.into(),
            name.into(),
            token.into(),
            ts_value(backend, token_expires_at).into(),
            ts_value(backend, now).into(),
            ts_value(backend, now).into(),
        ])
        .to_owned();
    conn.insert_id(&stmt).await.map(UserId)
}

pub async fn find_by_id(db: &Db, id: UserId) -> Result<Option<UserRow>> {
    find_by_id_in(&mut db.acquire().await?.conn(), id).await
}

/// The user row `id`, which the caller's transaction has just written or locked.
pub(crate) async fn get_in(conn: &mut Conn<'_>, id: UserId) -> Result<UserRow> {
    find_by_id_in(conn, id).await?.ok_or(DbError::NotFound {
        table: "user",
        id: id.into(),
    })
}

pub(crate) async fn find_by_id_in(conn: &mut Conn<'_>, id: UserId) -> Result<Option<UserRow>> {
    let stmt = select_users()
        .and_where(Expr::col(User::Id).eq(id))
        .to_owned();
    conn.fetch_optional(&stmt).await
}

/// Logout: token and token_expires_at set to NULL.
pub async fn clear_token(db: &Db, id: UserId) -> Result<()> {
    let stmt = Query::update()
        .table(User::Table)
        .value(User::Token, None::<String>)
        .value(User::TokenExpiresAt, ts_value(db.backend(), None))
        .and_where(Expr::col(User::Id).eq(id))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Locks the user row until the transaction ends, serialising one user's writers (a cast, a
/// revoke, an exception request). No-op on SQLite, whose `BEGIN IMMEDIATE` already holds the
/// database's write lock. `Ok(false)`: no such user.
pub(crate) async fn lock(conn: &mut Conn<'_>, user_id: UserId) -> Result<bool> {
    let lock = match conn.backend() {
        Backend::Sqlite => return Ok(true),
        Backend::Postgres => LockType::NoKeyUpdate,
        Backend::MySql => LockType::Update,
    };
    let stmt = Query::select()
        .column(User::Id)
        .from(User::Table)
        .and_where(Expr::col(User::Id).eq(user_id))
        .lock(lock)
        .to_owned();
    Ok(conn.fetch_optional::<(i32,)>(&stmt).await?.is_some())
}
