//! The `request` table: voter exception requests (Elekto §4.8, §4.9).
//!
//! Every read that an officer page makes is scoped to one election ([`get_in_election`],
//! [`toggle_reviewed`]); Elekto looked requests up by id alone, so an officer of one election could
//! read and toggle every other election's requests.

use sea_query::{Expr, ExprTrait, LockType, Order, Query};

use crate::login_claims::{self, ClaimKind};
use crate::query::{retry_contended, ts_value};
use crate::schema::{Request, User};
use crate::{Backend, Db, DbError, Result, Timestamp, users, utc_now};
use crate::{ElectionId, RequestId, UserId};

/// One exception request, with the requester's login.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RequestRow {
    pub id: RequestId,
    pub user_id: Option<UserId>,
    pub election_id: Option<ElectionId>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub chat: Option<String>,
    pub description: Option<String>,
    pub comments: Option<String>,
    /// NULL (never written by Elekto or votebox) reads as not reviewed.
    pub reviewed: Option<bool>,
    pub created_at: Option<Timestamp>,
    /// `user.username` of the requester (`None` if the user row is gone).
    pub username: Option<String>,
}

impl RequestRow {
    pub fn is_reviewed(&self) -> bool {
        self.reviewed.unwrap_or(false)
    }
}

/// The fields of the exception form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub chat: &'a str,
    pub description: &'a str,
    pub comments: &'a str,
}

/// What [`create`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Inserted, with this id.
    Created(RequestId),
    /// The user already has a request in this election; nothing was written.
    AlreadyRequested,
}

fn select_requests() -> sea_query::SelectStatement {
    Query::select()
        .columns([
            (Request::Table, Request::Id),
            (Request::Table, Request::UserId),
            (Request::Table, Request::ElectionId),
            (Request::Table, Request::Name),
            (Request::Table, Request::Email),
            (Request::Table, Request::Chat),
            (Request::Table, Request::Description),
            (Request::Table, Request::Comments),
            (Request::Table, Request::Reviewed),
            (Request::Table, Request::CreatedAt),
        ])
        .column((User::Table, User::Username))
        .from(Request::Table)
        .left_join(
            User::Table,
            Expr::col((User::Table, User::Id)).equals((Request::Table, Request::UserId)),
        )
        .to_owned()
}

