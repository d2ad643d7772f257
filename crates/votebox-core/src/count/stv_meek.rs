//! Single transferable vote, Meek's method (multi-seat).
//!
//! **Arithmetic.** Fixed point: one vote = [`UNIT`] = 10⁹ units (nine decimals), per-ballot
//! values in `u64`, totals in `u128`. No floating point is used for any decision; the `f64`
//! numbers in [`super::Round`] are for display only.
//!
//! **Keep values.** Every candidate has a keep value `k`: hopeful 1, excluded 0 (the candidate
//! is skipped), elected between 0 and 1. A ballot starts with weight `w = 1`; walking its tiers
//! best first, a tier of `m` candidates not excluded gives each candidate `c` the amount
//! `floor(w · k_c / m)` and `floor(w · (1 − Σ k / m))` passes on to the next tier (Σ over the
//! tier's members). So **equal ranks split the ballot equally** among the tied candidates, and
//! each keeps its share times its keep value. What is left after the last tier is exhausted.
//! Rounding is always down for votes (the remainder, at most a few units per ballot, is
//! exhausted rather than passed on) and up for keep values, as in the New Zealand Meek rules.
//!
//! **Quota.** Droop quota recomputed on every iteration from the votes still counting:
//! `q = floor(V / (seats + 1)) + 1 unit`, where `V` = all votes minus exhausted (i.e. the
//! exact Hagenbach-Bischoff quota plus 10⁻⁹). A hopeful candidate with `votes ≥ q` is elected.
//!
//! **Iteration.** Repeat: distribute all ballots; if a hopeful reaches the quota, stop;
//! otherwise set `k_c ← min(1, ceil(k_c · q / votes_c))` for every elected candidate, until the
//! total surplus `Σ (votes_c − q)` of elected candidates is at most [`OMEGA`] (10⁻⁶ vote), stops
//! decreasing, or [`MAX_ITERATIONS`] is reached.
//!
//! **Rounds.** Each round converges, then elects every hopeful with `votes ≥ q` (in order of
//! votes). If none, the hopeful with the fewest votes is excluded (several hopefuls with zero
//! votes are excluded together when that cannot change who is elected). When the hopefuls left
//! are no more than the seats left, they are all elected. Ties for exclusion (exactly equal
//! vote totals in units) are broken by the tie-break order when given, else explored (see
//! [`super::runoff`]) and reported when they matter.
//!
//! **Speed.** Statuses change only between rounds, so each round first reduces the ballots to
//! what the round can see (excluded candidates dropped, each ballot cut after its first tier of
//! hopefuls, identical results merged; one pass over the ballots, split between threads) and
//! every keep-value iteration then walks that small set. The result is exactly the same as
//! walking every ballot: each share is an exact integer times the ballot's weight. The
//! pairwise matrix shown with the count is computed on another thread meanwhile.

use super::bitset::BitSet;
use super::outcome::{KeepValue, Outcome, Round, Tally};
use super::pairwise::pairwise_matrix;
use super::profile::TierBallots;
use super::runoff::{self, Advance, Possible, Runoff};
use super::tiebreak::priorities;
use super::{CountError, CountOptions, Method, Profile};

/// Fixed-point units per vote (10⁹).
pub const UNIT: u64 = 1_000_000_000;
/// Convergence bound on the total surplus, in units (10⁻⁶ vote).
pub const OMEGA: u128 = 1_000;
/// Bound on iterations per round.
pub const MAX_ITERATIONS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Hopeful,
    Elected,
    Excluded,
}

struct Meek<'a> {
    tb: &'a TierBallots,
    ids: &'a [String],
    seats: usize,
    /// All votes, in units.
    total: u128,
}

#[derive(Clone)]
struct MeekState {
    status: Vec<Status>,
    keep: Vec<u64>,
    elected: Vec<usize>,
    elected_batches: Vec<Vec<usize>>,
    excluded_batches: Vec<Vec<usize>>,
    round: usize,
    last: Vec<u128>,
}

fn display(units: u128) -> f64 {
    units as f64 / UNIT as f64
}

/// Ends a tier in [`Reduced::items`].
const TIER_END: u16 = u16::MAX;

