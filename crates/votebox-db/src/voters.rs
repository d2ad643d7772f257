//! The `voter` table: "this user has voted in this election".

use crate::{Db, Result};

pub async fn has_voted(db: &Db, user_id: i32, election_id: i32) -> Result<bool> {
    let _ = (db, user_id, election_id);
    todo!("db helper")
}

/// Keys of the elections in which this user has a voter row ("Previously Voted").
pub async fn voted_election_keys(db: &Db, user_id: i32) -> Result<Vec<String>> {
    let _ = (db, user_id);
    todo!("db helper")
}

/// Number of voter rows for an election (the officer dashboard's "voter's count").
pub async fn count(db: &Db, election_id: i32) -> Result<i64> {
    let _ = (db, election_id);
    todo!("db helper")
}
