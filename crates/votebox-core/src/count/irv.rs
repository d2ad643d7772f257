//! Instant-runoff voting (single winner).
//!
//! Each round, every ballot counts for its most preferred tier of continuing candidates; a
//! tier of `k` tied continuing candidates gives each `1/k` of the ballot (exact: tallies are
//! integers in units of `1 / lcm(1..=largest tier)` of a vote). A ballot with no continuing
//! candidate is exhausted. A candidate with more than half of the non-exhausted votes, or the
//! last one left, wins. Otherwise the candidate with the fewest votes is excluded; several
//! candidates with zero votes (while others have votes) are excluded together, which cannot
//! change the result. Any other tie for exclusion is broken by the tie-break order when one is
//! given, else explored (see [`super::runoff`]): if the choice can change the winner, the
//! possible winners are reported in `ties_at_last_seat` and `winners` is empty.
//!
//! The ranking is: the winner, then the others still in the count at the end by their last
//! tally, then the excluded in reverse order of exclusion.

use super::bitset::BitSet;
use super::outcome::{Outcome, Round, Tally};
use super::pairwise::pairwise_matrix;
use super::profile::TierBallots;
use super::runoff::{self, Advance, Possible, Runoff};
use super::tiebreak::priorities;
use super::{CountError, CountOptions, Method, Profile};

struct Irv<'a> {
    tb: &'a TierBallots,
    ids: &'a [String],
    /// Units per vote.
    unit: u128,
}

#[derive(Clone)]
struct IrvState {
    continuing: BitSet,
    excluded: Vec<Vec<usize>>,
    round: usize,
    last: Vec<u128>,
}

fn lcm_up_to(k: usize) -> Option<u128> {
    fn gcd(a: u128, b: u128) -> u128 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let mut l: u128 = 1;
    for i in 1..=k as u128 {
        l = (l / gcd(l, i)).checked_mul(i)?;
    }
    Some(l)
}

impl Irv<'_> {
    fn tally(&self, continuing: &BitSet) -> (Vec<u128>, u128) {
        let mut t = vec![0u128; self.ids.len()];
        let mut exhausted = 0u128;
        for b in 0..self.tb.len() {
            let w = u128::from(self.tb.weights[b]) * self.unit;
            let mut placed = false;
            for tier in self.tb.tiers(b) {
                let k = tier
                    .iter()
                    .filter(|&&c| continuing.contains(c as usize))
                    .count();
                if k == 0 {
                    continue;
                }
                let share = w / k as u128;
                for &c in tier {
                    if continuing.contains(c as usize) {
                        t[c as usize] += share;
                    }
                }
                placed = true;
                break;
            }
            if !placed {
                exhausted += w;
            }
        }
        (t, exhausted)
    }

    fn votes(&self, units: u128) -> f64 {
        units as f64 / self.unit as f64
    }
}

