//! The common result type of every counting method.

use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::{Method, Unranked};

/// A square matrix indexed by candidate index (`get(x, y)` = row `x`, column `y`).
///
/// Serialised as nested arrays (rows), in the outcome's candidate order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    n: usize,
    cells: Vec<u64>,
}

impl Matrix {
    /// An `n`×`n` matrix of zeros.
    pub fn zeros(n: usize) -> Self {
        Self {
            n,
            cells: vec![0; n * n],
        }
    }

    /// Builds a matrix from rows (each of length `rows.len()`).
    ///
    /// # Panics
    /// If a row has the wrong length.
    pub fn from_rows(rows: &[Vec<u64>]) -> Self {
        let n = rows.len();
        let mut m = Self::zeros(n);
        for (x, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), n, "row {x} has the wrong length");
            m.cells[x * n..(x + 1) * n].copy_from_slice(row);
        }
        m
    }

    /// Number of rows (= columns).
    pub fn size(&self) -> usize {
        self.n
    }

    /// Cell `(x, y)`.
    #[inline]
    pub fn get(&self, x: usize, y: usize) -> u64 {
        self.cells[x * self.n + y]
    }

    /// Sets cell `(x, y)`.
    #[inline]
    pub fn set(&mut self, x: usize, y: usize, v: u64) {
        self.cells[x * self.n + y] = v;
    }

    /// Row `x`.
    pub fn row(&self, x: usize) -> &[u64] {
        &self.cells[x * self.n..(x + 1) * self.n]
    }

    /// The rows as vectors.
    pub fn to_rows(&self) -> Vec<Vec<u64>> {
        (0..self.n).map(|x| self.row(x).to_vec()).collect()
    }
}

impl Serialize for Matrix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.n))?;
        for x in 0..self.n {
            seq.serialize_element(self.row(x))?;
        }
        seq.end()
    }
}

/// A candidate and a numeric score (Minimax: worst defeat, lower is better; Copeland:
/// wins + ½ ties, higher is better).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateScore {
    /// Candidate ID.
    pub candidate: String,
    /// The score.
    pub score: f64,
}

/// A candidate's vote total in one round of IRV or STV.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tally {
    /// Candidate ID.
    pub candidate: String,
    /// Votes (fractional when equal ranks split a ballot, or STV transfers).
    pub votes: f64,
}

/// An elected candidate's Meek keep value (fraction of each vote it keeps).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeepValue {
    /// Candidate ID.
    pub candidate: String,
    /// Keep factor, 0 to 1.
    pub keep: f64,
}

/// One round of IRV or STV.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Round {
    /// Round number, from 1.
    pub number: usize,
    /// Votes of every candidate still in the count (continuing or elected), candidate order.
    pub tallies: Vec<Tally>,
    /// Votes no longer counting for any candidate.
    pub exhausted: f64,
    /// STV quota of this round (after convergence); `None` for IRV.
    pub quota: Option<f64>,
    /// STV Meek keep values of elected candidates (candidate, keep factor).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keep_values: Vec<KeepValue>,
    /// Candidates elected at the end of this round.
    pub elected: Vec<String>,
    /// Candidates excluded at the end of this round.
    pub excluded: Vec<String>,
    /// Scottish STV: what this stage of the count did (the returning officer's count sheet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
}

/// What a stage of a Scottish STV count did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageKind {
    /// Stage 1: first preferences counted (rule 45).
    FirstPreferences,
    /// The surplus of an elected candidate transferred (rules 48–49).
    Surplus,
    /// A candidate excluded and their papers transferred (rules 50–51).
    Exclusion,
}

/// One stage of a Scottish STV count: the transfers behind the round's tallies.
///
/// Vote amounts are exact multiples of 0.00001 (the Order's five decimal places); the `f64`
/// values are for display only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// What the stage did.
    pub kind: StageKind,
    /// The candidate whose surplus or papers were transferred (none at stage 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Values (votes per paper) at which papers moved, largest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transfer_values: Vec<f64>,
    /// Change of every candidate's votes in this stage (negative for the transferring
    /// candidate), candidate order, zero changes left out. At stage 1: first preferences.
    pub transfers: Vec<Tally>,
    /// Votes on non-transferable papers set aside in this stage.
    pub non_transferable: f64,
    /// Value lost in this stage because transfer values are truncated to five decimals.
    pub loss: f64,
    /// Value lost to truncation so far (all stages up to this one).
    pub total_loss: f64,
    /// Why candidates were elected or excluded, how ties were settled, with rule numbers.
    pub notes: Vec<String>,
}

