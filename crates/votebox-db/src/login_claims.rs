//! One ballot and one exception request per eligible **login** (migration 0004).
//!
//! Eligibility is decided by login (`voters.yaml`), but `voter` and `request` rows point at a
//! user row, and a user row follows a GitHub account (see [`crate::identity`]): when account A
//! votes as `dave`, renames itself to `dave2`, and account B then signs in as `dave`, B gets a
//! user row of its own that has never voted. So every cast and every exception request also
//! *claims* its login in `votebox_login_claim`, whose primary key (election, kind, login) lets a
//! login be used once, whichever account holds it, across instances and concurrent requests.
//!
//! A login also counts as used when a row of a user whose `username` is that login exists
//! (rows written by Elekto, e.g. during a rollback, have no claim), and when identity matching
//! is about to change a user row's `username`, the rows it holds are claimed under the old
//! login first ([`keep_on_rename`]).
//!
//! Logins compare case-insensitively (GitHub's rule): claims store them lowercase.

use sea_query::{Expr, ExprTrait, Func, IntoColumnRef, IntoIden, Query, SelectStatement};

use crate::query::{Conn, is_unique_violation};
use crate::schema::{Request, User, VoteboxLoginClaim, Voter};
use crate::{DbError, Result};
use crate::{ElectionId, UserId};

/// What a login was used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClaimKind {
    /// A cast ballot (released again when it is revoked).
    Ballot,
    /// An exception request.
    Request,
}

impl ClaimKind {
    fn as_str(self) -> &'static str {
        match self {
            ClaimKind::Ballot => "ballot",
            ClaimKind::Request => "request",
        }
    }
}

/// The stored form of a login: lowercase.
pub(crate) fn normalize(login: &str) -> String {
    login.to_lowercase()
}

/// Whether `login` has been used for `kind` in this election: by a claim, or by a `voter` /
/// `request` row of a user row whose `username` is that login (case-insensitively).
pub(crate) async fn is_used(
    conn: &mut Conn<'_>,
    election_id: ElectionId,
    kind: ClaimKind,
    login: &str,
) -> Result<bool> {
    let [mut claim, mut by_username] = used_by(Expr::val(election_id), kind, login);
    claim.column(VoteboxLoginClaim::UserId);
    if conn.fetch_optional::<(i32,)>(&claim).await?.is_some() {
        return Ok(true);
    }
    by_username.column((User::Table, User::Id)).limit(1);
    Ok(conn.fetch_optional::<(i32,)>(&by_username).await?.is_some())
}

/// The two selections (without columns) whose rows say that `login` was used for `kind` in the
/// election `election_id` (a value, or a column of an enclosing query): its claims, and the
/// `voter` / `request` rows of user rows whose `username` is that login.
pub(crate) fn used_by(election_id: Expr, kind: ClaimKind, login: &str) -> [SelectStatement; 2] {
    let login = normalize(login);
    let claim = Query::select()
        .from(VoteboxLoginClaim::Table)
        .and_where(
            Expr::col((VoteboxLoginClaim::Table, VoteboxLoginClaim::ElectionId))
                .eq(election_id.clone()),
        )
        .and_where(Expr::col((VoteboxLoginClaim::Table, VoteboxLoginClaim::Kind)).eq(kind.as_str()))
        .and_where(
            Expr::col((VoteboxLoginClaim::Table, VoteboxLoginClaim::Login)).eq(login.as_str()),
        )
        .to_owned();
    let (table, user_id, row_election) = match kind {
        ClaimKind::Ballot => (
            Voter::Table.into_iden(),
            (Voter::Table, Voter::UserId).into_column_ref(),
            (Voter::Table, Voter::ElectionId).into_column_ref(),
        ),
        ClaimKind::Request => (
            Request::Table.into_iden(),
            (Request::Table, Request::UserId).into_column_ref(),
            (Request::Table, Request::ElectionId).into_column_ref(),
        ),
    };
    let by_username = Query::select()
        .from(table)
        .inner_join(
            User::Table,
            Expr::col((User::Table, User::Id)).equals(user_id),
        )
        .and_where(Expr::col(row_election).eq(election_id))
        .and_where(Expr::expr(Func::lower(Expr::col((User::Table, User::Username)))).eq(login))
        .to_owned();
    [claim, by_username]
}