/// The user's request in this election, if any (Elekto ≥ 0.6.2 scopes the check per election).
pub async fn find_for(
    db: &Db,
    user_id: UserId,
    election_id: ElectionId,
) -> Result<Option<RequestRow>> {
    let stmt = select_requests()
        .and_where(Expr::col((Request::Table, Request::UserId)).eq(user_id))
        .and_where(Expr::col((Request::Table, Request::ElectionId)).eq(election_id))
        .order_by((Request::Table, Request::Id), Order::Asc)
        .limit(1)
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Whether the user, now signed in as `login`, has filed a request in this election: their own
/// request row, or one filed under the same login by another user row (a GitHub account that
/// held the login before; see [`crate::login_claims`]).
pub async fn has_requested(
    db: &Db,
    user_id: UserId,
    login: &str,
    election_id: ElectionId,
) -> Result<bool> {
    if find_for(db, user_id, election_id).await?.is_some() {
        return Ok(true);
    }
    let mut pooled = db.acquire().await?;
    login_claims::is_used(&mut pooled.conn(), election_id, ClaimKind::Request, login).await
}

/// Inserts a request (`reviewed = false`, `created_at = updated_at = now`) unless the user
/// already has one in this election or `login` was already used for a request in it by any user
/// row ([`crate::login_claims`]). Check and insert are one transaction, serialised per user
/// (like [`crate::ballots::cast`]), so a double submit cannot create two; run again when it lost
/// to a concurrent transaction ([`retry_contended`]).
pub async fn create(
    db: &Db,
    user_id: UserId,
    login: &str,
    election_id: ElectionId,
    form: &NewRequest<'_>,
) -> Result<CreateOutcome> {
    retry_contended(|| create_once(db, user_id, login, election_id, form)).await
}

async fn create_once(
    db: &Db,
    user_id: UserId,
    login: &str,
    election_id: ElectionId,
    form: &NewRequest<'_>,
) -> Result<CreateOutcome> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let backend = conn.backend();
    if !users::lock(&mut conn, user_id).await? {
        return Err(DbError::NotFound {
            table: "user",
            id: user_id.into(),
        });
    }
    let stmt = Query::select()
        .column(Request::Id)
        .from(Request::Table)
        .and_where(Expr::col(Request::UserId).eq(user_id))
        .and_where(Expr::col(Request::ElectionId).eq(election_id))
        .limit(1)
        .to_owned();
    if conn.fetch_optional::<(i32,)>(&stmt).await?.is_some()
        || !login_claims::claim(&mut conn, election_id, ClaimKind::Request, login, user_id).await?
    {
        return Ok(CreateOutcome::AlreadyRequested);
    }
    let now = Some(utc_now());
    let stmt = Query::insert()
        .into_table(Request::Table)
        .columns([
            Request::UserId,
            Request::ElectionId,
            Request::Name,
            Request::Email,
            Request::Chat,
            Request::Description,
            Request::Comments,
            Request::Reviewed,
            Request::CreatedAt,
            Request::UpdatedAt,
        ])
        .values_panic([
            user_id.into(),
            election_id.into(),
            form.name.into(),
            form.email.into(),
            form.chat.into(),
            form.description.into(),
            form.comments.into(),
            false.into(),
            ts_value(backend, now).into(),
            ts_value(backend, now).into(),
        ])
        .to_owned();
    let id = RequestId(conn.insert_id(&stmt).await?);
    tx.commit().await?;
    Ok(CreateOutcome::Created(id))
}

/// Every request of an election, oldest first (Elekto shows them in database order).
pub async fn list_for_election(db: &Db, election_id: ElectionId) -> Result<Vec<RequestRow>> {
    let stmt = select_requests()
        .and_where(Expr::col((Request::Table, Request::ElectionId)).eq(election_id))
        .order_by((Request::Table, Request::Id), Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// Request `rid` if it belongs to election `election_id`; `None` otherwise (also when it exists
/// in another election).
pub async fn get_in_election(
    db: &Db,
    election_id: ElectionId,
    rid: RequestId,
) -> Result<Option<RequestRow>> {
    let stmt = select_requests()
        .and_where(Expr::col((Request::Table, Request::Id)).eq(rid))
        .and_where(Expr::col((Request::Table, Request::ElectionId)).eq(election_id))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Flips `reviewed` of request `rid` in election `election_id` (NULL counts as false) and returns
/// the new value; `None` if there is no such request in that election. `updated_at` is left
/// alone, as Elekto does.
pub async fn toggle_reviewed(
    db: &Db,
    election_id: ElectionId,
    rid: RequestId,
) -> Result<Option<bool>> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let mut stmt = Query::select()
        .column(Request::Reviewed)
        .from(Request::Table)
        .and_where(Expr::col(Request::Id).eq(rid))
        .and_where(Expr::col(Request::ElectionId).eq(election_id))
        .to_owned();
    if conn.backend() != Backend::Sqlite {
        stmt.lock(LockType::Update);
    }
    let Some((reviewed,)) = conn.fetch_optional::<(Option<bool>,)>(&stmt).await? else {
        return Ok(None);
    };
    let new = !reviewed.unwrap_or(false);
    let stmt = Query::update()
        .table(Request::Table)
        .value(Request::Reviewed, new)
        .and_where(Expr::col(Request::Id).eq(rid))
        .to_owned();
    conn.execute(&stmt).await?;
    tx.commit().await?;
    Ok(Some(new))
}