/// What kind of decision a tie affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TieKind {
    /// Candidates tied in the ranking across the last seat.
    LastSeat,
    /// Ranked Pairs: pairs of equal strength whose locking order matters.
    PairOrder,
    /// IRV / STV: candidates tied for exclusion.
    Exclusion,
    /// Scottish STV: equal surpluses whose order of transfer the lot decides (rule 49(3)).
    /// `chosen` is the candidate the lot put after the others.
    SurplusOrder,
    /// STAR: equal scoring-round totals competing for the finalist places (`round` = seat).
    Finalists,
    /// STAR: a runoff with as many ballots preferring each finalist (`round` = seat).
    Runoff,
}

/// How a tie was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TieResolution {
    /// Every way of breaking the tie gives the same result; nothing had to be decided.
    Irrelevant,
    /// Broken by the method's own published tie-breaking steps, from the ballots (STAR:
    /// head to head, totals, five-star ratings).
    Rule,
    /// Broken by the deterministic tie-break order (see [`Outcome::tie_break`]).
    TieBreak,
    /// Not broken: the outcome reports the tied candidates (see
    /// [`Outcome::ties_at_last_seat`]).
    Unresolved,
}

/// A tie met during the count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TieRecord {
    /// What the tie was about.
    pub kind: TieKind,
    /// IRV/STV round (from 1) where it happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<usize>,
    /// The tied candidates (for pair-order ties: every candidate of the tied pairs).
    pub candidates: Vec<String>,
    /// For pair-order ties: the tied pairs as `[winner, loser]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<[String; 2]>,
    /// How it was handled.
    pub resolution: TieResolution,
    /// The choice taken: seats given (last seat), candidate excluded (exclusion), pairs in the
    /// order locked (pair order). When the tie is unresolved or irrelevant this is the choice
    /// the reported rounds follow (for illustration only).
    pub chosen: Vec<String>,
}

/// The recorded deterministic tie-break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TieBreakRecord {
    /// The seed, if the order was derived from one.
    pub seed: Option<String>,
    /// How the order was derived.
    pub rule: String,
    /// Every candidate, most favoured first.
    pub order: Vec<String>,
    /// Whether the count needed it.
    pub used: bool,
}

/// The result of counting one profile with one method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The method used.
    pub method: Method,
    /// Number of seats to fill.
    pub seats: usize,
    /// Candidate IDs in input order (the index order of the matrices).
    pub candidates: Vec<String>,
    /// Number of ballots counted.
    pub ballots: u64,
    /// The unranked rule used.
    pub unranked: Unranked,
    /// Every candidate in tiers, best first; candidates in one tier are tied (listed in input
    /// order).
    pub ranking: Vec<Vec<String>>,
    /// For each tier of `ranking`, the number of candidates ranked strictly above it: for
    /// Schulze this is Elekto's "number of Schulze defeats" (the officer page shows
    /// `tier_defeats + 1`).
    pub tier_defeats: Vec<u32>,
    /// Candidates certainly elected, best first (STV: in order of election).
    pub winners: Vec<String>,
    /// Candidates tied for the remaining seat(s): empty when the seats are decided. Never
    /// silently broken: with a tie-break these go to `winners` and the tie is in `ties`.
    pub ties_at_last_seat: Vec<String>,
    /// The candidate who beats every other pairwise, if any.
    pub condorcet_winner: Option<String>,
    /// Smallest set whose members all beat every non-member pairwise.
    pub smith_set: Vec<String>,
    /// Schwartz set (union of the minimal unbeaten sets; subset of the Smith set).
    pub schwartz_set: Vec<String>,
    /// `pairwise[x][y]` = ballots ranking x strictly above y.
    pub pairwise: Option<Matrix>,
    /// Schulze: strength of the strongest path x→y (0 if none).
    pub strongest_paths: Option<Matrix>,
    /// Minimax / Copeland scores, candidate order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<CandidateScore>>,
    /// IRV / STV rounds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<Round>,
    /// STAR / Bloc STAR: scoring round, finalists and runoff of every seat.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub star: Vec<super::star::StarSeat>,
    /// Every tie met, and how it was handled.
    pub ties: Vec<TieRecord>,
    /// The tie-break, when one was supplied.
    pub tie_break: Option<TieBreakRecord>,
    /// Human-readable notes (Ranked Pairs lock log, STV parameters, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
}

impl Outcome {
    /// Index of a candidate ID in [`Outcome::candidates`].
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.candidates.iter().position(|c| c == id)
    }

    /// True when the seats are decided (no tie across the last seat).
    pub fn is_decided(&self) -> bool {
        self.ties_at_last_seat.is_empty()
    }
}