/// The ballots as one round's statuses see them: excluded candidates dropped, every ballot cut
/// after its first tier of hopefuls only (a hopeful keeps all it receives, so nothing passes
/// beyond that tier), identical results merged with their weights added.
///
/// Distributing over this set gives exactly the votes of distributing over every ballot: a
/// ballot's share of each candidate depends only on the tiers kept here, and every share is
/// an exact integer multiplied by the ballot's weight. Statuses change only between rounds, so
/// the set is built once a round (one pass over all ballots) and every keep-value iteration of
/// the round walks a few thousand entries instead of every distinct ballot.
#[derive(Default)]
struct Reduced {
    /// Candidates of every entry, each tier closed by [`TIER_END`].
    items: Vec<u16>,
    /// End offset (into `items`) of each entry.
    ends: Vec<u32>,
    /// Weight of each entry.
    weights: Vec<u64>,
}

type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

impl Reduced {
    /// Ballots at least this many are split between threads.
    const PARALLEL_FROM: usize = 50_000;

    fn build(tb: &TierBallots, status: &[Status]) -> Reduced {
        let threads = super::parallel::threads();
        if threads < 2 || tb.len() < Self::PARALLEL_FROM {
            return Self::build_range(tb, status, 0..tb.len());
        }
        // Each thread reduces a slice of the ballots; the parts are simply concatenated (an
        // entry may then appear once per part, which changes no sum).
        let parts = super::parallel::per_run(tb.len(), threads, |range| {
            Self::build_range(tb, status, range)
        });
        let mut out = Reduced::default();
        for part in parts {
            let base = out.items.len() as u32;
            out.items.extend_from_slice(&part.items);
            out.ends.extend(part.ends.iter().map(|&e| base + e));
            out.weights.extend_from_slice(&part.weights);
        }
        out
    }

    fn build_range(tb: &TierBallots, status: &[Status], range: std::ops::Range<usize>) -> Reduced {
        let mut out = Reduced::default();
        // Entries of ballots with one candidate per tier and at most 7 candidates kept, by
        // their candidates packed 16 bits each (as index + 1); every other entry by its items.
        let mut short: FastMap<u128, usize> = FastMap::default();
        let mut long: FastMap<Box<[u16]>, usize> = FastMap::default();
        let mut key: Vec<u16> = Vec::new();
        for b in range {
            let weight = tb.weights[b];
            let (items, strict) = tb.items(b);
            key.clear();
            if strict {
                let mut packed = 0u128;
                for &c in items {
                    match status[c as usize] {
                        Status::Excluded => continue,
                        Status::Elected => key.push(c),
                        Status::Hopeful => {
                            key.push(c);
                            break;
                        }
                    }
                }
                if key.len() <= 7 {
                    for &c in &key {
                        packed = (packed << 16) | u128::from(c + 1);
                    }
                    let next = out.weights.len();
                    let i = *short.entry(packed).or_insert(next);
                    if i == next {
                        for &c in &key {
                            out.items.extend_from_slice(&[c, TIER_END]);
                        }
                        out.ends.push(out.items.len() as u32);
                        out.weights.push(weight);
                    } else {
                        out.weights[i] += weight;
                    }
                    continue;
                }
                let len = key.len();
                key.extend_from_within(..);
                for i in 0..len {
                    key[2 * i] = key[len + i];
                    key[2 * i + 1] = TIER_END;
                }
            } else {
                for tier in tb.tiers(b) {
                    let before = key.len();
                    let mut hopeful_only = true;
                    for &c in tier {
                        match status[c as usize] {
                            Status::Excluded => {}
                            Status::Hopeful => key.push(c),
                            Status::Elected => {
                                key.push(c);
                                hopeful_only = false;
                            }
                        }
                    }
                    if key.len() > before {
                        key.push(TIER_END);
                        if hopeful_only {
                            break;
                        }
                    }
                }
            }
            if let Some(&i) = long.get(&key[..]) {
                out.weights[i] += weight;
                continue;
            }
            long.insert(key.clone().into_boxed_slice(), out.weights.len());
            out.items.extend_from_slice(&key);
            out.ends.push(out.items.len() as u32);
            out.weights.push(weight);
        }
        out
    }

