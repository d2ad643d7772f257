//! Casting, viewing and revoking a secret ballot: the `ballot` and `voter` tables (Elekto §4.6,
//! §4.7, §5.1, §5.3).
//!
//! A vote is N `ballot` rows (one per candidate; rank 1…N or [`NO_OPINION`]) sharing a random
//! *ballot-voter uuid*, plus one `voter` row saying "this user has voted in this election" that
//! carries the uuid only encrypted (`salt`, `ballot_id`). Nothing else links the two.
//!
//! # Double voting
//!
//! Elekto's schema has no UNIQUE (user_id, election_id), and Elekto's own check races. [`cast`]
//! checks and writes in one transaction that first serialises every cast and revoke **of the same
//! user**: `SELECT … FROM "user" WHERE id = ? FOR NO KEY UPDATE` on PostgreSQL (`FOR UPDATE` on
//! MySQL/MariaDB), and `BEGIN IMMEDIATE` (one writer at a time) on SQLite. The "has voted" read
//! comes after that lock, so on PostgreSQL (READ COMMITTED) and on MySQL (REPEATABLE READ, whose
//! snapshot is taken at the first *non-locking* read) it sees a concurrent cast that committed
//! first. The election row is only locked shared (below), so different voters cast in parallel;
//! no locking read touches `voter` or `ballot`, so there are no gap locks to deadlock on. What
//! can still end a cast is the mix's table rebuild on MariaDB (a metadata-lock deadlock, see
//! [`crate::ballot_mixing::flush_files`]): the cast is then run again.
//!
//! # Insertion order (ballot secrecy)
//!
//! Storage remembers the order rows arrived in (cell offsets, heap position, transaction ids),
//! which would pair each vote's ballot rows with its voter row. Every cast and revoke therefore
//! marks its election for [`crate::ballot_mixing`], which re-writes the election's rows in random
//! order shortly after; both take the election row first (casts shared, the mix exclusive). In
//! the meantime: on SQLite every `ballot` row gets a random `rowid` and every `voter` row a random
//! `id`, so `SELECT` without `ORDER BY` is in random order there; InnoDB clusters `ballot` by its
//! random uuid `id`. `voter.created_at` keeps the cast day only ([`cast_day`]).
//!
//! Reads here never depend on storage order: they sort explicitly.

use rand::Rng as _;
use sea_query::{Alias, Expr, ExprTrait, Order, Query, SimpleExpr};

use crate::ballot_mixing::{self, ElectionLock, lock_election};
use crate::login_claims::{self, ClaimKind};
use crate::query::{Conn, Tx, retry_contended, ts_value};
use crate::schema::{Ballot, Voter};
use crate::{Backend, Db, DbError, Result, Timestamp, users, utc_now, voters};
use crate::{ElectionId, UserId, VoterId};

/// The rank Elekto stores for "No opinion" (defined in votebox-core).
pub use votebox_core::ballot::NO_OPINION;

/// What [`cast`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastOutcome {
    /// The ballot rows and the voter row were written.
    Cast,
    /// The user already has a voter row in this election; nothing was written.
    AlreadyVoted,
}

/// What [`revoke`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// The voter row and `ballots` ballot rows were deleted.
    Revoked { ballots: u64 },
    /// The voter row was already gone (a concurrent revoke); nothing was deleted.
    NotVoted,
}

/// A vote to record with [`cast`].
#[derive(Debug, Clone, Copy)]
pub struct NewBallot<'a> {
    pub election_id: ElectionId,
    pub user_id: UserId,
    /// The eligible login the user holds now (one ballot per login: [`crate::login_claims`]).
    pub login: &'a str,
    /// `(candidate, rank)` rows, validated by the caller.
    pub rows: &'a [(String, i32)],
    /// The ballot-voter uuid shared by the ballot rows ([`new_ballot_voter`]).
    pub ballot_voter: &'a str,
    /// `voter.salt`: 16 random bytes of the passphrase KDF ([`NO_PASSPHRASE_SALT`] for a
    /// ballot cast without a passphrase).
    pub salt: &'a [u8],
    /// `voter.ballot_id`: `ballot_voter` sealed under the passphrase-derived key
    /// ([`NO_PASSPHRASE_LINK`] for a ballot cast without a passphrase).
    pub sealed_ballot_voter: &'a [u8],
}

