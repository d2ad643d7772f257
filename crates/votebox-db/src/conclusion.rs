//! Concluding an election (`delete_after: True`): once it has ended, the encrypted voter→ballot
//! links are deleted.
//!
//! Elekto documents `delete_after` but never implements it. votebox sets `voter.salt` and
//! `voter.ballot_id` to NULL for every voter row of the election. The `ballot` rows (needed for
//! the results and the CSV) and the `voter` rows (the record of who voted, "Previously Voted",
//! the voter count) are kept. Without the link nobody, not even someone holding the database and
//! a voter's passphrase, can tell which ballot is whose; view and revoke then fail with Elekto's
//! "Incorrect password" path, as for legacy v1 rows. Running it again changes nothing.

use sea_query::{Asterisk, Expr, ExprTrait, Query};

use crate::ElectionId;
use crate::schema::Voter;
use crate::{Db, Result};

/// Deletes the voter→ballot links of an election: `salt` and `ballot_id` set to NULL on every
/// voter row that still has one. Returns the number of rows changed (0 when already done).
pub async fn forget_voter_links(db: &Db, election_id: ElectionId) -> Result<u64> {
    let stmt = Query::update()
        .table(Voter::Table)
        .value(Voter::Salt, Option::<Vec<u8>>::None)
        .value(Voter::BallotId, Option::<Vec<u8>>::None)
        .and_where(Expr::col(Voter::ElectionId).eq(election_id))
        .and_where(
            Expr::col(Voter::Salt)
                .is_not_null()
                .or(Expr::col(Voter::BallotId).is_not_null()),
        )
        .to_owned();
    Ok(db.execute(&stmt).await?.rows_affected)
}

/// Number of voter rows of an election that still carry a voter→ballot link.
pub async fn remaining_links(db: &Db, election_id: ElectionId) -> Result<i64> {
    let stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from(Voter::Table)
        .and_where(Expr::col(Voter::ElectionId).eq(election_id))
        .and_where(
            Expr::col(Voter::Salt)
                .is_not_null()
                .or(Expr::col(Voter::BallotId).is_not_null()),
        )
        .to_owned();
    let (n,): (i64,) = db.fetch_one(&stmt).await?;
    Ok(n)
}
