//! Single transferable vote as the Scottish Local Government Elections Order 2007 counts it
//! (SSI 2007/42, Schedule 1, Part III, rules 45–52): the weighted inclusive Gregory method.
//!
//! **Valid papers (rule 45).** A ballot is read as its tiers under the unranked rule. A paper
//! with no candidate ranked first, or with several candidates sharing the first rank, has no
//! first preference and is not valid (the Order rejects such papers); it is left out of the
//! count and of the quota. Later, a tier of two or more candidates is an ambiguous preference:
//! the paper ends there (it becomes non-transferable when it reaches that tier). Gaps in the
//! rank numbers are ignored (only the order matters).
//!
//! **Quota (rule 46).** `floor(valid papers / (seats + 1)) + 1` whole votes, fixed for the
//! whole count. A continuing candidate whose votes reach it is deemed elected (rule 47).
//!
//! **Arithmetic.** Exact integers in units of 0.00001 vote ([`UNIT`] = 100 000 per vote),
//! `u128` totals; no floating point is used for any decision (the `f64` values in
//! [`super::Round`] and [`super::Stage`] are for display).
//!
//! **Stages.** Stage 1 counts first preferences. Each later stage does one thing:
//! - **Surplus (rules 48–49).** While an elected candidate's votes exceed the quota and seats
//!   remain, the largest surplus is transferred first. *All* of that candidate's papers move
//!   (inclusive) to their next available preference, each at the transfer value
//!   `surplus × value of the paper when received ÷ the candidate's total`, truncated to five
//!   decimals (rule 48(3)); papers with no next available preference are non-transferable at
//!   that value. The candidate keeps the quota. What truncation drops is recorded as "loss of
//!   value due to truncation", so that at every stage
//!   `Σ votes + non-transferable + loss = valid papers`.
//!   Equal surpluses: the candidate with more votes at the end of the most recent preceding
//!   stage at which they had unequal votes goes first (rule 49(2)); equal at every stage: lot
//!   (rule 49(3)).
//! - **Exclusion (rules 50–51).** When no surplus is left to transfer, the continuing
//!   candidate with the fewest votes is excluded (one candidate per stage; the Order has no
//!   bulk exclusion) and each of their papers moves at its current value (rule 50(4)). Equal
//!   lowest: the candidate with fewer votes at the end of the most recent preceding stage at
//!   which they had unequal votes is excluded (rule 51(2)(a)); equal at every stage: lot
//!   (rule 51(2)(b)). With more than two tied, the look-back repeats among those still tied.
//!
//! **End (rule 52).** When the continuing candidates are no more than the vacancies left, they
//! are all deemed elected and no further transfer is made (52(2)); this is checked after every
//! stage, and right after an exclusion (rule 50(5)), before the excluded candidate's papers
//! move.
//!
//! **Lots.** The lot is never drawn silently: with a [`super::TieBreak`] the order decides
//! (the least favoured is excluded; among equal surpluses the most favoured goes first), and
//! every such decision is in [`super::Outcome::ties`]; without one every possible draw is
//! explored (see [`super::runoff`]) and the tie is reported when it changes who is elected.
//! Candidates with no votes at all are excluded in input order without a lot when excluding
//! all of them cannot change who is elected (each has had zero votes at every stage, so the
//! order only moves papers worth nothing).
//!
//! **Count sheet.** Every stage is a [`super::Round`] (votes of every candidate still in the
//! count, cumulative non-transferable votes as `exhausted`, the quota, who was elected or
//! excluded) with a [`super::Stage`]: what moved, at which values, non-transferable, loss, and
//! why each decision was taken, with rule numbers. A one-line summary of each stage also goes
//! to [`super::Outcome::log`].

use std::cmp::Reverse;
use std::collections::BTreeSet;

use super::bitset::BitSet;
use super::outcome::{Outcome, Round, Stage, StageKind, Tally, TieKind};
use super::pairwise::pairwise_matrix;
use super::profile::TierBallots;
use super::runoff::{self, Advance, Possible, Runoff};
use super::tiebreak::priorities;
use super::{CountError, CountOptions, Method, Profile};

/// Units per vote: the Order computes transfer values to five decimal places.
pub const UNIT: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Continuing,
    Elected,
    Excluded,
}

/// What a lot decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lot {
    /// Which of equal surpluses goes first (rule 49(3)).
    Surplus,
    /// Which of the equal lowest is excluded (rule 51(2)(b)).
    Exclusion,
}

struct Scottish<'a> {
    tb: &'a TierBallots,
    ids: &'a [String],
    seats: usize,
    /// Valid papers (rule 45(3)).
    valid: u64,
    /// Papers without a single first preference.
    invalid: u64,
    /// Quota in units.
    quota: u128,
}

/// A count in progress. Every paper of one ballot group follows the same path, so a group is
/// held as a whole by one candidate, at one value.
#[derive(Clone)]
struct State {
    status: Vec<Status>,
    /// Votes credited to each candidate, in units.
    votes: Vec<u128>,
    /// Ballot groups each candidate holds.
    piles: Vec<Vec<u32>>,
    /// Per ballot group: the tier of its current preference.
    pos: Vec<u32>,
    /// Per ballot group: the value of each paper when received by its holder, in units.
    value: Vec<u64>,
    /// Elected candidates whose surplus is still to be transferred.
    pending: Vec<usize>,
    non_transferable: u128,
    loss: u128,
    /// Every candidate's votes at the end of each stage (for rules 49(2) and 51(2)(a)).
    history: Vec<Vec<u128>>,
    elected: Vec<usize>,
    elected_batches: Vec<Vec<usize>>,
    excluded: Vec<usize>,
    stage: usize,
    /// Lot decisions so far: the exploration memo key (paper values depend on the order of
    /// events, so the sets of elected and excluded candidates do not identify a state).
    decisions: Vec<usize>,
    /// What each lot decided, in order (to label the reported ties).
    lots: Vec<Lot>,
    /// The lot about to be settled, and the candidates it fell on so far.
    pending_lot: Option<Lot>,
    lot_losers: Vec<usize>,
}