/// Claims `login` for `kind` in this election on behalf of `user_id`. `Ok(false)`: it was
/// already claimed (also when another transaction claimed it first: the primary key decides).
/// Call inside the transaction that writes the ballot or request; on `Ok(false)` roll it back.
pub(crate) async fn claim(
    conn: &mut Conn<'_>,
    election_id: ElectionId,
    kind: ClaimKind,
    login: &str,
    user_id: UserId,
) -> Result<bool> {
    if is_used(conn, election_id, kind, login).await? {
        return Ok(false);
    }
    match insert(conn, election_id, kind, &normalize(login), user_id).await {
        Ok(()) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn insert(
    conn: &mut Conn<'_>,
    election_id: ElectionId,
    kind: ClaimKind,
    login: &str,
    user_id: UserId,
) -> Result<(), DbError> {
    let stmt = Query::insert()
        .into_table(VoteboxLoginClaim::Table)
        .columns([
            VoteboxLoginClaim::ElectionId,
            VoteboxLoginClaim::Kind,
            VoteboxLoginClaim::Login,
            VoteboxLoginClaim::UserId,
        ])
        .values_panic([
            election_id.into(),
            kind.as_str().into(),
            login.into(),
            user_id.into(),
        ])
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

/// Releases the claims of `kind` that `user_id` holds in this election (a revoked ballot: the
/// login may vote again).
pub(crate) async fn release(
    conn: &mut Conn<'_>,
    election_id: ElectionId,
    kind: ClaimKind,
    user_id: UserId,
) -> Result<()> {
    let stmt = Query::delete()
        .from_table(VoteboxLoginClaim::Table)
        .and_where(Expr::col(VoteboxLoginClaim::ElectionId).eq(election_id))
        .and_where(Expr::col(VoteboxLoginClaim::Kind).eq(kind.as_str()))
        .and_where(Expr::col(VoteboxLoginClaim::UserId).eq(user_id))
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

/// Before a user row's `username` changes from `old_login`: claims `old_login` for every
/// election in which the row has a ballot or a request and the login is not claimed yet, so the
/// next holder of the login cannot use it again.
pub(crate) async fn keep_on_rename(
    conn: &mut Conn<'_>,
    user_id: UserId,
    old_login: &str,
) -> Result<()> {
    for (kind, table, row_user, row_election) in [
        (
            ClaimKind::Ballot,
            Voter::Table.into_iden(),
            Voter::UserId.into_iden(),
            Voter::ElectionId.into_iden(),
        ),
        (
            ClaimKind::Request,
            Request::Table.into_iden(),
            Request::UserId.into_iden(),
            Request::ElectionId.into_iden(),
        ),
    ] {
        let stmt = Query::select()
            .distinct()
            .column(row_election.clone())
            .from(table)
            .and_where(Expr::col(row_user).eq(user_id))
            .and_where(Expr::col(row_election).is_not_null())
            .to_owned();
        let elections: Vec<(ElectionId,)> = conn.fetch_all(&stmt).await?;
        for (election_id,) in elections {
            let taken = Query::select()
                .column(VoteboxLoginClaim::UserId)
                .from(VoteboxLoginClaim::Table)
                .and_where(Expr::col(VoteboxLoginClaim::ElectionId).eq(election_id))
                .and_where(Expr::col(VoteboxLoginClaim::Kind).eq(kind.as_str()))
                .and_where(Expr::col(VoteboxLoginClaim::Login).eq(normalize(old_login)))
                .to_owned();
            if conn.fetch_optional::<(i32,)>(&taken).await?.is_none() {
                insert(conn, election_id, kind, &normalize(old_login), user_id).await?;
            }
        }
    }
    Ok(())
}
