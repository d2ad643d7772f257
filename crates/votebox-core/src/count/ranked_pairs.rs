//! Ranked Pairs (Tideman), winning votes.
//!
//! * Every pair won outright (`d[x][y] > d[y][x]`) is a majority `x>y`. Majorities are sorted
//!   by winning votes `d[x][y]` descending, then by losing votes `d[y][x]` ascending. Pairs
//!   with equal (winning, losing) votes form a **group of equal strength**.
//! * Majorities are locked in that order unless they would create a cycle with those already
//!   locked. Pairwise ties (`d[x][y] = d[y][x]`) are never locked.
//! * The ranking groups candidates by the number of candidates above them in the locked
//!   graph (as for Schulze), so candidates left unordered share a tier.
//!
//! Within a group of equal strength the order matters only if the pairs that could each be
//! locked would form a cycle together. Then:
//! * with a tie-break order, the group's pairs are taken in Tideman's TBRC order (pair whose
//!   winner is more favoured first; same winner: pair whose loser is less favoured first);
//! * without one, every locking order is explored (every maximal acyclic choice); the ranking
//!   keeps only the orderings common to all branches, `winners` holds the candidates elected
//!   in every branch and `ties_at_last_seat` those elected in some. Exploration is bounded;
//!   past the bound the count fails with [`CountError::TieTooComplex`] (give a tie-break).

use std::collections::BTreeSet;

use super::bitset::BitSet;
use super::outcome::{Outcome, TieKind, TieRecord, TieResolution};
use super::pairwise::{pairwise_matrix, tiers_by_defeats};
use super::tiebreak::priorities;
use super::{CountError, CountOptions, Method, Profile};

/// Bound on distinct locked graphs kept at once when exploring equal-strength orders.
pub const MAX_BRANCHES: usize = 1024;
/// Bound on search steps spent enumerating the locking choices of one group.
const MAX_STEPS: usize = 200_000;

type Pairs = Vec<(usize, usize)>;

/// Locked graph as its transitive closure: `reach[a]` = candidates reachable from `a`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Locked {
    reach: Vec<BitSet>,
}

impl Locked {
    fn new(n: usize) -> Self {
        Self {
            reach: vec![BitSet::new(n); n],
        }
    }

    fn creates_cycle(&self, x: usize, y: usize) -> bool {
        self.reach[y].contains(x)
    }

    fn lock(&mut self, x: usize, y: usize) {
        let mut new = self.reach[y].clone();
        new.insert(y);
        for a in 0..self.reach.len() {
            if a == x || self.reach[a].contains(x) {
                self.reach[a].union_with(&new);
            }
        }
    }

    /// Locks all `pairs` if that is acyclic; returns None otherwise.
    fn lock_all(&self, pairs: &[(usize, usize)]) -> Option<Locked> {
        let mut l = self.clone();
        for &(x, y) in pairs {
            if l.creates_cycle(x, y) {
                return None;
            }
            l.lock(x, y);
        }
        Some(l)
    }

    fn above(&self, w: usize, v: usize) -> bool {
        self.reach[w].contains(v)
    }
}

/// `base` plus `pairs`, cycles allowed (reachability only).
fn with_all(base: &Locked, pairs: &[(usize, usize)]) -> Locked {
    let mut l = base.clone();
    for &(x, y) in pairs {
        l.lock(x, y);
    }
    l
}

/// Every maximal acyclic way of adding `pairs` (each acyclic on its own) to `base`.
///
/// A pair on no cycle of `base ∪ pairs` is in every maximal choice, so those are locked first
/// and only the others are branched on; a pair is skipped only if the pairs still to come can
/// close a cycle through it.
fn maximal_extensions(
    base: &Locked,
    pairs: &[(usize, usize)],
    out: &mut BTreeSet<Locked>,
    steps: &mut usize,
) -> Result<(), CountError> {
    fn go(
        cur: &Locked,
        pairs: &[(usize, usize)],
        i: usize,
        skipped: &mut Vec<(usize, usize)>,
        out: &mut BTreeSet<Locked>,
        steps: &mut usize,
    ) -> Result<(), CountError> {
        *steps += 1;
        if *steps > MAX_STEPS {
            return Err(CountError::TieTooComplex(Method::RankedPairs));
        }
        if i == pairs.len() {
            if skipped.iter().all(|&(x, y)| cur.creates_cycle(x, y)) {
                out.insert(cur.clone());
            }
            return Ok(());
        }
        let (x, y) = pairs[i];
        if cur.creates_cycle(x, y) {
            return go(cur, pairs, i + 1, skipped, out, steps);
        }
        let mut with = cur.clone();
        with.lock(x, y);
        go(&with, pairs, i + 1, skipped, out, steps)?;
        // Skipping is only maximal if what is still to come can block this pair.
        if with_all(cur, &pairs[i + 1..]).creates_cycle(x, y) {
            skipped.push((x, y));
            let r = go(cur, pairs, i + 1, skipped, out, steps);
            skipped.pop();
            r?;
        }
        Ok(())
    }
    let all = with_all(base, pairs);
    let (cyclic, acyclic): (Pairs, Pairs) =
        pairs.iter().partition(|&&(x, y)| all.creates_cycle(x, y));
    let start = with_all(base, &acyclic);
    go(&start, &cyclic, 0, &mut Vec::new(), out, steps)
}

