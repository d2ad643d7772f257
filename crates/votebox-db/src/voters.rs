//! The `voter` table: "this user has voted in this election".
//!
//! There is no UNIQUE (user_id, election_id) in Elekto's schema; "has voted" means "at least one
//! row".

use sea_query::{Asterisk, Expr, ExprTrait, Query, SelectStatement};

use crate::login_claims::{self, ClaimKind};
use crate::query::Conn;
use crate::schema::{Election, Voter};
use crate::{Db, Result};
use crate::{ElectionId, UserId};

/// Whether the user, now signed in as `login`, counts as having voted in this election: the
/// user row has a voter row, or the login was already used for a ballot by any user row (a
/// GitHub account that held it before; see [`crate::login_claims`]).
pub async fn has_voted(
    db: &Db,
    user_id: UserId,
    login: &str,
    election_id: ElectionId,
) -> Result<bool> {
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    if has_voter_row(&mut conn, user_id, election_id).await? {
        return Ok(true);
    }
    login_claims::is_used(&mut conn, election_id, ClaimKind::Ballot, login).await
}

/// The row id of the election `key` and whether the user, signed in as `login`, counts as
/// having voted in it (as [`has_voted`]), read in one statement: the election page asks this on
/// every request, so it costs one indexed round trip and nothing is cached (a ballot cast or
/// revoked through any instance shows at once). `None`: no row has exactly this key.
pub async fn election_and_voted(
    db: &Db,
    key: &str,
    user_id: UserId,
    login: &str,
) -> Result<Option<(ElectionId, bool)>> {
    let election = Expr::col((Election::Table, Election::Id));
    let count = |mut select: SelectStatement| -> Expr {
        select.expr(Expr::col(Asterisk).count());
        select.into()
    };
    let voter_rows = Query::select()
        .from(Voter::Table)
        .and_where(Expr::col((Voter::Table, Voter::UserId)).eq(user_id))
        .and_where(Expr::col((Voter::Table, Voter::ElectionId)).eq(election.clone()))
        .to_owned();
    let [claims, by_username] = login_claims::used_by(election, ClaimKind::Ballot, login);
    let stmt = Query::select()
        .columns([Election::Id, Election::Key])
        .expr(count(voter_rows))
        .expr(count(claims))
        .expr(count(by_username))
        .from(Election::Table)
        .and_where(Expr::col((Election::Table, Election::Key)).eq(key))
        .to_owned();
    let rows: Vec<(ElectionId, String, i64, i64, i64)> = db.fetch_all(&stmt).await?;
    // Exactly this key: MySQL's collation compares case-insensitively.
    Ok(rows
        .into_iter()
        .find(|r| r.1 == key)
        .map(|(id, _, voters, claims, by_username)| (id, voters + claims + by_username > 0)))
}

/// Keys of the elections in which this user has a voter row ("Previously Voted").
///
/// Each key once, sorted bytewise. Voter rows whose election no longer exists (orphans left by Elekto on
/// SQLite) are ignored.
pub async fn voted_election_keys(db: &Db, user_id: UserId) -> Result<Vec<String>> {
    let stmt = Query::select()
        .distinct()
        .column((Election::Table, Election::Key))
        .from(Voter::Table)
        .inner_join(
            Election::Table,
            Expr::col((Election::Table, Election::Id)).equals((Voter::Table, Voter::ElectionId)),
        )
        .and_where(Expr::col((Voter::Table, Voter::UserId)).eq(user_id))
        .to_owned();
    let rows: Vec<(String,)> = db.fetch_all(&stmt).await?;
    // Sorted here, bytewise: the engines' collations disagree about punctuation and case.
    let mut keys: Vec<String> = rows.into_iter().map(|(k,)| k).collect();
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// Number of voter rows for an election (the officer dashboard's "voter's count").
pub async fn count(db: &Db, election_id: ElectionId) -> Result<i64> {
    let stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from(Voter::Table)
        .and_where(Expr::col(Voter::ElectionId).eq(election_id))
        .to_owned();
    let (n,): (i64,) = db.fetch_one(&stmt).await?;
    Ok(n)
}

/// Whether the user row has a voter row in the election.
pub(crate) async fn has_voter_row(
    conn: &mut Conn<'_>,
    user_id: UserId,
    election_id: ElectionId,
) -> Result<bool> {
    let stmt = Query::select()
        .column(Voter::Id)
        .from(Voter::Table)
        .and_where(Expr::col(Voter::UserId).eq(user_id))
        .and_where(Expr::col(Voter::ElectionId).eq(election_id))
        .limit(1)
        .to_owned();
    Ok(conn.fetch_optional::<(i32,)>(&stmt).await?.is_some())
}