impl Runoff for Irv<'_> {
    type State = IrvState;

    fn num_candidates(&self) -> usize {
        self.ids.len()
    }

    type Key = (BitSet, BitSet);

    fn key(&self, s: &IrvState) -> (BitSet, BitSet) {
        (BitSet::new(self.ids.len()), s.continuing.clone())
    }

    fn advance(&self, s: &mut IrvState, mut log: Option<&mut Vec<Round>>) -> Advance {
        loop {
            s.round += 1;
            let (t, exhausted) = self.tally(&s.continuing);
            let cont: Vec<usize> = s.continuing.iter().collect();
            let active: u128 = cont.iter().map(|&c| t[c]).sum();
            s.last = t;
            let t = &s.last;
            if let Some(log) = log.as_deref_mut() {
                log.push(Round {
                    number: s.round,
                    tallies: cont
                        .iter()
                        .map(|&c| Tally {
                            candidate: self.ids[c].clone(),
                            votes: self.votes(t[c]),
                        })
                        .collect(),
                    exhausted: self.votes(exhausted),
                    quota: None,
                    keep_values: Vec::new(),
                    elected: Vec::new(),
                    excluded: Vec::new(),
                    stage: None,
                });
            }
            let winner = if cont.len() == 1 {
                Some(cont[0])
            } else {
                cont.iter().copied().find(|&c| 2 * t[c] > active)
            };
            if let Some(w) = winner {
                if let Some(r) = log.as_deref_mut().and_then(|l| l.last_mut()) {
                    r.elected.push(self.ids[w].clone());
                }
                return Advance::Finished(vec![w]);
            }
            let min = cont.iter().map(|&c| t[c]).min().unwrap_or(0);
            let tied: Vec<usize> = cont.iter().copied().filter(|&c| t[c] == min).collect();
            if tied.len() == 1 || (min == 0 && tied.len() < cont.len()) {
                for &c in &tied {
                    s.continuing.remove(c);
                    if let Some(r) = log.as_deref_mut().and_then(|l| l.last_mut()) {
                        r.excluded.push(self.ids[c].clone());
                    }
                }
                s.excluded.push(tied);
                continue;
            }
            return Advance::Tie {
                symmetric: min == 0,
                tied,
            };
        }
    }

    fn exclude(&self, s: &mut IrvState, c: usize, log: Option<&mut Vec<Round>>) {
        s.continuing.remove(c);
        s.excluded.push(vec![c]);
        if let Some(r) = log.and_then(|l| l.last_mut()) {
            r.excluded.push(self.ids[c].clone());
        }
    }

    fn open(&self, s: &IrvState) -> Possible {
        Possible {
            sure: BitSet::new(self.ids.len()),
            maybe: s.continuing.clone(),
            exact: true,
        }
    }

    fn round(&self, s: &IrvState) -> usize {
        s.round
    }
}