pub(crate) fn count(profile: &Profile, opts: &CountOptions) -> Result<Outcome, CountError> {
    let n = profile.num_candidates();
    let ids = profile.candidates();
    let d = pairwise_matrix(profile, opts.unranked);
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for x in 0..n {
        for y in 0..n {
            if x != y && d.get(x, y) > d.get(y, x) {
                pairs.push((x, y));
            }
        }
    }
    let key = |&(x, y): &(usize, usize)| (std::cmp::Reverse(d.get(x, y)), d.get(y, x));
    pairs.sort_by_key(key);
    let mut groups: Vec<Vec<(usize, usize)>> = Vec::new();
    for p in pairs {
        match groups.last_mut() {
            Some(g) if key(&g[0]) == key(&p) => g.push(p),
            _ => groups.push(vec![p]),
        }
    }

    let prio = opts.tie_break.as_ref().map(|t| priorities(&t.order(ids)));
    let name = |(x, y): (usize, usize)| format!("{}>{}", ids[x], ids[y]);
    let mut states: BTreeSet<Locked> = BTreeSet::from([Locked::new(n)]);
    let mut log = Vec::new();
    let mut ties: Vec<TieRecord> = Vec::new();
    let mut steps = 0usize;

    for group in &groups {
        let (wv, lv) = (d.get(group[0].0, group[0].1), d.get(group[0].1, group[0].0));
        let mut next: BTreeSet<Locked> = BTreeSet::new();
        let mut conflict = false;
        for st in &states {
            let candidates: Vec<(usize, usize)> = group
                .iter()
                .copied()
                .filter(|&(x, y)| !st.creates_cycle(x, y))
                .collect();
            match st.lock_all(&candidates) {
                Some(l) => {
                    next.insert(l);
                }
                None => {
                    conflict = true;
                    match &prio {
                        Some(prio) => {
                            let mut ordered = group.clone();
                            ordered.sort_by_key(|&(x, y)| (prio[x], std::cmp::Reverse(prio[y])));
                            let mut l = st.clone();
                            let mut chosen = Vec::new();
                            for &(x, y) in &ordered {
                                if !l.creates_cycle(x, y) {
                                    l.lock(x, y);
                                    chosen.push(name((x, y)));
                                }
                            }
                            ties.push(pair_tie(ids, &ordered, TieResolution::TieBreak, chosen));
                            next.insert(l);
                        }
                        None => maximal_extensions(st, &candidates, &mut next, &mut steps)?,
                    }
                }
            }
        }
        if states.len() == 1 {
            let st = states.first().expect("one state");
            for &p in group {
                let verb = if st.creates_cycle(p.0, p.1) {
                    "skip (cycle)"
                } else if conflict {
                    "tied"
                } else {
                    "lock"
                };
                log.push(format!("{verb} {} ({wv}:{lv})", name(p)));
            }
        }
        if conflict && prio.is_none() {
            ties.push(pair_tie(ids, group, TieResolution::Unresolved, Vec::new()));
        }
        if next.len() > MAX_BRANCHES {
            return Err(CountError::TieTooComplex(Method::RankedPairs));
        }
        states = next;
    }

    let mut out = super::base_outcome(profile, opts, Method::RankedPairs, d);
    out.log = log;
    if states.len() == 1 {
        for t in &mut ties {
            if t.resolution == TieResolution::Unresolved {
                t.resolution = TieResolution::Irrelevant;
            }
        }
        out.ties = ties;
        let st = states.first().expect("one state");
        let (tiers, defeats) = tiers_by_defeats(n, |w, v| st.above(w, v));
        super::finish_ranked(&mut out, profile, opts, tiers, defeats);
        return Ok(out);
    }

    // Several possible locked graphs (no tie-break): keep what they agree on.
    out.ties = ties;
    let (tiers, defeats) = tiers_by_defeats(n, |w, v| states.iter().all(|s| s.above(w, v)));
    let mut sure = BitSet::full(n);
    let mut maybe = BitSet::new(n);
    for st in &states {
        let (t, _) = tiers_by_defeats(n, |w, v| st.above(w, v));
        let (won, tied, _) = super::split_seats(&t, opts.seats);
        let won = BitSet::from_items(n, won);
        sure.intersect_with(&won);
        maybe.union_with(&won);
        maybe.union_with(&BitSet::from_items(n, tied));
    }
    out.ranking = super::names(ids, &tiers);
    out.tier_defeats = defeats;
    out.winners = tiers
        .iter()
        .flatten()
        .filter(|&&c| sure.contains(c))
        .map(|&c| ids[c].clone())
        .collect();
    out.ties_at_last_seat = maybe
        .difference(&sure)
        .iter()
        .map(|c| ids[c].clone())
        .collect();
    if !out.ties_at_last_seat.is_empty() {
        out.ties.push(TieRecord {
            kind: TieKind::LastSeat,
            round: None,
            candidates: out.ties_at_last_seat.clone(),
            pairs: Vec::new(),
            resolution: TieResolution::Unresolved,
            chosen: Vec::new(),
        });
    }
    out.log.push(format!(
        "{} locking orders of equal-strength pairs give different results",
        states.len()
    ));
    Ok(out)
}