/// `voter.salt` of a ballot cast without a passphrase: all zeros, which a random salt never is
/// (2⁻¹²⁸). Such a ballot has no link to open, so none is stored: its `ballot_id` is
/// [`NO_PASSPHRASE_LINK`], which no passphrase opens (Elekto, after a rollback, answers
/// "Incorrect password" as for any wrong passphrase). Pages can then tell the voter that this
/// ballot cannot be viewed or revoked, and casting it costs no KDF.
pub const NO_PASSPHRASE_SALT: [u8; 16] = [0; 16];
/// `voter.ballot_id` of a ballot cast without a passphrase: 76 zero bytes (the length of a
/// sealed link), which fail the SecretBox authentication under every key.
pub const NO_PASSPHRASE_LINK: [u8; 76] = [0; 76];

/// The encrypted link of a user's vote in one election (`voter` row).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VoterLink {
    /// `voter.id`, to revoke exactly this row.
    pub id: VoterId,
    /// `voter.salt`: 16 bytes; `None` for legacy (schema v1) rows, which can never be opened.
    pub salt: Option<Vec<u8>>,
    /// `voter.ballot_id`: the 76-byte SecretBox of the ballot-voter uuid; `None` for legacy rows.
    pub ballot_id: Option<Vec<u8>>,
    /// `voter.created_at`: the day of the cast ([`cast_day`]; Elekto stored the moment).
    pub created_at: Option<Timestamp>,
}

impl VoterLink {
    /// The ballot was cast without a passphrase ([`NO_PASSPHRASE_SALT`]): nobody can open it.
    pub fn cast_without_passphrase(&self) -> bool {
        self.salt.as_deref() == Some(&NO_PASSPHRASE_SALT[..])
    }
}

/// A new random ballot-voter uuid, as Elekto's `str(uuid.uuid4())`: hyphenated lowercase text.
pub fn new_ballot_voter() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// A new `ballot.id`, as Elekto's `uuid.uuid4().hex`: 32 lowercase hex digits.
fn new_ballot_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Random `voter.id` on SQLite: in `1 ..= 2^30`, so Elekto (which lets SQLite pick `max + 1`)
/// still gets ids that fit votebox's 32-bit reads after a rollback.
const SQLITE_VOTER_ID_MAX: i32 = 1 << 30;

/// A random `voter.id` not in use yet (SQLite only; the caller holds the write lock).
async fn free_sqlite_voter_id(conn: &mut Conn<'_>) -> Result<i32> {
    loop {
        let id = rand::rng().random_range(1..=SQLITE_VOTER_ID_MAX);
        let stmt = Query::select()
            .column(Voter::Id)
            .from(Voter::Table)
            .and_where(Expr::col(Voter::Id).eq(id))
            .to_owned();
        if conn.fetch_optional::<(i32,)>(&stmt).await?.is_none() {
            return Ok(id);
        }
    }
}

/// Records a vote in one transaction: one `ballot` row per `(candidate, rank)` of `rows`, all
/// with `voter = ballot_voter` (a hyphenated uuid from [`new_ballot_voter`]) and a fresh 32-hex
/// `id`, plus one `voter` row `(user_id, election_id, created_at = updated_at = the cast day
/// ([`cast_day`]), salt, ballot_id)`, and marks the election for the next mix
/// ([`crate::ballot_mixing`]).
///
/// Refuses with [`CastOutcome::AlreadyVoted`], writing nothing, when the user already has a voter
/// row in this election or `login` (the eligible login the user holds now) has already been
/// used for a ballot in it by any user row ([`crate::login_claims`]), also when two casts race
/// (see the module docs). The caller validates
/// `rows` (known candidates, ranks in range, one row per candidate). A transaction that lost to
/// a concurrent one is run again ([`retry_contended`]).
pub async fn cast(db: &Db, ballot: &NewBallot<'_>) -> Result<CastOutcome> {
    retry_contended(|| cast_once(db, ballot)).await
}

