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
//! first. Locking the user row rather than the election row lets different voters cast in
//! parallel; no locking read touches `voter` or `ballot`, so there are no gap locks to deadlock on.
//!
//! # Insertion order (ballot secrecy)
//!
//! `voter.created_at` records when someone voted (Elekto's schema). If the physical order of
//! `ballot` rows followed insertion order, sorting both would pair ballots with voters. So:
//! - **SQLite**: every `ballot` row gets an explicit random `rowid` (the table is a rowid table;
//!   its `id` is a separate CHAR(32) key), and every `voter` row a random `id` (an alias of the
//!   rowid), so neither table's B-tree order follows time. `SELECT` without `ORDER BY` returns
//!   rowid order, i.e. random order.
//! - **MySQL/MariaDB** (InnoDB): rows are clustered by primary key; `ballot.id` is a random uuid,
//!   so the clustered order is random. `voter.id` is AUTO_INCREMENT (ordered like `created_at`,
//!   which reveals the same thing).
//! - **PostgreSQL**: heap order (`ctid`) follows insertion order and cannot be chosen by the
//!   writer, and every row's `xmin` names its inserting transaction (the same for a vote's ballot
//!   rows and voter row); see `docs/security.md` for what that leaks and how to scrub it.
//!
//! Reads here never depend on storage order: they sort explicitly.

use rand::Rng as _;
use sea_query::{Alias, Expr, ExprTrait, Iden, LockType, Order, Query, SimpleExpr};

use crate::login_claims::{self, ClaimKind};
use crate::query::{Conn, Tx, ts_value};
use crate::{Backend, Db, Result, utc_now};

/// The rank Elekto stores for "No opinion" (defined in votebox-core).
pub use votebox_core::ballot::NO_OPINION;

#[derive(Iden, Clone, Copy)]
enum BallotCol {
    #[iden = "ballot"]
    Table,
    Id,
    ElectionId,
    Rank,
    Candidate,
    Voter,
}

#[derive(Iden, Clone, Copy)]
enum VoterCol {
    #[iden = "voter"]
    Table,
    Id,
    UserId,
    ElectionId,
    CreatedAt,
    UpdatedAt,
    Salt,
    BallotId,
}

#[derive(Iden, Clone, Copy)]
enum UserCol {
    #[iden = "user"]
    Table,
    Id,
}

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

/// The encrypted link of a user's vote in one election (`voter` row).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VoterLink {
    /// `voter.id`, to revoke exactly this row.
    pub id: i32,
    /// `voter.salt`: 16 bytes; `None` for legacy (schema v1) rows, which can never be opened.
    pub salt: Option<Vec<u8>>,
    /// `voter.ballot_id`: the 76-byte SecretBox of the ballot-voter uuid; `None` for legacy rows.
    pub ballot_id: Option<Vec<u8>>,
}

/// A new random ballot-voter uuid, as Elekto's `str(uuid.uuid4())`: hyphenated lowercase text.
pub fn new_ballot_voter() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// A new `ballot.id`, as Elekto's `uuid.uuid4().hex`: 32 lowercase hex digits.
fn new_ballot_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Serialises writers of one user's votes (see the module docs). No-op on SQLite, whose
/// `BEGIN IMMEDIATE` already holds the database's write lock. `Ok(false)`: no such user.
async fn lock_user(conn: &mut Conn<'_>, user_id: i32) -> Result<bool> {
    let lock = match conn.backend() {
        Backend::Sqlite => return Ok(true),
        Backend::Postgres => LockType::NoKeyUpdate,
        Backend::MySql => LockType::Update,
    };
    let stmt = Query::select()
        .column(UserCol::Id)
        .from(UserCol::Table)
        .and_where(Expr::col(UserCol::Id).eq(user_id))
        .lock(lock)
        .to_owned();
    Ok(conn.fetch_optional::<(i32,)>(&stmt).await?.is_some())
}

async fn has_voter_row(conn: &mut Conn<'_>, user_id: i32, election_id: i32) -> Result<bool> {
    let stmt = Query::select()
        .column(VoterCol::Id)
        .from(VoterCol::Table)
        .and_where(Expr::col(VoterCol::UserId).eq(user_id))
        .and_where(Expr::col(VoterCol::ElectionId).eq(election_id))
        .limit(1)
        .to_owned();
    Ok(conn.fetch_optional::<(i32,)>(&stmt).await?.is_some())
}

/// Random `voter.id` on SQLite: in `1 ..= 2^30`, so Elekto (which lets SQLite pick `max + 1`)
/// still gets ids that fit votebox's 32-bit reads after a rollback.
const SQLITE_VOTER_ID_MAX: i32 = 1 << 30;

/// A random `voter.id` not in use yet (SQLite only; the caller holds the write lock).
async fn free_sqlite_voter_id(conn: &mut Conn<'_>) -> Result<i32> {
    loop {
        let id = rand::rng().random_range(1..=SQLITE_VOTER_ID_MAX);
        let stmt = Query::select()
            .column(VoterCol::Id)
            .from(VoterCol::Table)
            .and_where(Expr::col(VoterCol::Id).eq(id))
            .to_owned();
        if conn.fetch_optional::<(i32,)>(&stmt).await?.is_none() {
            return Ok(id);
        }
    }
}

