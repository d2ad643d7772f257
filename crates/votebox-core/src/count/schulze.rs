//! Schulze (beat-path), exactly as Elekto computes it, plus the margins variant.
//!
//! * Strength of the direct edge x→y: winning votes `d[x][y]` if `d[x][y] > d[y][x]`, else 0
//!   ([`Strength::WinningVotes`], Elekto); or the margin `d[x][y] - d[y][x]` when positive
//!   ([`Strength::Margins`]).
//! * Strongest paths by Floyd–Warshall (max–min), no path = 0.
//! * x beats y under Schulze iff `p[x][y] > p[y][x]`. For every candidate, count the
//!   candidates that beat it; the ranking groups candidates by that count, ascending (Elekto's
//!   `schulze_rank`). The first tier holds exactly the Schulze winners. Because the relation
//!   can be incomplete this differs from "sort by number of wins" (see the CoC 2025 fixture).

use super::outcome::{Matrix, Outcome};
use super::pairwise::{pairwise_matrix, tiers_by_defeats};
use super::{CountError, CountOptions, Method, Profile};

/// How the strength of a direct pairwise defeat is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// `d[x][y]` when x wins the pair (Elekto).
    WinningVotes,
    /// `d[x][y] - d[y][x]` when positive.
    Margins,
}

/// The strongest-path matrix `p` for the pairwise matrix `d`.
pub fn strongest_paths(d: &Matrix, strength: Strength) -> Matrix {
    let n = d.size();
    let mut p = Matrix::zeros(n);
    for x in 0..n {
        for y in 0..n {
            if x != y && d.get(x, y) > d.get(y, x) {
                let s = match strength {
                    Strength::WinningVotes => d.get(x, y),
                    Strength::Margins => d.get(x, y) - d.get(y, x),
                };
                p.set(x, y, s);
            }
        }
    }
    for i in 0..n {
        for j in 0..n {
            if j == i {
                continue;
            }
            let pji = p.get(j, i);
            if pji == 0 {
                continue;
            }
            for k in 0..n {
                if k == i || k == j {
                    continue;
                }
                let via = pji.min(p.get(i, k));
                if via > p.get(j, k) {
                    p.set(j, k, via);
                }
            }
        }
    }
    p
}

/// For every candidate, the number of candidates that beat it under Schulze
/// (`p[w][v] > p[v][w]`).
pub fn schulze_defeats(p: &Matrix) -> Vec<u32> {
    let n = p.size();
    (0..n)
        .map(|v| {
            (0..n)
                .filter(|&w| w != v && p.get(w, v) > p.get(v, w))
                .count() as u32
        })
        .collect()
}

/// Elekto's `schulze_rank`: `(number of Schulze defeats, candidate indices)` ascending.
pub fn schulze_ranking(p: &Matrix) -> Vec<(u32, Vec<usize>)> {
    let (tiers, defeats) = tiers_by_defeats(p.size(), |w, v| p.get(w, v) > p.get(v, w));
    defeats.into_iter().zip(tiers).collect()
}