pub(crate) fn count(profile: &Profile, opts: &CountOptions) -> Result<Outcome, CountError> {
    let n = profile.num_candidates();
    let tb = TierBallots::new(profile, opts.unranked);
    let unit = lcm_up_to(tb.max_tier())
        .filter(|u| u.checked_mul(u128::from(tb.total_weight())).is_some())
        .ok_or(CountError::Overflow(
            "too many candidates share one rank for exact IRV arithmetic",
        ))?;
    let irv = Irv {
        tb: &tb,
        ids: profile.candidates(),
        unit,
    };
    let init = IrvState {
        continuing: BitSet::full(n),
        excluded: Vec::new(),
        round: 0,
        last: vec![0; n],
    };
    let order = opts
        .tie_break
        .as_ref()
        .map(|t| priorities(&t.order(profile.candidates())));
    let res = runoff::run(&irv, init, order.as_deref());

    // Ranking on the reported path.
    let st = &res.final_state;
    let mut tiers: Vec<Vec<usize>> = vec![res.elected.clone()];
    let mut rest: Vec<usize> = st
        .continuing
        .iter()
        .filter(|c| !res.elected.contains(c))
        .collect();
    rest.sort_by_key(|&c| (std::cmp::Reverse(st.last[c]), c));
    let mut prev = None;
    for c in rest {
        if prev == Some(st.last[c]) {
            if let Some(t) = tiers.last_mut() {
                t.push(c);
            }
        } else {
            tiers.push(vec![c]);
            prev = Some(st.last[c]);
        }
    }
    for batch in st.excluded.iter().rev() {
        tiers.push(batch.clone());
    }

    let d = pairwise_matrix(profile, opts.unranked);
    let mut out = super::base_outcome(profile, opts, Method::Irv, d);
    out.rounds = res.rounds;
    out.ties = res
        .ties
        .iter()
        .map(|t| t.record(profile.candidates()))
        .collect();
    super::finish_runoff(&mut out, tiers, &res.elected, &res.possible);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::test_support::{ids, profile};
    use crate::count::{Ballot, TieBreak, TieResolution, count as count_profile};

    #[test]
    fn lcm() {
        assert_eq!(lcm_up_to(1), Some(1));
        assert_eq!(lcm_up_to(4), Some(12));
        assert_eq!(lcm_up_to(20), Some(232_792_560));
        assert_eq!(lcm_up_to(200), None);
    }

    #[test]
    fn majority_in_first_round() {
        let p = profile(&["a", "b", "c"], &[(&[0, 1], 3), (&[1], 2)]);
        let o = count_profile(&p, &CountOptions::new(Method::Irv, 1)).unwrap();
        assert_eq!(o.winners, ids(&["a"]));
        assert_eq!(o.rounds.len(), 1);
        assert_eq!(o.ranking, vec![ids(&["a"]), ids(&["b"]), ids(&["c"])]);
    }

    #[test]
    fn equal_ranks_split_the_ballot() {
        // a=b on 2 ballots (1 vote each), b alone on 1, c alone on 1.
        let mut p = Profile::new(ids(&["a", "b", "c"])).unwrap();
        p.push_weighted(&Ballot::new(vec![Some(1), Some(1), None]), 2)
            .unwrap();
        p.push(&Ballot::new(vec![None, Some(1), None])).unwrap();
        p.push(&Ballot::new(vec![None, None, Some(1)])).unwrap();
        let o = count_profile(&p, &CountOptions::new(Method::Irv, 1)).unwrap();
        let r1: Vec<f64> = o.rounds[0].tallies.iter().map(|t| t.votes).collect();
        assert_eq!(r1, vec![1.0, 2.0, 1.0]);
        // a and c tie at 1 for exclusion; either way b wins -> irrelevant tie.
        assert_eq!(o.winners, ids(&["b"]));
        assert_eq!(o.ties.len(), 1);
        assert_eq!(o.ties[0].resolution, TieResolution::Irrelevant);
    }

    #[test]
    fn tie_that_matters_is_reported_or_broken() {
        // a 2, b 2: whoever is excluded first loses.
        let p = profile(&["a", "b"], &[(&[0], 2), (&[1], 2)]);
        let o = count_profile(&p, &CountOptions::new(Method::Irv, 1)).unwrap();
        assert!(o.winners.is_empty());
        assert_eq!(o.ties_at_last_seat, ids(&["a", "b"]));
        assert_eq!(o.ties[0].resolution, TieResolution::Unresolved);
        let o = count_profile(
            &p,
            &CountOptions::new(Method::Irv, 1).with_tie_break(TieBreak::from_order(ids(&["b"]))),
        )
        .unwrap();
        assert_eq!(o.winners, ids(&["b"]));
        assert!(o.ties_at_last_seat.is_empty());
        assert_eq!(o.ties[0].resolution, TieResolution::TieBreak);
        assert_eq!(o.ties[0].chosen, ids(&["a"]));
        assert!(o.tie_break.as_ref().unwrap().used);
    }

    #[test]
    fn no_ballots_everyone_tied() {
        let p = profile(&["a", "b", "c"], &[]);
        let o = count_profile(&p, &CountOptions::new(Method::Irv, 1)).unwrap();
        assert!(o.winners.is_empty());
        assert_eq!(o.ties_at_last_seat, ids(&["a", "b", "c"]));
    }

    #[test]
    fn zero_vote_candidates_excluded_together() {
        let p = profile(&["a", "b", "c", "d"], &[(&[0], 2), (&[1, 0], 1)]);
        let o = count_profile(&p, &CountOptions::new(Method::Irv, 1)).unwrap();
        assert_eq!(o.winners, ids(&["a"]));
        assert!(o.ties.is_empty());
        let p = profile(
            &["a", "b", "c", "d", "e"],
            &[(&[0], 2), (&[1, 0], 2), (&[4, 0], 1)],
        );
        let o = count_profile(&p, &CountOptions::new(Method::Irv, 1)).unwrap();
        assert_eq!(o.rounds[0].excluded, ids(&["c", "d"]));
        assert_eq!(o.rounds[1].excluded, ids(&["e"]));
        assert_eq!(o.winners, ids(&["a"]));
        assert!(o.ties.is_empty());
        assert_eq!(
            o.ranking,
            vec![ids(&["a"]), ids(&["b"]), ids(&["e"]), ids(&["c", "d"])]
        );
    }
}
