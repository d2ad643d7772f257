//! Small builders shared by the counting methods' unit tests.

use super::{Ballot, Profile};

/// Candidate ids from string literals.
pub(crate) fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A profile of strict rankings: each `(order, weight)` ranks `order` (candidate indexes, most
/// preferred first) and leaves the rest unranked.
pub(crate) fn profile(c: &[&str], ballots: &[(&[usize], u32)]) -> Profile {
    let mut p = Profile::new(ids(c)).unwrap();
    for (order, w) in ballots {
        let tiers: Vec<Vec<usize>> = order.iter().map(|&c| vec![c]).collect();
        p.push_weighted(&Ballot::from_tiers(c.len(), &tiers).unwrap(), *w)
            .unwrap();
    }
    p
}
