//! Copeland: one point per pairwise win, half a point per pairwise tie; most points first.
//!
//! Scores are kept as integers (2 per win, 1 per tie) and reported halved. Equal scores share
//! a tier; ties across the last seat are reported (or broken by the tie-break order).

use super::outcome::{Matrix, Outcome};
use super::pairwise::{pairwise_matrix, tiers_by_score};
use super::{CountError, CountOptions, Method, Profile};

/// Twice each candidate's Copeland score (2 per win, 1 per tie).
pub fn copeland_double_scores(d: &Matrix) -> Vec<u64> {
    let n = d.size();
    (0..n)
        .map(|x| {
            (0..n)
                .filter(|&y| y != x)
                .map(|y| match d.get(x, y).cmp(&d.get(y, x)) {
                    std::cmp::Ordering::Greater => 2,
                    std::cmp::Ordering::Equal => 1,
                    std::cmp::Ordering::Less => 0,
                })
                .sum()
        })
        .collect()
}

pub(crate) fn count(profile: &Profile, opts: &CountOptions) -> Result<Outcome, CountError> {
    let d = pairwise_matrix(profile, opts.unranked);
    let scores = copeland_double_scores(&d);
    let (tiers, defeats) = tiers_by_score(scores.len(), |c| std::cmp::Reverse(scores[c]));
    let mut out = super::base_outcome(profile, opts, Method::Copeland, d);
    out.scores = Some(super::candidate_scores(
        profile,
        scores.iter().map(|&s| s as f64 / 2.0),
    ));
    super::finish_ranked(&mut out, profile, opts, tiers, defeats);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_ranks_by_score() {
        use crate::count::{Ballot, count};
        let ids: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut p = Profile::new(ids).unwrap();
        p.push_weighted(&Ballot::new(vec![Some(1), Some(2), Some(3)]), 2)
            .unwrap();
        p.push(&Ballot::new(vec![Some(3), Some(1), Some(2)]))
            .unwrap();
        let o = count(&p, &CountOptions::new(Method::Copeland, 2)).unwrap();
        assert_eq!(o.winners, vec!["a", "b"]);
        let s: Vec<f64> = o.scores.unwrap().iter().map(|s| s.score).collect();
        assert_eq!(s, vec![2.0, 1.0, 0.0]);
    }

    #[test]
    fn wins_and_ties() {
        let d = Matrix::from_rows(&[vec![0, 3, 2], vec![2, 0, 2], vec![2, 2, 0]]);
        assert_eq!(copeland_double_scores(&d), vec![3, 1, 2]);
    }
}