async fn cast_once(db: &Db, ballot: &NewBallot<'_>) -> Result<CastOutcome> {
    let NewBallot {
        election_id,
        user_id,
        login,
        rows,
        ballot_voter,
        salt,
        sealed_ballot_voter: ballot_id,
    } = *ballot;
    let mut tx: Tx = db.begin().await?;
    let mut conn = tx.conn();
    let backend = conn.backend();
    // The election row first (shared: not while its ballots are being mixed), then the user row.
    if !lock_election(&mut conn, election_id, ElectionLock::Shared).await? {
        return Err(DbError::NotFound {
            table: "election",
            id: election_id.into(),
        });
    }
    if !users::lock(&mut conn, user_id).await? {
        return Err(DbError::NotFound {
            table: "user",
            id: user_id.into(),
        });
    }
    if voters::has_voter_row(&mut conn, user_id, election_id).await?
        || !login_claims::claim(&mut conn, election_id, ClaimKind::Ballot, login, user_id).await?
    {
        return Ok(CastOutcome::AlreadyVoted);
    }

    if !rows.is_empty() {
        let mut insert = Query::insert();
        insert.into_table(Ballot::Table);
        if backend == Backend::Sqlite {
            insert.columns([
                Alias::new("rowid"),
                Alias::new("id"),
                Alias::new("election_id"),
                Alias::new("rank"),
                Alias::new("candidate"),
                Alias::new("voter"),
            ]);
        } else {
            insert.columns([
                Ballot::Id,
                Ballot::ElectionId,
                Ballot::Rank,
                Ballot::Candidate,
                Ballot::Voter,
            ]);
        }
        for (candidate, rank) in rows {
            let mut values: Vec<SimpleExpr> = Vec::with_capacity(6);
            if backend == Backend::Sqlite {
                // 62 bits: collisions are out of reach, and the value stays positive.
                values.push(rand::rng().random_range(1..=(1i64 << 62)).into());
            }
            values.extend([
                new_ballot_id().into(),
                election_id.into(),
                (*rank).into(),
                candidate.as_str().into(),
                ballot_voter.into(),
            ]);
            insert.values_panic(values);
        }
        conn.execute(&insert).await?;
    }

    // Midnight UTC of the cast day: Elekto never reads these, and a precise time would tell in
    // which order people voted.
    let now = Some(cast_day(utc_now()));
    let mut insert = Query::insert();
    insert.into_table(Voter::Table);
    let mut columns = vec![
        Voter::UserId,
        Voter::ElectionId,
        Voter::CreatedAt,
        Voter::UpdatedAt,
        Voter::Salt,
        Voter::BallotId,
    ];
    let mut values: Vec<SimpleExpr> = Vec::with_capacity(7);
    if backend == Backend::Sqlite {
        columns.insert(0, Voter::Id);
        values.push(free_sqlite_voter_id(&mut conn).await?.into());
    }
    insert.columns(columns);
    values.extend([
        user_id.into(),
        election_id.into(),
        ts_value(backend, now).into(),
        ts_value(backend, now).into(),
        salt.to_vec().into(),
        ballot_id.to_vec().into(),
    ]);
    insert.values_panic(values);
    conn.execute(&insert).await?;
    ballot_mixing::mark_pending(&mut conn, election_id).await?;

    tx.commit().await?;
    Ok(CastOutcome::Cast)
}

/// What `voter.created_at`/`updated_at` keep of a cast's time: its day (midnight UTC).
pub fn cast_day(t: Timestamp) -> Timestamp {
    t.date().midnight()
}