fn pair_tie(
    ids: &[String],
    pairs: &[(usize, usize)],
    resolution: TieResolution,
    chosen: Vec<String>,
) -> TieRecord {
    let mut cands: Vec<usize> = pairs.iter().flat_map(|&(x, y)| [x, y]).collect();
    cands.sort_unstable();
    cands.dedup();
    TieRecord {
        kind: TieKind::PairOrder,
        round: None,
        candidates: cands.into_iter().map(|c| ids[c].clone()).collect(),
        pairs: pairs
            .iter()
            .map(|&(x, y)| [ids[x].clone(), ids[y].clone()])
            .collect(),
        resolution,
        chosen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::test_support::{ids, profile};
    use crate::count::{Ballot, TieBreak, count as count_profile};

    #[test]
    fn locks_strongest_first_and_skips_cycles() {
        // a>b>c 4, b>c>a 3, c>a>b 2: a>b 6:3, b>c 7:2, c>a 5:4.
        let p = profile(
            &["a", "b", "c"],
            &[(&[0, 1, 2], 4), (&[1, 2, 0], 3), (&[2, 0, 1], 2)],
        );
        let o = count_profile(&p, &CountOptions::new(Method::RankedPairs, 1)).unwrap();
        assert_eq!(o.ranking, vec![ids(&["a"]), ids(&["b"]), ids(&["c"])]);
        assert_eq!(o.winners, ids(&["a"]));
        assert_eq!(
            o.log,
            vec!["lock b>c (7:2)", "lock a>b (6:3)", "skip (cycle) c>a (5:4)"]
        );
    }

    #[test]
    fn perfect_cycle_is_a_tie_unless_broken() {
        // a>b>c, b>c>a, c>a>b once each: every majority is 2:1.
        let p = profile(
            &["a", "b", "c"],
            &[(&[0, 1, 2], 1), (&[1, 2, 0], 1), (&[2, 0, 1], 1)],
        );
        let o = count_profile(&p, &CountOptions::new(Method::RankedPairs, 1)).unwrap();
        assert!(o.winners.is_empty());
        assert_eq!(o.ties_at_last_seat, ids(&["a", "b", "c"]));
        assert_eq!(o.ranking, vec![ids(&["a", "b", "c"])]);
        assert_eq!(o.ties[0].kind, TieKind::PairOrder);
        assert_eq!(o.ties[0].resolution, TieResolution::Unresolved);

        let tb = TieBreak::from_order(ids(&["b", "a", "c"]));
        let o = count_profile(
            &p,
            &CountOptions::new(Method::RankedPairs, 1).with_tie_break(tb),
        )
        .unwrap();
        // TBRC: b>c first (winner b most favoured), then a>b; c>a would close the cycle.
        assert_eq!(o.winners, ids(&["a"]));
        assert_eq!(o.ranking, vec![ids(&["a"]), ids(&["b"]), ids(&["c"])]);
        assert_eq!(o.ties[0].resolution, TieResolution::TieBreak);
        assert_eq!(o.ties[0].chosen, vec!["b>c", "a>b"]);
    }

    #[test]
    fn tied_group_without_conflict_is_not_a_tie() {
        // a>b and a>c with equal strength, no cycle possible; b = c.
        let mut p = Profile::new(ids(&["a", "b", "c"])).unwrap();
        p.push_weighted(&Ballot::new(vec![Some(1), Some(2), Some(2)]), 2)
            .unwrap();
        let o = count_profile(&p, &CountOptions::new(Method::RankedPairs, 1)).unwrap();
        assert_eq!(o.winners, ids(&["a"]));
        assert!(o.ties.is_empty());
        // b and c are unordered: they share a tier.
        assert_eq!(o.ranking, vec![ids(&["a"]), ids(&["b", "c"])]);
    }
}