/// Records a vote in one transaction: one `ballot` row per `(candidate, rank)` of `rows`, all
/// with `voter = ballot_voter` (a hyphenated uuid from [`new_ballot_voter`]) and a fresh 32-hex
/// `id`, plus one `voter` row `(user_id, election_id, created_at = updated_at = now, salt,
/// ballot_id)`.
///
/// Refuses with [`CastOutcome::AlreadyVoted`], writing nothing, when the user already has a voter
/// row in this election or `login` (the eligible login the user holds now) has already been
/// used for a ballot in it by any user row ([`crate::login_claims`]), also when two casts race
/// (see the module docs). The caller validates
/// `rows` (known candidates, ranks in range, one row per candidate).
#[allow(clippy::too_many_arguments)]
pub async fn cast(
    db: &Db,
    election_id: i32,
    user_id: i32,
    login: &str,
    rows: &[(String, i32)],
    ballot_voter: &str,
    salt: &[u8],
    ballot_id: &[u8],
) -> Result<CastOutcome> {
    let mut tx: Tx = db.begin().await?;
    let mut conn = tx.conn();
    let backend = conn.backend();
    if !lock_user(&mut conn, user_id).await? {
        return Err(sqlx::Error::RowNotFound.into());
    }
    if has_voter_row(&mut conn, user_id, election_id).await?
        || !login_claims::claim(&mut conn, election_id, ClaimKind::Ballot, login, user_id).await?
    {
        return Ok(CastOutcome::AlreadyVoted);
    }

    if !rows.is_empty() {
        let mut insert = Query::insert();
        insert.into_table(BallotCol::Table);
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
                BallotCol::Id,
                BallotCol::ElectionId,
                BallotCol::Rank,
                BallotCol::Candidate,
                BallotCol::Voter,
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

    let now = Some(utc_now());
    let mut insert = Query::insert();
    insert.into_table(VoterCol::Table);
    let mut columns = vec![
        VoterCol::UserId,
        VoterCol::ElectionId,
        VoterCol::CreatedAt,
        VoterCol::UpdatedAt,
        VoterCol::Salt,
        VoterCol::BallotId,
    ];
    let mut values: Vec<SimpleExpr> = Vec::with_capacity(7);
    if backend == Backend::Sqlite {
        columns.insert(0, VoterCol::Id);
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

    tx.commit().await?;
    Ok(CastOutcome::Cast)
}

/// The user's voter row in this election: `None` if they have not voted. With several rows (a
/// race in Elekto, which has no constraint) the lowest id is returned, as Elekto's `.first()`
/// does in practice.
pub async fn voter_link(db: &Db, user_id: i32, election_id: i32) -> Result<Option<VoterLink>> {
    let stmt = Query::select()
        .columns([VoterCol::Id, VoterCol::Salt, VoterCol::BallotId])
        .from(VoterCol::Table)
        .and_where(Expr::col(VoterCol::UserId).eq(user_id))
        .and_where(Expr::col(VoterCol::ElectionId).eq(election_id))
        .order_by(VoterCol::Id, Order::Asc)
        .limit(1)
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// The `(candidate, rank)` rows of one ballot in this election, sorted by rank (No opinion and
/// NULL last), then candidate.
pub async fn ballot_rows(
    db: &Db,
    election_id: i32,
    ballot_voter: &str,
) -> Result<Vec<(String, Option<i32>)>> {
    let stmt = Query::select()
        .columns([BallotCol::Candidate, BallotCol::Rank])
        .from(BallotCol::Table)
        .and_where(Expr::col(BallotCol::ElectionId).eq(election_id))
        .and_where(Expr::col(BallotCol::Voter).eq(ballot_voter))
        .to_owned();
    let mut rows: Vec<(String, Option<i32>)> = db.fetch_all(&stmt).await?;
    rows.sort_by(|a, b| (a.1.unwrap_or(i32::MAX), &a.0).cmp(&(b.1.unwrap_or(i32::MAX), &b.0)));
    Ok(rows)
}

/// Deletes one vote in one transaction: every `ballot` row of this election with
/// `voter = ballot_voter`, and the voter row `voter_row_id` of this user and election.
pub async fn revoke(
    db: &Db,
    election_id: i32,
    user_id: i32,
    voter_row_id: i32,
    ballot_voter: &str,
) -> Result<RevokeOutcome> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    if !lock_user(&mut conn, user_id).await? {
        return Ok(RevokeOutcome::NotVoted);
    }
    let stmt = Query::delete()
        .from_table(VoterCol::Table)
        .and_where(Expr::col(VoterCol::Id).eq(voter_row_id))
        .and_where(Expr::col(VoterCol::UserId).eq(user_id))
        .and_where(Expr::col(VoterCol::ElectionId).eq(election_id))
        .to_owned();
    if conn.execute(&stmt).await?.rows_affected == 0 {
        return Ok(RevokeOutcome::NotVoted);
    }
    login_claims::release(&mut conn, election_id, ClaimKind::Ballot, user_id).await?;
    let stmt = Query::delete()
        .from_table(BallotCol::Table)
        .and_where(Expr::col(BallotCol::ElectionId).eq(election_id))
        .and_where(Expr::col(BallotCol::Voter).eq(ballot_voter))
        .to_owned();
    let ballots = conn.execute(&stmt).await?.rows_affected;
    tx.commit().await?;
    Ok(RevokeOutcome::Revoked { ballots })
}

/// Every `ballot` row of an election as `(voter, candidate, rank)`, sorted by (voter,
/// candidate) bytewise, never in storage order.
pub async fn all_for_election(
    db: &Db,
    election_id: i32,
) -> Result<Vec<(String, String, Option<i32>)>> {
    let stmt = Query::select()
        .columns([BallotCol::Voter, BallotCol::Candidate, BallotCol::Rank])
        .from(BallotCol::Table)
        .and_where(Expr::col(BallotCol::ElectionId).eq(election_id))
        .to_owned();
    let mut rows: Vec<(String, String, Option<i32>)> = db.fetch_all(&stmt).await?;
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    Ok(rows)
}