    /// The entries as (tiers, weight); each tier's members are followed by [`TIER_END`].
    fn entries(&self) -> impl Iterator<Item = (&[u16], u64)> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .zip(&self.weights)
            .map(|((start, &end), &w)| (&self.items[start as usize..end as usize], w))
    }

    /// Every ballot's value given out by the keep values: (votes per candidate, exhausted).
    fn distribute(&self, keep: &[u64]) -> (Vec<u128>, u128) {
        let mut votes = vec![0u128; keep.len()];
        let mut exhausted = 0u128;
        for (tiers, weight) in self.entries() {
            let weight = u128::from(weight);
            let mut w: u64 = UNIT;
            for tier in tiers.split(|&c| c == TIER_END).filter(|t| !t.is_empty()) {
                // Each member keeps floor(w · k_c / m); floor(w · (1 − Σk/m)) passes on; the
                // rounding remainder (a few units at most) is exhausted.
                let m = tier.len() as u128 * u128::from(UNIT);
                let w128 = u128::from(w);
                let mut given = 0u128;
                let mut sum_k = 0u128;
                for &c in tier {
                    let k = u128::from(keep[c as usize]);
                    let g = w128 * k / m;
                    votes[c as usize] += g * weight;
                    given += g;
                    sum_k += k;
                }
                let pass = w128 * (m - sum_k) / m;
                exhausted += (w128 - given - pass) * weight;
                w = pass as u64;
                if w == 0 {
                    break;
                }
            }
            exhausted += u128::from(w) * weight;
        }
        (votes, exhausted)
    }
}

impl Meek<'_> {
    /// Iterates keep values to convergence; returns (votes, exhausted, quota).
    fn converge(&self, s: &mut MeekState) -> (Vec<u128>, u128, u128) {
        let mut prev_surplus: Option<u128> = None;
        let mut iterations = 0;
        let reduced = Reduced::build(self.tb, &s.status);
        loop {
            let (votes, exhausted) = reduced.distribute(&s.keep);
            let active = self.total - exhausted;
            let quota = active / (self.seats as u128 + 1) + 1;
            let n = self.ids.len();
            let hopeful_reaches =
                (0..n).any(|c| s.status[c] == Status::Hopeful && votes[c] >= quota);
            let elected: Vec<usize> = (0..n).filter(|&c| s.status[c] == Status::Elected).collect();
            let surplus: u128 = elected
                .iter()
                .map(|&c| votes[c].saturating_sub(quota))
                .sum();
            let stalled = prev_surplus.is_some_and(|p| surplus >= p);
            if hopeful_reaches
                || elected.is_empty()
                || surplus <= OMEGA
                || stalled
                || iterations >= MAX_ITERATIONS
            {
                return (votes, exhausted, quota);
            }
            prev_surplus = Some(surplus);
            iterations += 1;
            for &c in &elected {
                if votes[c] > 0 {
                    let k = (u128::from(s.keep[c]) * quota).div_ceil(votes[c]);
                    s.keep[c] = k.min(u128::from(UNIT)) as u64;
                }
            }
        }
    }

    /// Groups candidates (already sorted by votes descending) into batches of equal votes.
    fn batches(sorted: &[usize], votes: &[u128]) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = Vec::new();
        let mut prev = None;
        for &c in sorted {
            if prev == Some(votes[c]) {
                if let Some(b) = out.last_mut() {
                    b.push(c);
                }
            } else {
                out.push(vec![c]);
                prev = Some(votes[c]);
            }
        }
        out
    }

    fn elect(
        &self,
        s: &mut MeekState,
        mut who: Vec<usize>,
        votes: &[u128],
        log: Option<&mut Vec<Round>>,
    ) {
        who.sort_by_key(|&c| (std::cmp::Reverse(votes[c]), c));
        for &c in &who {
            s.status[c] = Status::Elected;
            s.elected.push(c);
        }
        if let Some(r) = log.and_then(|l| l.last_mut()) {
            r.elected.extend(who.iter().map(|&c| self.ids[c].clone()));
        }
        s.elected_batches.extend(Self::batches(&who, votes));
    }
}

