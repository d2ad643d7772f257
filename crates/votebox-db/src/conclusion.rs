//! Concluding an election (`delete_after: True`): once it has ended, the encrypted voter→ballot
//! links are deleted, from the rows and from the database files.
//!
//! Elekto documents `delete_after` but never implements it. votebox sets `voter.salt` and
//! `voter.ballot_id` to NULL for every voter row of the election. The `ballot` rows (needed for
//! the results and the CSV) and the `voter` rows (the record of who voted, "Previously Voted",
//! the voter count) are kept. Without the link nobody, not even someone holding the database and
//! a voter's passphrase, can tell which ballot is whose; view and revoke then fail with Elekto's
//! "Incorrect password" path, as for legacy v1 rows.
//!
//! [`conclude`] does it once across every instance: it records the conclusion in
//! `votebox_conclusion` in the transaction that erases the links (a second instance finds the
//! row and nothing left to erase, and does nothing), then purges the old bytes from the files
//! ([`crate::ballot_mixing::flush_files`]: `VACUUM FULL voter`, `ALTER TABLE voter FORCE`, or a
//! SQLite WAL checkpoint with `secure_delete` on).

use sea_query::{Asterisk, Expr, ExprTrait, Query};

use crate::ballot_mixing::{self, ElectionLock, SecretTable, lock_election};
use crate::query::{Conn, is_unique_violation, ts_value};
use crate::schema::{VoteboxConclusion, Voter};
use crate::{Db, ElectionId, Result, utc_now};

/// What [`conclude`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcludeOutcome {
    /// The links were erased now (`links` voter rows changed, the files flushed when above 0).
    Concluded { links: u64 },
    /// Already concluded (by this or another instance) and no link left: nothing done.
    AlreadyConcluded,
    /// No such election.
    NoElection,
}

/// Concludes an ended `delete_after` election: erases its voter→ballot links and records the
/// conclusion in one transaction, then flushes the `voter` table's files. Running it again
/// (another round, another instance) erases and flushes only links that appeared since (rows
/// seeded or written by Elekto after the end); with none, it does nothing. A flush failure is
/// returned as an error after the erase committed (the election is marked for the next mix,
/// which flushes again).
pub async fn conclude(db: &Db, election_id: ElectionId) -> Result<ConcludeOutcome> {
    let mut tx = db.begin().await?;
    let mut conn = tx.conn();
    let backend = conn.backend();
    // Exclusive: a mix in progress could otherwise write the old links back, and two instances
    // conclude one after the other.
    if !lock_election(&mut conn, election_id, ElectionLock::Exclusive).await? {
        return Ok(ConcludeOutcome::NoElection);
    }
    let done = Query::select()
        .column(VoteboxConclusion::ElectionId)
        .from(VoteboxConclusion::Table)
        .and_where(Expr::col(VoteboxConclusion::ElectionId).eq(election_id))
        .to_owned();
    let recorded = conn.fetch_optional::<(i32,)>(&done).await?.is_some();
    let links = erase_links(&mut conn, election_id).await?;
    if recorded && links == 0 {
        return Ok(ConcludeOutcome::AlreadyConcluded);
    }
    if !recorded {
        let record = Query::insert()
            .into_table(VoteboxConclusion::Table)
            .columns([
                VoteboxConclusion::ElectionId,
                VoteboxConclusion::ConcludedAt,
            ])
            .values_panic([
                election_id.into(),
                ts_value(backend, Some(utc_now())).into(),
            ])
            .to_owned();
        match conn.execute(&record).await {
            Ok(_) => {}
            // Another instance concluded it meanwhile (only reachable without the row lock).
            Err(e) if is_unique_violation(&e) => return Ok(ConcludeOutcome::AlreadyConcluded),
            Err(e) => return Err(e),
        }
    }
    tx.commit().await?;
    if links > 0 {
        // On failure the election is marked for the next mix, which re-writes and flushes.
        ballot_mixing::flush_or_retry_later(db, &[SecretTable::Voter], &[election_id]).await?;
    }
    Ok(ConcludeOutcome::Concluded { links })
}

/// Whether [`conclude`] has run for this election.
pub async fn is_concluded(db: &Db, election_id: ElectionId) -> Result<bool> {
    let stmt = Query::select()
        .column(VoteboxConclusion::ElectionId)
        .from(VoteboxConclusion::Table)
        .and_where(Expr::col(VoteboxConclusion::ElectionId).eq(election_id))
        .to_owned();
    Ok(db.fetch_optional::<(i32,)>(&stmt).await?.is_some())
}

/// Deletes the voter→ballot links of an election in the rows only (no record, no flush; see
/// [`conclude`]): `salt` and `ballot_id` set to NULL on every voter row that still has one.
/// Returns the number of rows changed (0 when already done).
pub async fn forget_voter_links(db: &Db, election_id: ElectionId) -> Result<u64> {
    erase_links(&mut db.acquire().await?.conn(), election_id).await
}

async fn erase_links(conn: &mut Conn<'_>, election_id: ElectionId) -> Result<u64> {
    let stmt = Query::update()
        .table(Voter::Table)
        .value(Voter::Salt, Option::<Vec<u8>>::None)
        .value(Voter::BallotId, Option::<Vec<u8>>::None)
        .and_where(Expr::col(Voter::ElectionId).eq(election_id))
        .and_where(has_link())
        .to_owned();
    Ok(conn.execute(&stmt).await?.rows_affected)
}

/// Number of voter rows of an election that still carry a voter→ballot link.
pub async fn remaining_links(db: &Db, election_id: ElectionId) -> Result<i64> {
    let stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from(Voter::Table)
        .and_where(Expr::col(Voter::ElectionId).eq(election_id))
        .and_where(has_link())
        .to_owned();
    let (n,): (i64,) = db.fetch_one(&stmt).await?;
    Ok(n)
}

/// A voter row that still carries (part of) its link to a ballot.
fn has_link() -> sea_query::SimpleExpr {
    Expr::col(Voter::Salt)
        .is_not_null()
        .or(Expr::col(Voter::BallotId).is_not_null())
}