pub(crate) fn count(
    profile: &Profile,
    opts: &CountOptions,
    strength: Strength,
) -> Result<Outcome, CountError> {
    let d = pairwise_matrix(profile, opts.unranked);
    let p = strongest_paths(&d, strength);
    let (tiers, defeats) = tiers_by_defeats(p.size(), |w, v| p.get(w, v) > p.get(v, w));
    let method = match strength {
        Strength::WinningVotes => Method::Schulze,
        Strength::Margins => Method::SchulzeMargins,
    };
    let mut out = super::base_outcome(profile, opts, method, d);
    out.strongest_paths = Some(p);
    super::finish_ranked(&mut out, profile, opts, tiers, defeats);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::test_support::ids;
    use crate::count::{Ballot, CountOptions, Unranked, count as count_profile, elekto_groups};

    fn groups(o: &Outcome) -> Vec<(u32, Vec<String>)> {
        elekto_groups(o)
            .into_iter()
            .map(|(n, mut g)| {
                g.sort();
                (n, g)
            })
            .collect()
    }

    /// Reference §6.5, first case.
    #[test]
    fn checklist_51_worked_example() {
        let mut p = Profile::new(ids(&["A", "B", "C", "D"])).unwrap();
        p.push(&Ballot::from_elekto_ranks(&[1, 2, 3, 4])).unwrap();
        p.push(&Ballot::from_elekto_ranks(&[2, 1, 3, 4])).unwrap();
        p.push(&Ballot::from_elekto_ranks(&[
            1,
            100_000_000,
            2,
            100_000_000,
        ]))
        .unwrap();
        let o = count_profile(&p, &CountOptions::new(Method::Schulze, 1)).unwrap();
        // Elekto's transposed d: d[A,B]=1, d[B,A]=1, d[C,A]=3, d[C,B]=2, d[D,A]=2, d[D,B]=2,
        // d[D,C]=2 — i.e. our d[A][C]=3 etc.
        let d = o.pairwise.as_ref().unwrap();
        assert_eq!(
            d.to_rows(),
            vec![
                vec![0, 1, 3, 2],
                vec![1, 0, 2, 2],
                vec![0, 0, 0, 2],
                vec![0, 0, 0, 0]
            ]
        );
        assert_eq!(
            groups(&o),
            vec![(0, ids(&["A", "B"])), (2, ids(&["C"])), (3, ids(&["D"]))]
        );
        // Labels on the officer page: winner box, then "3 C", then "4 D".
        let labels: Vec<u32> = elekto_groups(&o).iter().skip(1).map(|g| g.0 + 1).collect();
        assert_eq!(labels, vec![3, 4]);
        // One seat, two tied at the top: never silently broken.
        assert!(o.winners.is_empty());
        assert_eq!(o.ties_at_last_seat, ids(&["A", "B"]));
        assert_eq!(o.condorcet_winner, None);
        // Two seats: both win.
        let o = count_profile(&p, &CountOptions::new(Method::Schulze, 2)).unwrap();
        assert_eq!(o.winners, ids(&["A", "B"]));
        assert!(o.ties_at_last_seat.is_empty());
    }

    /// Reference §6.5, second case.
    #[test]
    fn checklist_51_single_ballot_with_ties() {
        let mut p = Profile::new(ids(&["A", "B", "C", "D"])).unwrap();
        p.push(&Ballot::from_elekto_ranks(&[1, 1, 2, 2])).unwrap();
        let o = count_profile(&p, &CountOptions::new(Method::Schulze, 1)).unwrap();
        assert_eq!(
            groups(&o),
            vec![(0, ids(&["A", "B"])), (2, ids(&["C", "D"]))]
        );
    }

    /// Reference §6.5: no ballots → one group with everyone.
    #[test]
    fn checklist_51_no_ballots_one_group() {
        let p = Profile::new(ids(&["A", "B", "C"])).unwrap();
        let o = count_profile(&p, &CountOptions::new(Method::Schulze, 1)).unwrap();
        assert_eq!(groups(&o), vec![(0, ids(&["A", "B", "C"]))]);
        assert!(o.winners.is_empty());
        assert_eq!(o.ties_at_last_seat, ids(&["A", "B", "C"]));
        let o = count_profile(&p, &CountOptions::new(Method::Schulze, 3)).unwrap();
        assert_eq!(o.winners, ids(&["A", "B", "C"]));
    }

    #[test]
    fn margins_differ_from_winning_votes() {
        // Schulze paper example 10 is covered by the fixtures; here a tiny direct check of the
        // edge strengths.
        let d = Matrix::from_rows(&[vec![0, 5, 2], vec![4, 0, 6], vec![3, 1, 0]]);
        let wv = strongest_paths(&d, Strength::WinningVotes);
        let mg = strongest_paths(&d, Strength::Margins);
        assert_eq!(
            wv.to_rows(),
            vec![vec![0, 5, 5], vec![3, 0, 6], vec![3, 3, 0]]
        );
        assert_eq!(
            mg.to_rows(),
            vec![vec![0, 1, 1], vec![1, 0, 5], vec![1, 1, 0]]
        );
        assert_eq!(schulze_defeats(&wv), vec![0, 1, 2]);
        assert_eq!(schulze_ranking(&mg), vec![(0, vec![0, 1]), (1, vec![2])]);
    }

    #[test]
    fn last_rule_changes_the_count() {
        // One voter ranks only A; under "last" A beats B, under "no opinion" nothing happens.
        let mut p = Profile::new(ids(&["A", "B"])).unwrap();
        p.push(&Ballot::new(vec![Some(1), None])).unwrap();
        let o = count_profile(&p, &CountOptions::new(Method::Schulze, 1)).unwrap();
        assert_eq!(o.ties_at_last_seat, ids(&["A", "B"]));
        let o = count_profile(
            &p,
            &CountOptions::new(Method::Schulze, 1).with_unranked(Unranked::Last),
        )
        .unwrap();
        assert_eq!(o.winners, ids(&["A"]));
        assert_eq!(o.condorcet_winner.as_deref(), Some("A"));
    }
}
