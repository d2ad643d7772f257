//! Ballots cast under Elekto's schema 1 (0.5.x) in a database that `votebox migrate` adopted.
//!
//! Their `ballot.voter` is a Werkzeug hash of `username + '+' + passphrase`, shared by every row
//! of one ballot, and their `voter` row has NULL `salt` and `ballot_id`. To view or revoke such
//! a ballot, the web layer takes the election's hashes from [`v1_ballot_voters`], finds the one
//! of this user and passphrase with `votebox_core::schema1_link::find_v1_ballot` (blocking PBKDF2:
//! run it under the KDF limit), and then uses the matched hash exactly where a schema-2
//! ballot-voter uuid goes: `ballots::ballot_rows(db, election_id, hash)` to view,
//! `ballots::revoke(db, election_id, user_id, voter_row_id, hash)` to revoke.

use sea_query::{Expr, ExprTrait, Query};

use crate::ElectionId;
use crate::schema::Ballot;
use crate::{Db, Result};

/// The distinct schema-1 `ballot.voter` values (Werkzeug `pbkdf2:` hashes) of an election,
/// sorted bytewise. Empty for elections voted only with votebox or Elekto 0.6+.
pub async fn v1_ballot_voters(db: &Db, election_id: ElectionId) -> Result<Vec<String>> {
    let stmt = Query::select()
        .distinct()
        .column(Ballot::Voter)
        .from(Ballot::Table)
        .and_where(Expr::col(Ballot::ElectionId).eq(election_id))
        .and_where(Expr::col(Ballot::Voter).like("pbkdf2:%"))
        .to_owned();
    let rows: Vec<(String,)> = db.fetch_all(&stmt).await?;
    let mut out: Vec<String> = rows.into_iter().map(|(v,)| v).collect();
    out.sort();
    out.dedup();
    Ok(out)
}