fn display(units: u128) -> f64 {
    units as f64 / UNIT as f64
}

/// Exactly five decimals, as on a count sheet.
fn fmt5(units: u128) -> String {
    let unit = u128::from(UNIT);
    format!("{}.{:05}", units / unit, units % unit)
}

/// The single first preference of ballot group `b`, if it has one.
fn first_preference(tb: &TierBallots, b: usize) -> Option<usize> {
    match tb.tiers(b).next() {
        Some([c]) => Some(usize::from(*c)),
        _ => None,
    }
}

/// What one stage moved.
#[derive(Default)]
struct Moved {
    /// Change of each candidate's votes.
    change: Vec<i128>,
    non_transferable: u128,
    loss: u128,
    values: BTreeSet<u64>,
}

impl Scottish<'_> {
    fn n(&self) -> usize {
        self.ids.len()
    }

    fn name(&self, c: usize) -> &str {
        &self.ids[c]
    }

    fn names(&self, cs: &[usize]) -> String {
        cs.iter()
            .map(|&c| self.name(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn continuing(&self, s: &State) -> Vec<usize> {
        (0..self.n())
            .filter(|&c| s.status[c] == Status::Continuing)
            .collect()
    }

    /// The next available preference of group `b` (a continuing candidate, in consecutive
    /// order, elected and excluded candidates skipped), or `None` when the paper has none left
    /// or reaches an ambiguous (tied) preference.
    fn next_preference(&self, s: &State, b: usize) -> Option<(u32, usize)> {
        for (t, tier) in self.tb.tiers(b).enumerate().skip(s.pos[b] as usize + 1) {
            let [c] = tier else {
                return None;
            };
            let c = usize::from(*c);
            if s.status[c] == Status::Continuing {
                return Some((t as u32, c));
            }
        }
        None
    }

    /// Moves every paper `from` holds to its next available preference, each at
    /// `new_value(value when received)`; papers with no next preference are set aside as
    /// non-transferable at that value.
    fn transfer(&self, s: &mut State, from: usize, new_value: impl Fn(u64) -> u64) -> Moved {
        let mut moved = Moved {
            change: vec![0; self.n()],
            ..Moved::default()
        };
        for b in std::mem::take(&mut s.piles[from]) {
            let b = b as usize;
            let w = u128::from(self.tb.weights[b]);
            let v = new_value(s.value[b]);
            let amount = u128::from(v) * w;
            match self.next_preference(s, b) {
                Some((t, c)) => {
                    s.pos[b] = t;
                    s.value[b] = v;
                    s.piles[c].push(b as u32);
                    s.votes[c] += amount;
                    moved.change[c] += amount as i128;
                    moved.values.insert(v);
                }
                None => moved.non_transferable += amount,
            }
        }
        s.non_transferable += moved.non_transferable;
        moved
    }

    /// Narrows `tied` by looking back over the stages, most recent first: at each stage keep
    /// the candidates with the most (`highest`) or fewest votes among those still tied. A
    /// stage where they are all equal keeps them all, so this finds "the most recent preceding
    /// stage at which they had unequal numbers of votes" (rules 49(2), 51(2)(a)), and repeats
    /// among those still level there. Returns the candidates still tied and the stage that
    /// separated them last (if any).
    fn look_back(
        &self,
        s: &State,
        mut tied: Vec<usize>,
        highest: bool,
    ) -> (Vec<usize>, Option<usize>) {
        let mut decided_at = None;
        for (i, votes) in s.history.iter().enumerate().rev() {
            if tied.len() <= 1 {
                break;
            }
            let pick = if highest {
                tied.iter().map(|&c| votes[c]).max()
            } else {
                tied.iter().map(|&c| votes[c]).min()
            };
            let Some(pick) = pick else { break };
            let before = tied.len();
            tied.retain(|&c| votes[c] == pick);
            if tied.len() < before {
                decided_at = Some(i + 1);
            }
        }
        (tied, decided_at)
    }

    /// Closes a stage: candidates reaching the quota are deemed elected (rule 47), the votes
    /// are recorded for the tie rules, and the stage is logged.
    #[allow(clippy::too_many_arguments)]
    fn end_stage(
        &self,
        s: &mut State,
        kind: StageKind,
        from: Option<usize>,
        moved: Moved,
        mut notes: Vec<String>,
        excluded_now: Option<usize>,
        log: Option<&mut Vec<Round>>,
    ) {
        s.stage += 1;
        let mut reached: Vec<usize> = self
            .continuing(s)
            .into_iter()
            .filter(|&c| s.votes[c] >= self.quota)
            .collect();
        reached.sort_by_key(|&c| (Reverse(s.votes[c]), c));
        let vacancies = self.seats - s.elected.len();
        // At most `seats` candidates can hold a Droop quota; guard anyway.
        reached.truncate(vacancies);
        for &c in &reached {
            s.status[c] = Status::Elected;
            s.elected.push(c);
            if s.votes[c] > self.quota {
                s.pending.push(c);
            }
            notes.push(format!(
                "{} elected: {} votes reach the quota of {} (rule 47)",
                self.name(c),
                fmt5(s.votes[c]),
                fmt5(self.quota)
            ));
        }
        s.elected_batches.extend(batches(&reached, &s.votes));
        s.history.push(s.votes.clone());
        let Some(log) = log else { return };
        log.push(Round {
            number: s.stage,
            tallies: (0..self.n())
                .filter(|&c| s.status[c] != Status::Excluded || Some(c) == excluded_now)
                .map(|c| Tally {
                    candidate: self.ids[c].clone(),
                    votes: display(s.votes[c]),
                })
                .collect(),
            exhausted: display(s.non_transferable),
            quota: Some(display(self.quota)),
            keep_values: Vec::new(),
            elected: reached.iter().map(|&c| self.ids[c].clone()).collect(),
            excluded: excluded_now
                .map(|c| self.ids[c].clone())
                .into_iter()
                .collect(),
            stage: Some(Stage {
                kind,
                from: from.map(|c| self.ids[c].clone()),
                transfer_values: moved
                    .values
                    .iter()
                    .rev()
                    .map(|&v| display(u128::from(v)))
                    .collect(),
                transfers: moved
                    .change
                    .iter()
                    .enumerate()
                    .filter(|&(_, &d)| d != 0)
                    .map(|(c, &d)| Tally {
                        candidate: self.ids[c].clone(),
                        votes: d as f64 / UNIT as f64,
                    })
                    .collect(),
                non_transferable: display(moved.non_transferable),
                loss: display(moved.loss),
                total_loss: display(s.loss),
                notes,
            }),
        });
    }

    /// Stage 1: first preferences (rule 45).
    fn first_stage(&self, s: &mut State, log: Option<&mut Vec<Round>>) {
        let mut moved = Moved {
            change: vec![0; self.n()],
            ..Moved::default()
        };
        for b in 0..self.tb.len() {
            if let Some(c) = first_preference(self.tb, b) {
                let amount = u128::from(UNIT) * u128::from(self.tb.weights[b]);
                s.piles[c].push(b as u32);
                s.value[b] = UNIT;
                s.votes[c] += amount;
                moved.change[c] += amount as i128;
            }
        }
        let mut notes = vec![format!(
            "quota = floor({} valid papers / ({} seats + 1)) + 1 = {} (rule 46)",
            self.valid,
            self.seats,
            fmt5(self.quota)
        )];
        if self.invalid > 0 {
            notes.push(format!(
                "{} paper(s) without a single first preference are not valid and not counted",
                self.invalid
            ));
        }
        self.end_stage(
            s,
            StageKind::FirstPreferences,
            None,
            moved,
            notes,
            None,
            log,
        );
    }

    /// Transfers the surplus of `e` (rule 48), `notes` saying why it goes now.
    fn surplus_stage(
        &self,
        s: &mut State,
        e: usize,
        mut notes: Vec<String>,
        log: Option<&mut Vec<Round>>,
    ) {
        let total = s.votes[e];
        let surplus = total - self.quota;
        let mut moved = self.transfer(s, e, |v| {
            // Rule 48(3): surplus × value when received ÷ total, to five decimals, any
            // remainder ignored. Both sides are in units, so the quotient is in units.
            let tv = surplus * u128::from(v) / total;
            u64::try_from(tv).expect("a transfer value is at most the paper's value")
        });
        let passed: u128 =
            moved.change.iter().map(|&d| d as u128).sum::<u128>() + moved.non_transferable;
        moved.loss = surplus - passed;
        moved.change[e] = -(surplus as i128);
        s.loss += moved.loss;
        s.votes[e] = self.quota;
        s.pending.retain(|&c| c != e);
        notes.push(format!(
            "surplus of {}: {} − quota {} = {}; every paper {} holds moves at surplus × its value \
             ÷ {} truncated to 5 decimals (rule 48(3))",
            self.name(e),
            fmt5(total),
            fmt5(self.quota),
            fmt5(surplus),
            self.name(e),
            fmt5(total)
        ));
        self.end_stage(s, StageKind::Surplus, Some(e), moved, notes, None, log);
    }

    /// Excludes `x` and transfers their papers at their current values (rule 50), unless the
    /// last vacancies are then filled under rule 52.
    fn exclusion_stage(
        &self,
        s: &mut State,
        x: usize,
        mut notes: Vec<String>,
        log: Option<&mut Vec<Round>>,
    ) {
        s.status[x] = Status::Excluded;
        s.excluded.push(x);
        let vacancies = self.seats - s.elected.len();
        let moved = if self.continuing(s).len() <= vacancies {
            notes.push(format!(
                "{}'s papers are not transferred: the last vacancies are filled under rule 52 \
                 (rules 50(5), 52(2))",
                self.name(x)
            ));
            Moved {
                change: vec![0; self.n()],
                ..Moved::default()
            }
        } else {
            let before = s.votes[x];
            let mut moved = self.transfer(s, x, |v| v);
            moved.change[x] = -(before as i128);
            s.votes[x] = 0;
            moved
        };
        self.end_stage(s, StageKind::Exclusion, Some(x), moved, notes, Some(x), log);
    }
}

/// Groups candidates (sorted by votes, most first) into runs of equal votes.
fn batches(sorted: &[usize], votes: &[u128]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut prev = None;
    for &c in sorted {
        match out.last_mut() {
            Some(b) if prev == Some(votes[c]) => b.push(c),
            _ => out.push(vec![c]),
        }
        prev = Some(votes[c]);
    }
    out
}

impl Runoff for Scottish<'_> {
    type State = State;
    type Key = Vec<usize>;

    fn num_candidates(&self) -> usize {
        self.n()
    }

    fn key(&self, s: &State) -> Vec<usize> {
        s.decisions.clone()
    }

    fn advance(&self, s: &mut State, mut log: Option<&mut Vec<Round>>) -> Advance {
        if s.stage == 0 {
            self.first_stage(s, log.as_deref_mut());
        }
        loop {
            let vacancies = self.seats - s.elected.len();
            if vacancies == 0 {
                return Advance::Finished(s.elected.clone());
            }
            let mut continuing = self.continuing(s);
            // Rule 52(1): as many continuing candidates as vacancies (or fewer, when there
            // are fewer candidates than seats): all elected, no further transfer (52(2)).
            if continuing.len() <= vacancies {
                continuing.sort_by_key(|&c| (Reverse(s.votes[c]), c));
                for &c in &continuing {
                    s.status[c] = Status::Elected;
                    s.elected.push(c);
                }
                s.elected_batches.extend(batches(&continuing, &s.votes));
                if let Some(r) = log.as_deref_mut().and_then(|l| l.last_mut()) {
                    r.elected
                        .extend(continuing.iter().map(|&c| self.ids[c].clone()));
                    if let Some(st) = &mut r.stage {
                        for &c in &continuing {
                            st.notes.push(format!(
                                "{} elected: {} continuing candidate(s) for {} vacancy(ies) \
                                 (rule 52(1))",
                                self.name(c),
                                continuing.len(),
                                vacancies
                            ));
                        }
                    }
                }
                return Advance::Finished(s.elected.clone());
            }

            // Rules 48–49: the largest surplus first.
            if let Some(max) = s.pending.iter().map(|&c| s.votes[c]).max() {
                let tied: Vec<usize> = s
                    .pending
                    .iter()
                    .copied()
                    .filter(|&c| s.votes[c] == max)
                    .collect();
                let mut notes = Vec::new();
                let first = if tied.len() == 1 {
                    tied[0]
                } else {
                    let (left, at) = self.look_back(s, tied.clone(), true);
                    if let [c] = left[..] {
                        notes.push(format!(
                            "equal surpluses of {}: {} had the most votes at the end of stage \
                             {}, the most recent at which they differed (rule 49(2))",
                            self.names(&tied),
                            self.name(c),
                            at.unwrap_or(0)
                        ));
                        c
                    } else {
                        let open: Vec<usize> = left
                            .iter()
                            .copied()
                            .filter(|c| !s.lot_losers.contains(c))
                            .collect();
                        if let [c] = open[..] {
                            notes.push(format!(
                                "equal surpluses of {}, equal at every stage: by lot, {}'s \
                                 goes first (rule 49(3); see ties)",
                                self.names(&left),
                                self.name(c)
                            ));
                            c
                        } else {
                            s.pending_lot = Some(Lot::Surplus);
                            return Advance::Tie {
                                tied: open,
                                symmetric: false,
                            };
                        }
                    }
                };
                s.lot_losers.clear();
                self.surplus_stage(s, first, notes, log.as_deref_mut());
                continue;
            }

            // Rules 50–51: exclude the lowest.
            let min = continuing.iter().map(|&c| s.votes[c]).min().unwrap_or(0);
            let tied: Vec<usize> = continuing
                .iter()
                .copied()
                .filter(|&c| s.votes[c] == min)
                .collect();
            let mut notes = vec![format!(
                "{} has the fewest votes ({}) (rule 50(1))",
                self.names(&tied),
                fmt5(min)
            )];
            let victim = if tied.len() == 1 {
                tied[0]
            } else if min == 0 && continuing.len() - tied.len() >= vacancies {
                // Continuing candidates never lose votes, so these have had none at any
                // stage: equal everywhere, and all of them go before the rest is decided.
                notes.push(format!(
                    "{} had no votes at any stage; all of them will be excluded whatever the \
                     lot, so the order (input order) cannot change the result",
                    self.names(&tied)
                ));
                tied[0]
            } else {
                let (left, at) = self.look_back(s, tied.clone(), false);
                if let [c] = left[..] {
                    notes.push(format!(
                        "{} had the fewest votes at the end of stage {}, the most recent at \
                         which they differed (rule 51(2)(a))",
                        self.name(c),
                        at.unwrap_or(0)
                    ));
                    c
                } else if let Some(&c) = s.lot_losers.iter().find(|c| left.contains(c)) {
                    notes.push(format!(
                        "{} equal at every stage: the lot fell on {} (rule 51(2)(b); see ties)",
                        self.names(&left),
                        self.name(c)
                    ));
                    c
                } else {
                    s.pending_lot = Some(Lot::Exclusion);
                    return Advance::Tie {
                        symmetric: min == 0 && left.len() == continuing.len(),
                        tied: left,
                    };
                }
            };
            s.lot_losers.clear();
            notes.push(format!("{} excluded (rule 50(1))", self.name(victim)));
            self.exclusion_stage(s, victim, notes, log.as_deref_mut());
        }
    }

    /// The lot fell on `c`: for an exclusion, `c` is excluded; for equal surpluses, `c`'s goes
    /// after the others tied with it. The next [`Runoff::advance`] applies it.
    fn exclude(&self, s: &mut State, c: usize, _log: Option<&mut Vec<Round>>) {
        s.decisions.push(c);
        s.lots.push(s.pending_lot.take().unwrap_or(Lot::Exclusion));
        s.lot_losers.push(c);
    }

    fn open(&self, s: &State) -> Possible {
        let n = self.n();
        Possible {
            sure: BitSet::from_items(n, (0..n).filter(|&c| s.status[c] == Status::Elected)),
            maybe: BitSet::from_items(n, (0..n).filter(|&c| s.status[c] != Status::Excluded)),
            exact: true,
        }
    }

    fn round(&self, s: &State) -> usize {
        s.stage
    }
}

/// One line per stage for [`Outcome::log`] (shown on the officer results page).
fn stage_line(r: &Round) -> Option<String> {
    let st = r.stage.as_ref()?;
    let num = |v: f64| format!("{v:.5}");
    let what = match (st.kind, &st.from) {
        (StageKind::FirstPreferences, _) => "first preferences".to_owned(),
        (StageKind::Surplus, Some(c)) => format!("surplus of {c}"),
        (StageKind::Exclusion, Some(c)) => format!("exclusion of {c}"),
        (_, None) => "transfer".to_owned(),
    };
    let moves: Vec<String> = st
        .transfers
        .iter()
        .map(|t| {
            format!(
                "{} {}{}",
                t.candidate,
                if t.votes > 0.0 { "+" } else { "" },
                num(t.votes)
            )
        })
        .collect();
    let values: Vec<String> = st.transfer_values.iter().map(|&v| num(v)).collect();
    let mut line = format!("Stage {}, {what}: {}", r.number, moves.join(", "));
    if !values.is_empty() {
        line.push_str(&format!("; transfer value(s) {}", values.join(", ")));
    }
    line.push_str(&format!(
        "; non-transferable +{} (total {}); loss due to truncation {} (total {})",
        num(st.non_transferable),
        num(r.exhausted),
        num(st.loss),
        num(st.total_loss)
    ));
    for n in &st.notes {
        line.push_str("; ");
        line.push_str(n);
    }
    Some(line)
}

pub(crate) fn count(profile: &Profile, opts: &CountOptions) -> Result<Outcome, CountError> {
    let n = profile.num_candidates();
    let tb = TierBallots::new(profile, opts.unranked);
    if tb.len() > u32::MAX as usize {
        return Err(CountError::Overflow("too many distinct ballots"));
    }
    let valid: u64 = (0..tb.len())
        .filter(|&b| first_preference(&tb, b).is_some())
        .map(|b| tb.weights[b])
        .sum();
    // Rule 46: the quota in whole votes.
    let quota_votes = valid / (opts.seats as u64 + 1) + 1;
    let sc = Scottish {
        tb: &tb,
        ids: profile.candidates(),
        seats: opts.seats,
        valid,
        invalid: tb.total_weight() - valid,
        quota: u128::from(quota_votes) * u128::from(UNIT),
    };
    let init = State {
        status: vec![Status::Continuing; n],
        votes: vec![0; n],
        piles: vec![Vec::new(); n],
        pos: vec![0; tb.len()],
        value: vec![0; tb.len()],
        pending: Vec::new(),
        non_transferable: 0,
        loss: 0,
        history: Vec::new(),
        elected: Vec::new(),
        elected_batches: Vec::new(),
        excluded: Vec::new(),
        stage: 0,
        decisions: Vec::new(),
        lots: Vec::new(),
        pending_lot: None,
        lot_losers: Vec::new(),
    };
    let order = opts
        .tie_break
        .as_ref()
        .map(|t| priorities(&t.order(profile.candidates())));
    let res = runoff::run(&sc, init, order.as_deref());

    // Ranking on the reported path: elected in order of election, then the others still in
    // the count by their last votes, then the excluded, last excluded first.
    let st = &res.final_state;
    let mut tiers: Vec<Vec<usize>> = st.elected_batches.clone();
    let mut rest: Vec<usize> = (0..n)
        .filter(|&c| st.status[c] == Status::Continuing)
        .collect();
    rest.sort_by_key(|&c| (Reverse(st.votes[c]), c));
    tiers.extend(batches(&rest, &st.votes));
    tiers.extend(st.excluded.iter().rev().map(|&c| vec![c]));

    let d = pairwise_matrix(profile, opts.unranked);
    let mut out = super::base_outcome(profile, opts, Method::StvScottish, d);
    out.ties = res
        .ties
        .iter()
        .map(|t| t.record(profile.candidates()))
        .collect();
    for (t, lot) in out.ties.iter_mut().zip(&st.lots) {
        if *lot == Lot::Surplus {
            t.kind = TieKind::SurplusOrder;
        }
    }
    out.log.push(format!(
        "Scottish STV (SSI 2007/42, Schedule 1, rules 45-52): quota {} from {} valid paper(s), \
         transfer values truncated to 5 decimals",
        quota_votes, valid
    ));
    out.log.extend(res.rounds.iter().filter_map(stage_line));
    out.rounds = res.rounds;
    super::finish_runoff(&mut out, tiers, &res.elected, &res.possible);
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Worked examples. The expected stages were derived by hand from the Order's text
    //! (SSI 2007/42, Schedule 1, rules 45–52), not from this code: each test's comment shows
    //! the arithmetic. Amounts are in units of 0.00001 vote.

    use super::*;
    use crate::count::test_support::{ids, profile};
    use crate::count::{Ballot, TieBreak, TieResolution, Unranked, count as count_profile};

    fn scottish(p: &Profile, seats: usize) -> Outcome {
        count_profile(p, &CountOptions::new(Method::StvScottish, seats)).unwrap()
    }

    fn units(v: f64) -> i64 {
        (v * UNIT as f64).round() as i64
    }

    /// `(candidate, votes in units)` of a stage, in candidate order.
    fn tallies(r: &Round) -> Vec<(&str, i64)> {
        r.tallies
            .iter()
            .map(|t| (t.candidate.as_str(), units(t.votes)))
            .collect()
    }

    fn stage(r: &Round) -> &Stage {
        r.stage.as_ref().expect("Scottish STV rounds have a stage")
    }

    /// Example 1: a surplus at stage 1 whose transfer value is truncated.
    ///
    /// 2 seats; papers a>b ×7, a>c ×4, a ×1, b ×3, c ×4, d>b ×2: 21 valid papers, quota
    /// floor(21/3) + 1 = 8 (rule 46).
    /// - Stage 1: a 12, b 3, c 4, d 2. a ≥ 8: elected (rule 47), surplus 4.
    /// - Stage 2, surplus of a (rule 48): transfer value 4 × 1 / 12 = 0.333333… → 0.33333.
    ///   b +7 × 0.33333 = 2.33331 → 5.33331; c +4 × 0.33333 = 1.33332 → 5.33332; the a-only
    ///   paper is non-transferable: 0.33333. Moved 3.99996 of 4: loss 0.00004. a keeps 8.
    /// - Stage 3: no surplus; d (2) lowest, excluded (rule 50); d>b papers at value 1:
    ///   b 7.33331.
    /// - Stage 4: c (5.33332) lowest, excluded; b is the only continuing candidate for the one
    ///   vacancy: elected under rule 52(1), c's papers not transferred (52(2)).
    #[test]
    fn example_1_surplus_at_stage_1_with_truncation() {
        let p = profile(
            &["a", "b", "c", "d"],
            &[
                (&[0, 1], 7),
                (&[0, 2], 4),
                (&[0], 1),
                (&[1], 3),
                (&[2], 4),
                (&[3, 1], 2),
            ],
        );
        let o = scottish(&p, 2);
        assert_eq!(o.winners, ids(&["a", "b"]));
        assert_eq!(o.rounds.len(), 4);
        let r = &o.rounds;
        assert_eq!(r[0].quota, Some(8.0));
        assert_eq!(
            tallies(&r[0]),
            vec![
                ("a", 1_200_000),
                ("b", 300_000),
                ("c", 400_000),
                ("d", 200_000)
            ]
        );
        assert_eq!(r[0].elected, ids(&["a"]));
        assert_eq!(stage(&r[0]).kind, StageKind::FirstPreferences);

        assert_eq!(stage(&r[1]).kind, StageKind::Surplus);
        assert_eq!(stage(&r[1]).from.as_deref(), Some("a"));
        assert_eq!(stage(&r[1]).transfer_values, vec![0.33333]);
        assert_eq!(
            tallies(&r[1]),
            vec![
                ("a", 800_000),
                ("b", 533_331),
                ("c", 533_332),
                ("d", 200_000)
            ]
        );
        assert_eq!(units(r[1].exhausted), 33_333);
        assert_eq!(units(stage(&r[1]).non_transferable), 33_333);
        assert_eq!(units(stage(&r[1]).loss), 4);
        assert_eq!(
            stage(&r[1])
                .transfers
                .iter()
                .map(|t| (t.candidate.as_str(), units(t.votes)))
                .collect::<Vec<_>>(),
            vec![("a", -400_000), ("b", 233_331), ("c", 133_332)]
        );

        assert_eq!(stage(&r[2]).kind, StageKind::Exclusion);
        assert_eq!(r[2].excluded, ids(&["d"]));
        assert_eq!(
            tallies(&r[2]),
            vec![("a", 800_000), ("b", 733_331), ("c", 533_332), ("d", 0)]
        );

        assert_eq!(r[3].excluded, ids(&["c"]));
        assert_eq!(r[3].elected, ids(&["b"]));
        // c's papers stay with c: rule 52(2).
        assert_eq!(
            tallies(&r[3]),
            vec![("a", 800_000), ("b", 733_331), ("c", 533_332)]
        );
        assert_eq!(units(stage(&r[3]).total_loss), 4);
        assert!(stage(&r[3]).notes.iter().any(|n| n.contains("rule 52(1)")));
        assert_eq!(
            o.ranking,
            vec![ids(&["a"]), ids(&["b"]), ids(&["c"]), ids(&["d"])]
        );
        assert!(o.ties.is_empty());
        assert!(o.log.iter().any(|l| l.starts_with("Stage 2, surplus of a")));
    }

    /// Example 2: an exclusion makes a second surplus, whose papers carry different values.
    ///
    /// 3 seats; papers a>b>c ×12, b>c ×3, c ×5, d>b>e ×4, e ×6: 30 valid, quota
    /// floor(30/4) + 1 = 8.
    /// - Stage 1: a 12, b 3, c 5, d 4, e 6. a elected, surplus 4.
    /// - Stage 2, surplus of a: value 4 × 1 / 12 → 0.33333; b +12 × 0.33333 = 3.99996 →
    ///   6.99996; loss 0.00004.
    /// - Stage 3: d (4) excluded; its 4 papers go to b at value 1 (rule 50(4)): b 10.99996,
    ///   elected, surplus 2.99996.
    /// - Stage 4, surplus of b (inclusive: all 19 papers, rule 48(3)): the 12 papers b
    ///   received at 0.33333 move at 2.99996 × 0.33333 / 10.99996 = 0.0909069… → 0.09090
    ///   (to c); the 3 + 4 papers b received at 1 move at 2.99996 / 10.99996 = 0.272724… →
    ///   0.27272 (3 to c, 4 to e). c 5 + 1.09080 + 0.81816 = 6.90896; e 6 + 1.09088 =
    ///   7.09088. Moved 2.99984: loss 0.00012 (total 0.00016).
    /// - Stage 5: c (6.90896) excluded; e alone for the last vacancy: elected (rule 52).
    #[test]
    fn example_2_exclusion_then_a_later_surplus() {
        let p = profile(
            &["a", "b", "c", "d", "e"],
            &[
                (&[0, 1, 2], 12),
                (&[1, 2], 3),
                (&[2], 5),
                (&[3, 1, 4], 4),
                (&[4], 6),
            ],
        );
        let o = scottish(&p, 3);
        assert_eq!(o.winners, ids(&["a", "b", "e"]));
        let r = &o.rounds;
        assert_eq!(r.len(), 5);
        assert_eq!(r[0].quota, Some(8.0));
        assert_eq!(
            tallies(&r[1]),
            vec![
                ("a", 800_000),
                ("b", 699_996),
                ("c", 500_000),
                ("d", 400_000),
                ("e", 600_000)
            ]
        );
        assert_eq!(r[2].excluded, ids(&["d"]));
        assert_eq!(r[2].elected, ids(&["b"]));
        assert_eq!(
            tallies(&r[2]),
            vec![
                ("a", 800_000),
                ("b", 1_099_996),
                ("c", 500_000),
                ("d", 0),
                ("e", 600_000)
            ]
        );
        let s4 = stage(&r[3]);
        assert_eq!(s4.kind, StageKind::Surplus);
        assert_eq!(s4.from.as_deref(), Some("b"));
        assert_eq!(s4.transfer_values, vec![0.27272, 0.0909]);
        assert_eq!(
            tallies(&r[3]),
            vec![
                ("a", 800_000),
                ("b", 800_000),
                ("c", 690_896),
                ("e", 709_088)
            ]
        );
        assert_eq!(units(s4.loss), 12);
        assert_eq!(units(s4.total_loss), 16);
        assert_eq!(units(r[3].exhausted), 0);
        assert_eq!(r[4].excluded, ids(&["c"]));
        assert_eq!(r[4].elected, ids(&["e"]));
    }

    /// Example 3: equal lowest, separated by the most recent preceding stage at which they
    /// differed (rule 51(2)(a)).
    ///
    /// 2 seats; papers a>c>b ×20, b>c ×8, c>e ×5, d>b ×1, e ×11: 45 valid, quota
    /// floor(45/3) + 1 = 16.
    /// - Stage 1: a 20, b 8, c 5, d 1, e 11. a elected, surplus 4.
    /// - Stage 2, surplus of a: value 4 × 1 / 20 = 0.2 exactly; c +20 × 0.2 = 4 → 9.
    /// - Stage 3: d (1) excluded; its paper goes to b at 1: b 9, c 9.
    /// - Stage 4: b and c tie at 9, lowest. Stage 3: equal. Stage 2 (the most recent at which
    ///   they differed): b 8, c 9, so b is excluded. (Stage 1, the earliest, had b 8 > c 5:
    ///   an "earliest stage" rule would exclude c instead, and e would win.) b's 8 papers go
    ///   to c at 1: c 17 ≥ 16, elected; the d>b paper has no next preference:
    ///   non-transferable 1.
    #[test]
    fn example_3_tie_for_exclusion_by_most_recent_unequal_stage() {
        let p = profile(
            &["a", "b", "c", "d", "e"],
            &[
                (&[0, 2, 1], 20),
                (&[1, 2], 8),
                (&[2, 4], 5),
                (&[3, 1], 1),
                (&[4], 11),
            ],
        );
        let o = scottish(&p, 2);
        let r = &o.rounds;
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].quota, Some(16.0));
        assert_eq!(
            tallies(&r[1]),
            vec![
                ("a", 1_600_000),
                ("b", 800_000),
                ("c", 900_000),
                ("d", 100_000),
                ("e", 1_100_000)
            ]
        );
        assert_eq!(stage(&r[1]).transfer_values, vec![0.2]);
        assert_eq!(
            tallies(&r[2]),
            vec![
                ("a", 1_600_000),
                ("b", 900_000),
                ("c", 900_000),
                ("d", 0),
                ("e", 1_100_000)
            ]
        );
        assert_eq!(r[3].excluded, ids(&["b"]));
        assert!(
            stage(&r[3])
                .notes
                .iter()
                .any(|n| n.contains("end of stage 2") && n.contains("rule 51(2)(a)")),
            "{:?}",
            stage(&r[3]).notes
        );
        assert_eq!(
            tallies(&r[3]),
            vec![
                ("a", 1_600_000),
                ("b", 0),
                ("c", 1_700_000),
                ("e", 1_100_000)
            ]
        );
        assert_eq!(units(r[3].exhausted), 100_000);
        assert_eq!(r[3].elected, ids(&["c"]));
        assert_eq!(o.winners, ids(&["a", "c"]));
        // The tie was settled by the Order's rule, not by lot.
        assert!(o.ties.is_empty());
    }

    /// Equal at every stage: a lot (rule 51(2)(b)), reported or decided by the tie-break.
    ///
    /// 1 seat; a ×2, b ×2, c>a ×1: quota floor(5/2) + 1 = 3. Stage 1: a 2, b 2, c 1; c is
    /// excluded and gives a 3: a wins. Without c's paper, a and b tie at 2 at every stage
    /// (there is only stage 1): the lot decides who is excluded, and so who wins.
    #[test]
    fn lot_for_exclusion_is_reported_or_broken() {
        let p = profile(&["a", "b", "c"], &[(&[0], 2), (&[1], 2), (&[2, 0], 1)]);
        assert_eq!(scottish(&p, 1).winners, ids(&["a"]));

        let p = profile(&["a", "b"], &[(&[0], 2), (&[1], 2)]);
        let o = scottish(&p, 1);
        assert!(o.winners.is_empty());
        assert_eq!(o.ties_at_last_seat, ids(&["a", "b"]));
        assert_eq!(o.ties[0].kind, TieKind::Exclusion);
        assert_eq!(o.ties[0].resolution, TieResolution::Unresolved);
        let tb = TieBreak::from_order(ids(&["b", "a"]));
        let o = count_profile(
            &p,
            &CountOptions::new(Method::StvScottish, 1).with_tie_break(tb),
        )
        .unwrap();
        assert_eq!(o.winners, ids(&["b"]));
        assert_eq!(o.ties[0].resolution, TieResolution::TieBreak);
        assert_eq!(o.ties[0].chosen, ids(&["a"]));
        assert!(
            o.rounds[1]
                .stage
                .as_ref()
                .unwrap()
                .notes
                .iter()
                .any(|n| n.contains("lot"))
        );
    }

    /// Equal surpluses at stage 1 (no earlier stage): the lot orders them (rule 49(3)).
    /// 3 seats; a>c ×5, b>d ×5, c ×1, d ×2, quota floor(13/4) + 1 = 4: a and b both have a
    /// surplus of 1, moving 5 papers at 1 / 5 = 0.2. Whichever goes first, c ends with
    /// 1 + 1 = 2 and d with 2 + 1 = 3; c is excluded and d takes the last seat (rule 52): the
    /// order is irrelevant and the tie record says so.
    #[test]
    fn equal_surpluses_are_ordered_by_lot() {
        let p = profile(
            &["a", "b", "c", "d"],
            &[(&[0, 2], 5), (&[1, 3], 5), (&[2], 1), (&[3], 2)],
        );
        let o = scottish(&p, 3);
        assert_eq!(o.winners, ids(&["a", "b", "d"]));
        assert_eq!(o.ties.len(), 1);
        assert_eq!(o.ties[0].kind, TieKind::SurplusOrder);
        assert_eq!(o.ties[0].resolution, TieResolution::Irrelevant);
        let tb = TieBreak::from_order(ids(&["b", "a"]));
        let o = count_profile(
            &p,
            &CountOptions::new(Method::StvScottish, 3).with_tie_break(tb),
        )
        .unwrap();
        // The favoured candidate's surplus goes first.
        assert_eq!(
            o.rounds[1].stage.as_ref().unwrap().from.as_deref(),
            Some("b")
        );
        assert_eq!(o.ties[0].resolution, TieResolution::TieBreak);
    }

    /// A paper with two candidates ranked first is not valid; a later shared rank ends it.
    #[test]
    fn ambiguous_preferences() {
        let mut p = Profile::new(ids(&["a", "b", "c"])).unwrap();
        // a=b first: not valid. c, then a=b: valid for c, non-transferable after.
        p.push_weighted(&Ballot::new(vec![Some(1), Some(1), None]), 3)
            .unwrap();
        p.push_weighted(&Ballot::new(vec![Some(2), Some(2), Some(1)]), 2)
            .unwrap();
        p.push_weighted(&Ballot::new(vec![Some(1), None, None]), 1)
            .unwrap();
        let o = scottish(&p, 1);
        assert_eq!(o.rounds[0].quota, Some(2.0)); // 3 valid papers: floor(3/2) + 1
        assert_eq!(o.winners, ids(&["c"]));
        assert!(o.log[0].contains("3 valid paper(s)"));
        // Unranked = last on a blank paper: every candidate shares the first rank.
        let mut p = Profile::new(ids(&["a", "b"])).unwrap();
        p.push(&Ballot::unranked(2)).unwrap();
        p.push(&Ballot::new(vec![Some(1), None])).unwrap();
        let o = count_profile(
            &p,
            &CountOptions::new(Method::StvScottish, 1).with_unranked(Unranked::Last),
        )
        .unwrap();
        assert_eq!(o.winners, ids(&["a"]));
    }

    #[test]
    fn zero_vote_candidates_go_without_a_lot() {
        let p = profile(&["a", "b", "c", "d"], &[(&[0], 3), (&[1], 2)]);
        let o = scottish(&p, 2);
        assert_eq!(o.winners, ids(&["a", "b"]));
        assert!(o.ties.is_empty());
    }

    #[test]
    fn json_has_the_count_sheet() {
        let p = profile(&["a", "b", "c"], &[(&[0, 1], 5), (&[1], 1), (&[2], 2)]);
        let o = scottish(&p, 2);
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["method"], "stv-scottish");
        assert_eq!(v["rounds"][0]["stage"]["kind"], "first-preferences");
        assert_eq!(v["rounds"][1]["stage"]["kind"], "surplus");
        assert_eq!(v["rounds"][1]["stage"]["from"], "a");
        assert!(v["rounds"][1]["stage"]["loss"].is_number());
    }
}