impl Runoff for Meek<'_> {
    type State = MeekState;

    fn num_candidates(&self) -> usize {
        self.ids.len()
    }

    type Key = (BitSet, BitSet);

    fn key(&self, s: &MeekState) -> (BitSet, BitSet) {
        let n = self.ids.len();
        (
            BitSet::from_items(n, (0..n).filter(|&c| s.status[c] == Status::Elected)),
            BitSet::from_items(n, (0..n).filter(|&c| s.status[c] == Status::Excluded)),
        )
    }

    fn advance(&self, s: &mut MeekState, mut log: Option<&mut Vec<Round>>) -> Advance {
        let n = self.ids.len();
        loop {
            let remaining = self.seats.saturating_sub(s.elected.len());
            if remaining == 0 {
                return Advance::Finished(s.elected.clone());
            }
            s.round += 1;
            let (votes, exhausted, quota) = self.converge(s);
            if let Some(log) = log.as_deref_mut() {
                log.push(Round {
                    number: s.round,
                    tallies: (0..n)
                        .filter(|&c| s.status[c] != Status::Excluded)
                        .map(|c| Tally {
                            candidate: self.ids[c].clone(),
                            votes: display(votes[c]),
                        })
                        .collect(),
                    exhausted: display(exhausted),
                    quota: Some(display(quota)),
                    keep_values: s
                        .elected
                        .iter()
                        .map(|&c| KeepValue {
                            candidate: self.ids[c].clone(),
                            keep: s.keep[c] as f64 / UNIT as f64,
                        })
                        .collect(),
                    elected: Vec::new(),
                    excluded: Vec::new(),
                    stage: None,
                });
            }
            let hopeful: Vec<usize> = (0..n).filter(|&c| s.status[c] == Status::Hopeful).collect();
            if hopeful.len() <= remaining {
                self.elect(s, hopeful, &votes, log.as_deref_mut());
                s.last = votes;
                return Advance::Finished(s.elected.clone());
            }
            let mut reached: Vec<usize> = hopeful
                .iter()
                .copied()
                .filter(|&c| votes[c] >= quota)
                .collect();
            if !reached.is_empty() {
                // At most `remaining` can reach the quota; guard against rounding anyway.
                reached.sort_by_key(|&c| (std::cmp::Reverse(votes[c]), c));
                reached.truncate(remaining);
                self.elect(s, reached, &votes, log.as_deref_mut());
                s.last = votes;
                continue;
            }
            let min = hopeful.iter().map(|&c| votes[c]).min().unwrap_or(0);
            let tied: Vec<usize> = hopeful
                .iter()
                .copied()
                .filter(|&c| votes[c] == min)
                .collect();
            s.last = votes;
            if tied.len() == 1 || (min == 0 && hopeful.len() - tied.len() >= remaining) {
                for &c in &tied {
                    s.status[c] = Status::Excluded;
                    s.keep[c] = 0;
                }
                if let Some(r) = log.as_deref_mut().and_then(|l| l.last_mut()) {
                    r.excluded.extend(tied.iter().map(|&c| self.ids[c].clone()));
                }
                s.excluded_batches.push(tied);
                continue;
            }
            return Advance::Tie {
                symmetric: min == 0 && tied.len() == hopeful.len(),
                tied,
            };
        }
    }

    fn exclude(&self, s: &mut MeekState, c: usize, log: Option<&mut Vec<Round>>) {
        s.status[c] = Status::Excluded;
        s.keep[c] = 0;
        s.excluded_batches.push(vec![c]);
        if let Some(r) = log.and_then(|l| l.last_mut()) {
            r.excluded.push(self.ids[c].clone());
        }
    }

    fn open(&self, s: &MeekState) -> Possible {
        let n = self.ids.len();
        Possible {
            sure: BitSet::from_items(n, (0..n).filter(|&c| s.status[c] == Status::Elected)),
            maybe: BitSet::from_items(n, (0..n).filter(|&c| s.status[c] != Status::Excluded)),
            exact: true,
        }
    }

    fn round(&self, s: &MeekState) -> usize {
        s.round
    }
}