/// The user's voter row in this election: `None` if they have not voted. With several rows (a
/// race in Elekto, which has no constraint) the lowest id is returned, as Elekto's `.first()`
/// does in practice.
pub async fn voter_link(
    db: &Db,
    user_id: UserId,
    election_id: ElectionId,
) -> Result<Option<VoterLink>> {
    let stmt = Query::select()
        .columns([Voter::Id, Voter::Salt, Voter::BallotId, Voter::CreatedAt])
        .from(Voter::Table)
        .and_where(Expr::col(Voter::UserId).eq(user_id))
        .and_where(Expr::col(Voter::ElectionId).eq(election_id))
        .order_by(Voter::Id, Order::Asc)
        .limit(1)
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// The `(candidate, rank)` rows of one ballot in this election, sorted by rank (No opinion and
/// NULL last), then candidate.
pub async fn ballot_rows(
    db: &Db,
    election_id: ElectionId,
    ballot_voter: &str,
) -> Result<Vec<(String, Option<i32>)>> {
    let stmt = Query::select()
        .columns([Ballot::Candidate, Ballot::Rank])
        .from(Ballot::Table)
        .and_where(Expr::col(Ballot::ElectionId).eq(election_id))
        .and_where(Expr::col(Ballot::Voter).eq(ballot_voter))
        .to_owned();
    let mut rows: Vec<(String, Option<i32>)> = db.fetch_all(&stmt).await?;
    rows.sort_by(|a, b| (a.1.unwrap_or(i32::MAX), &a.0).cmp(&(b.1.unwrap_or(i32::MAX), &b.0)));
    Ok(rows)
}

/// Deletes one vote in one transaction: every `ballot` row of this election with
/// `voter = ballot_voter`, and the voter row `voter_row_id` of this user and election (run
/// again when it lost to a concurrent transaction: [`retry_contended`]).
pub async fn revoke(
    db: &Db,
    election_id: ElectionId,
    user_id: UserId,
    voter_row_id: VoterId,
    ballot_voter: &str,
) -> Result<RevokeOutcome> {
    retry_contended(|| revoke_once(db, election_id, user_id, voter_row_id, ballot_voter)).await
}

async fn revoke_once(
    db: &Db,
    election_id: ElectionId,
    user_id: UserId,
    voter_row_id: VoterId,
    ballot_voter: &str,
) -> Result<RevokeOutcome> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    if !lock_election(&mut conn, election_id, ElectionLock::Shared).await?
        || !users::lock(&mut conn, user_id).await?
    {
        return Ok(RevokeOutcome::NotVoted);
    }
    let stmt = Query::delete()
        .from_table(Voter::Table)
        .and_where(Expr::col(Voter::Id).eq(voter_row_id))
        .and_where(Expr::col(Voter::UserId).eq(user_id))
        .and_where(Expr::col(Voter::ElectionId).eq(election_id))
        .to_owned();
    if conn.execute(&stmt).await?.rows_affected == 0 {
        return Ok(RevokeOutcome::NotVoted);
    }
    login_claims::release(&mut conn, election_id, ClaimKind::Ballot, user_id).await?;
    let stmt = Query::delete()
        .from_table(Ballot::Table)
        .and_where(Expr::col(Ballot::ElectionId).eq(election_id))
        .and_where(Expr::col(Ballot::Voter).eq(ballot_voter))
        .to_owned();
    let ballots = conn.execute(&stmt).await?.rows_affected;
    // The deleted rows leave gaps where they were stored: mix the election again.
    ballot_mixing::mark_pending(&mut conn, election_id).await?;
    tx.commit().await?;
    Ok(RevokeOutcome::Revoked { ballots })
}

/// Every `ballot` row of an election as `(voter, candidate, rank)`, sorted by (voter,
/// candidate) bytewise, never in storage order.
pub async fn all_for_election(
    db: &Db,
    election_id: ElectionId,
) -> Result<Vec<(String, String, Option<i32>)>> {
    let stmt = Query::select()
        .columns([Ballot::Voter, Ballot::Candidate, Ballot::Rank])
        .from(Ballot::Table)
        .and_where(Expr::col(Ballot::ElectionId).eq(election_id))
        .to_owned();
    let mut rows: Vec<(String, String, Option<i32>)> = db.fetch_all(&stmt).await?;
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(rows)
}
