//! Shared driver for the exclusion-based methods (IRV, STV): tie handling by exploration.
//!
//! When several candidates are tied for exclusion and no tie-break is given, every choice is
//! explored (depth first, memoised on the sets of elected and excluded candidates) to find
//! the candidates elected in **every** branch ("sure") and in **some** branch ("maybe").
//! The outcome then reports `winners` = sure and `ties_at_last_seat` = maybe − sure, so a tie
//! is reported exactly when it matters. The rounds shown follow the branch that excludes the
//! first tied candidate in input order. Exploration is bounded by [`MAX_EXPLORED_STATES`]; past
//! that bound the remaining branches are over-approximated (everyone still in the count is a
//! "maybe"), which can only widen the reported tie.

use std::collections::HashMap;
use std::hash::Hash;

use super::bitset::BitSet;
use super::outcome::{Round, TieKind, TieRecord, TieResolution};

/// Bound on distinct tie states explored per count.
pub const MAX_EXPLORED_STATES: usize = 4096;

/// Result of advancing a count until it finishes or meets a tie.
pub(crate) enum Advance {
    /// The count is over; the elected candidates in order of election.
    Finished(Vec<usize>),
    /// Candidates tied for exclusion. `symmetric` = every candidate still hoping has no
    /// votes at all, so any of them can end up elected (no need to explore).
    Tie { tied: Vec<usize>, symmetric: bool },
}

/// An exclusion-based count (IRV, STV) as a state machine.
pub(crate) trait Runoff {
    type State: Clone;
    /// What identifies a state at a tie for memoisation: IRV and Meek STV use (elected,
    /// excluded); Scottish STV, whose paper values depend on the order of events, uses the
    /// sequence of lot decisions.
    type Key: Clone + Eq + Hash;
    /// Number of candidates.
    fn num_candidates(&self) -> usize;
    /// Identifies a state at a tie.
    fn key(&self, s: &Self::State) -> Self::Key;
    /// Runs rounds until the count finishes or a tie for exclusion needs a decision.
    fn advance(&self, s: &mut Self::State, log: Option<&mut Vec<Round>>) -> Advance;
    /// Excludes `c` (recorded in the last logged round).
    fn exclude(&self, s: &mut Self::State, c: usize, log: Option<&mut Vec<Round>>);
    /// What is still open in state `s`: sure = elected so far, maybe = elected ∪ hopeful.
    fn open(&self, s: &Self::State) -> Possible;
    /// Current round number.
    fn round(&self, s: &Self::State) -> usize;
}

/// Candidates elected in every branch (`sure`) and in some branch (`maybe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Possible {
    pub(crate) sure: BitSet,
    pub(crate) maybe: BitSet,
    /// False when the exploration bound cut some branch short.
    pub(crate) exact: bool,
}

impl Possible {
    pub(crate) fn decided(n: usize, winners: &[usize]) -> Self {
        let s = BitSet::from_items(n, winners.iter().copied());
        Self {
            sure: s.clone(),
            maybe: s,
            exact: true,
        }
    }

    fn merge(&mut self, other: &Possible) {
        self.sure.intersect_with(&other.sure);
        self.maybe.union_with(&other.maybe);
        self.exact &= other.exact;
    }
}

struct Explorer<'r, R: Runoff> {
    r: &'r R,
    memo: HashMap<R::Key, Possible>,
    states: usize,
}

impl<R: Runoff> Explorer<'_, R> {
    fn possible(&mut self, mut s: R::State) -> Possible {
        // `advance` runs until the count finishes or meets a tie.
        match self.r.advance(&mut s, None) {
            Advance::Finished(w) => Possible::decided(self.r.num_candidates(), &w),
            Advance::Tie { tied, symmetric } => {
                if symmetric {
                    return self.r.open(&s);
                }
                let key = self.r.key(&s);
                if let Some(p) = self.memo.get(&key) {
                    return p.clone();
                }
                if self.states >= MAX_EXPLORED_STATES {
                    let mut p = self.r.open(&s);
                    p.exact = false;
                    return p;
                }
                self.states += 1;
                let p = self.options(&s, &tied).1;
                self.memo.insert(key, p.clone());
                p
            }
        }
    }

    /// Explores excluding each tied candidate; returns whether all choices agree and the
    /// merged result.
    fn options(&mut self, s: &R::State, tied: &[usize]) -> (bool, Possible) {
        let mut all_same = true;
        let mut acc: Option<Possible> = None;
        for &t in tied {
            let mut s2 = s.clone();
            self.r.exclude(&mut s2, t, None);
            let p = self.possible(s2);
            match &mut acc {
                None => acc = Some(p),
                Some(a) => {
                    all_same &= *a == p;
                    a.merge(&p);
                }
            }
        }
        (all_same, acc.expect("a tie has at least two candidates"))
    }
}

/// A tie met on the reported path (candidate indices).
pub(crate) struct PathTie {
    pub(crate) round: usize,
    pub(crate) tied: Vec<usize>,
    pub(crate) resolution: TieResolution,
    pub(crate) excluded: usize,
}

impl PathTie {
    pub(crate) fn record(&self, ids: &[String]) -> TieRecord {
        TieRecord {
            kind: TieKind::Exclusion,
            round: Some(self.round),
            candidates: self.tied.iter().map(|&c| ids[c].clone()).collect(),
            pairs: Vec::new(),
            resolution: self.resolution,
            chosen: vec![ids[self.excluded].clone()],
        }
    }
}

/// The reported run.
pub(crate) struct RunResult<S> {
    /// Elected on the reported path, in order of election.
    pub(crate) elected: Vec<usize>,
    /// Over all branches.
    pub(crate) possible: Possible,
    pub(crate) rounds: Vec<Round>,
    pub(crate) ties: Vec<PathTie>,
    pub(crate) final_state: S,
}

/// Runs the count, logging rounds; `priority[c]` (0 = most favoured) breaks exclusion ties
/// when given: the least favoured tied candidate is excluded.
pub(crate) fn run<R: Runoff>(
    r: &R,
    init: R::State,
    priority: Option<&[usize]>,
) -> RunResult<R::State> {
    let mut s = init;
    let mut rounds = Vec::new();
    let mut ties = Vec::new();
    let mut overall: Option<Possible> = None;
    let mut explorer = Explorer {
        r,
        memo: HashMap::new(),
        states: 0,
    };
    loop {
        match r.advance(&mut s, Some(&mut rounds)) {
            Advance::Finished(elected) => {
                let possible =
                    overall.unwrap_or_else(|| Possible::decided(r.num_candidates(), &elected));
                return RunResult {
                    elected,
                    possible,
                    rounds,
                    ties,
                    final_state: s,
                };
            }
            Advance::Tie { tied, .. } => {
                let round = r.round(&s);
                let (excluded, resolution) = match priority {
                    Some(prio) => {
                        let victim = *tied
                            .iter()
                            .max_by_key(|&&c| prio[c])
                            .expect("a tie has candidates");
                        (victim, TieResolution::TieBreak)
                    }
                    None => {
                        let (all_same, merged) = explorer.options(&s, &tied);
                        if overall.is_none() {
                            overall = Some(merged);
                        }
                        let res = if all_same {
                            TieResolution::Irrelevant
                        } else {
                            TieResolution::Unresolved
                        };
                        (tied[0], res)
                    }
                };
                ties.push(PathTie {
                    round,
                    tied,
                    resolution,
                    excluded,
                });
                r.exclude(&mut s, excluded, Some(&mut rounds));
            }
        }
    }
}