pub(crate) fn count(profile: &Profile, opts: &CountOptions) -> Result<Outcome, CountError> {
    let n = profile.num_candidates();
    let tb = TierBallots::new(profile, opts.unranked);
    let total = u128::from(tb.total_weight()) * u128::from(UNIT);
    let meek = Meek {
        tb: &tb,
        ids: profile.candidates(),
        seats: opts.seats,
        total,
    };
    let init = MeekState {
        status: vec![Status::Hopeful; n],
        keep: vec![UNIT; n],
        elected: Vec::new(),
        elected_batches: Vec::new(),
        excluded_batches: Vec::new(),
        round: 0,
        last: vec![0; n],
    };
    let order = opts
        .tie_break
        .as_ref()
        .map(|t| priorities(&t.order(profile.candidates())));
    // The pairwise matrix (for the Condorcet winner and the Smith set shown with every count)
    // is independent of the count: on a large profile it is computed on another thread.
    let (res, d) = if profile.num_lines() >= Reduced::PARALLEL_FROM {
        std::thread::scope(|scope| {
            let pairwise = scope.spawn(|| pairwise_matrix(profile, opts.unranked));
            let res = runoff::run(&meek, init, order.as_deref());
            let d = pairwise
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (res, d)
        })
    } else {
        let res = runoff::run(&meek, init, order.as_deref());
        (res, pairwise_matrix(profile, opts.unranked))
    };

    let st = &res.final_state;
    let mut tiers: Vec<Vec<usize>> = st.elected_batches.clone();
    let mut rest: Vec<usize> = (0..n)
        .filter(|&c| st.status[c] == Status::Hopeful)
        .collect();
    rest.sort_by_key(|&c| (std::cmp::Reverse(st.last[c]), c));
    tiers.extend(Meek::batches(&rest, &st.last));
    tiers.extend(st.excluded_batches.iter().rev().cloned());

    let mut out = super::base_outcome(profile, opts, Method::StvMeek, d);
    out.rounds = res.rounds;
    out.ties = res
        .ties
        .iter()
        .map(|t| t.record(profile.candidates()))
        .collect();
    out.log.push(format!(
        "Meek STV: fixed point 1e-9, Droop quota floor(V/(seats+1)) + 1e-9, omega {} vote",
        OMEGA as f64 / UNIT as f64
    ));
    super::finish_runoff(&mut out, tiers, &res.elected, &res.possible);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::test_support::{ids, profile};
    use crate::count::{Ballot, TieResolution, count as count_profile};

    #[test]
    fn surplus_transfers_fractionally() {
        // 2 seats, 9 votes: quota 3 + 1e-9. a has 6 (4 a>b, 2 a>c), b 1, c 2.
        let p = profile(
            &["a", "b", "c"],
            &[(&[0, 1], 4), (&[0, 2], 2), (&[1], 1), (&[2], 2)],
        );
        let o = count_profile(&p, &CountOptions::new(Method::StvMeek, 2)).unwrap();
        // a is elected in round 1; its surplus 3 goes 2/3 to b and 1/3 to c, so b and c end
        // near 3 each (which one is lower is decided by the 1e-9 rounding).
        assert_eq!(o.winners.first().map(String::as_str), Some("a"));
        assert_eq!(o.rounds[0].quota, Some(3.000000001));
        let r2 = &o.rounds[1];
        let a = r2
            .tallies
            .iter()
            .find(|t| t.candidate == "a")
            .unwrap()
            .votes;
        assert!((a - 3.0).abs() < 1e-5, "a keeps about the quota, got {a}");
    }

    #[test]
    fn equal_ranks_split() {
        // One seat: a=b on 4 ballots (2 votes each), c on 3; quota 3.5 + 1e-9. a and b tie for
        // exclusion and whichever stays wins with 4: the tie matters.
        let mut p = Profile::new(ids(&["a", "b", "c"])).unwrap();
        p.push_weighted(&Ballot::new(vec![Some(1), Some(1), None]), 4)
            .unwrap();
        p.push_weighted(&Ballot::new(vec![None, None, Some(1)]), 3)
            .unwrap();
        let o = count_profile(&p, &CountOptions::new(Method::StvMeek, 1)).unwrap();
        let r1: Vec<f64> = o.rounds[0].tallies.iter().map(|t| t.votes).collect();
        assert_eq!(r1, vec![2.0, 2.0, 3.0]);
        assert!(o.winners.is_empty());
        assert_eq!(o.ties_at_last_seat, ids(&["a", "b"]));
        assert_eq!(o.ties[0].resolution, TieResolution::Unresolved);
    }

    #[test]
    fn fills_remaining_seats_and_ranks_everyone() {
        let p = profile(&["a", "b", "c"], &[(&[0], 5), (&[1], 3), (&[2], 1)]);
        let o = count_profile(&p, &CountOptions::new(Method::StvMeek, 2)).unwrap();
        assert_eq!(o.winners, ids(&["a", "b"]));
        assert_eq!(o.ranking, vec![ids(&["a"]), ids(&["b"]), ids(&["c"])]);
        let o = count_profile(&p, &CountOptions::new(Method::StvMeek, 3)).unwrap();
        assert_eq!(o.winners, ids(&["a", "b", "c"]));
    }
}
