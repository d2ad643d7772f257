//! The officers' results page as plain data: the count shown (the election's configured one or a
//! "what if" recount), its ranking, matrices, rounds and ties, and every other method × unranked
//! rule over the same ballots. The web layer adds the layout and the links.

use std::collections::{HashMap, HashSet};

use super::counting::Counting;
use super::{
    StaleCandidate, StoredBallots, is_condorcet_method, method_label, tier_labels, unranked_label,
};
use crate::count::{
    BallotKind, CountError, Matrix, Method, Outcome, Profile, StarSeat, TieKind, TieResolution,
    Unranked, count,
};
use crate::meta::Election;

/// The unranked rules, in the order the page lists them.
pub const UNRANKED_RULES: [Unranked; 2] = [Unranked::NoOpinion, Unranked::Last];

/// One count of the ballots.
#[derive(Debug, Clone)]
pub struct Recount {
    pub method: Method,
    pub unranked: Unranked,
    pub outcome: Result<Outcome, CountError>,
}

/// Counts `profile` with every method and unranked rule that fit the election's ballots
/// (CPU-bound: seconds for large elections). Score ballots are counted with STAR only (and the
/// unranked rule does not apply to them); ranked ballots with every ranked method.
pub fn recount_every_way(profile: &Profile, counting: &Counting, seats: usize) -> Vec<Recount> {
    let kind = counting.method.ballot_kind();
    let rules: &[Unranked] = match kind {
        BallotKind::Ranked => &UNRANKED_RULES,
        BallotKind::Score => &[Unranked::NoOpinion],
    };
    Method::for_ballot(kind)
        .flat_map(|method| rules.iter().map(move |&unranked| (method, unranked)))
        .map(|(method, unranked)| Recount {
            method,
            unranked,
            outcome: count(profile, &counting.options(method, unranked, seats)),
        })
        .collect()
}

/// A candidate as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateView {
    pub id: String,
    pub name: String,
    /// In the ranking: `elected`, `tied` (tied for the last seat) or empty.
    pub mark: &'static str,
}

impl CandidateView {
    /// Whether the name says more than the ID.
    pub fn shows_name(&self) -> bool {
        self.name != self.id
    }
}

/// One tier of the ranking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankRow {
    pub label: u32,
    pub tie: bool,
    /// `elected`, `tied` (straddles the last seat) or empty.
    pub status: &'static str,
    pub candidates: Vec<CandidateView>,
}

/// One cell of a matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub value: u64,
    /// CSS class: `self`, `tie`, `win1`…`win4`, `loss1`…`loss4`.
    pub class: String,
    pub title: String,
}

impl Cell {
    /// The cell's meaning as a sign, so the matrix reads without colour: `+` the row candidate
    /// wins the pair, `−` loses, `=` tie (empty on the diagonal).
    pub fn sign(&self) -> &'static str {
        match self.class.get(..3) {
            Some("win") => "+",
            Some("los") => "−",
            Some("tie") => "=",
            _ => "",
        }
    }

    /// The cell's meaning in words, for screen readers.
    pub fn word(&self) -> &'static str {
        match self.sign() {
            "+" => "wins",
            "−" => "loses",
            "=" => "tie",
            _ => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixRow {
    pub candidate: CandidateView,
    pub cells: Vec<Cell>,
}

/// One round of a runoff method, numbers formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundView {
    pub number: usize,
    pub tallies: String,
    pub exhausted: String,
    pub quota: String,
    pub elected: String,
    pub excluded: String,
}

/// A candidate's line in a STAR scoring round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarTotalView {
    pub candidate: CandidateView,
    pub stars: u64,
    pub five_stars: u64,
    /// One of the seat's two finalists.
    pub finalist: bool,
}

/// A STAR runoff: the runoff matrix of the two finalists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarRunoffView {
    pub first: CandidateView,
    pub second: CandidateView,
    pub prefer_first: u64,
    pub prefer_second: u64,
    pub no_preference: u64,
}

/// One seat of a STAR / Bloc STAR count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StarSeatView {
    pub seat: usize,
    pub totals: Vec<StarTotalView>,
    pub runoff: Option<StarRunoffView>,
    pub winner: Option<CandidateView>,
    /// How the seat's ties were broken, in words.
    pub steps: Vec<String>,
}

impl StarSeatView {
    fn new(s: &StarSeat, names: &Names) -> StarSeatView {
        StarSeatView {
            seat: s.seat,
            totals: s
                .totals
                .iter()
                .map(|t| StarTotalView {
                    candidate: names.view(&t.candidate),
                    stars: t.stars,
                    five_stars: t.five_stars,
                    finalist: s.finalists.contains(&t.candidate),
                })
                .collect(),
            runoff: s.runoff.as_ref().map(|r| StarRunoffView {
                first: names.view(&r.first),
                second: names.view(&r.second),
                prefer_first: r.prefer_first,
                prefer_second: r.prefer_second,
                no_preference: r.no_preference,
            }),
            winner: s.winner.as_deref().map(|w| names.view(w)),
            steps: s.steps.clone(),
        }
    }
}

/// One line of the "what if" panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatIfRow {
    pub method: &'static str,
    pub method_label: &'static str,
    pub unranked: &'static str,
    pub winners: String,
    pub tied: String,
    pub error: Option<String>,
    /// Other winners than the configured count's.
    pub differs: bool,
    /// The count shown above.
    pub current: bool,
    pub configured: bool,
}

/// What a successful count shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeReport {
    /// `none` (no ballots were cast), `condorcet` (one seat, a Condorcet winner), `elected`
    /// (every seat filled) or `tie` (a tie decides a seat: [`OutcomeReport::tied`]).
    pub headline: &'static str,
    /// The first tier.
    pub top: Vec<CandidateView>,
    pub ranking: Vec<RankRow>,
    pub winners: Vec<CandidateView>,
    pub tied: Vec<CandidateView>,
    /// Seats left for the candidates tied at the last seat.
    pub open_seats: usize,
    /// The number of the first seat the tie decides (the seats `first_open_seat ..` are open).
    pub first_open_seat: usize,
    pub condorcet: Option<CandidateView>,
    pub smith: Vec<CandidateView>,
    pub schwartz: Vec<CandidateView>,
    /// Matrix headers, in ranking order.
    pub matrix_candidates: Vec<CandidateView>,
    pub pairwise: Vec<MatrixRow>,
    pub paths: Vec<MatrixRow>,
    pub tie_break: Option<String>,
    pub tie_notes: Vec<String>,
    pub rounds: Vec<RoundView>,
    /// STAR: scoring round, finalists and runoff of each seat.
    pub star: Vec<StarSeatView>,
    pub log: Vec<String>,
}

/// The whole page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsReport {
    pub method: &'static str,
    pub method_label: &'static str,
    pub unranked: &'static str,
    pub unranked_label: &'static str,
    /// The shown count is the election's own configuration (not a what-if).
    pub is_configured: bool,
    pub configured_method: &'static str,
    pub configured_unranked: &'static str,
    pub warnings: Vec<String>,
    pub ballots: usize,
    pub voters: i64,
    pub eligible: Option<usize>,
    /// Voters / eligible, e.g. `42.0%`, or `n/a`.
    pub turnout: String,
    pub seats: usize,
    pub stale: Vec<StaleCandidate>,
    pub stale_ballots: usize,
    pub condorcet_method: bool,
    /// The shown count, or why it is not possible.
    pub outcome: Result<OutcomeReport, String>,
    pub what_if: Vec<WhatIfRow>,
    pub any_differs: bool,
}

/// The ballots and counts a [`ResultsReport`] is built from.
#[derive(Debug, Clone, Copy)]
pub struct Counted<'a> {
    pub stored: &'a StoredBallots,
    /// Voter rows (who voted), for the turnout.
    pub voters: i64,
    /// Every method × rule, as [`recount_every_way`] gives them.
    pub recounts: &'a [Recount],
}

impl ResultsReport {
    /// The page for the count of `e` with `method` and `unranked` (one of `counted.recounts`).
    pub fn new(
        e: &Election,
        counting: &Counting,
        method: Method,
        unranked: Unranked,
        counted: Counted<'_>,
    ) -> ResultsReport {
        let names = Names::of(e);
        let find = |m: Method, u: Unranked| {
            counted
                .recounts
                .iter()
                .find(|r| r.method == m && r.unranked == u)
                .map(|r| &r.outcome)
        };
        let configured_winners = find(counting.method, counting.unranked)
            .and_then(|r| r.as_ref().ok())
            .map(winners_key);
        let what_if: Vec<WhatIfRow> = counted
            .recounts
            .iter()
            .map(|r| {
                what_if_row(
                    r,
                    &names,
                    configured_winners.as_ref(),
                    counting,
                    (method, unranked),
                )
            })
            .collect();
        let eligible = e.voters.as_ref().map(Vec::len);
        let turnout = match eligible {
            Some(n) if n > 0 => format!("{:.1}%", counted.voters as f64 * 100.0 / n as f64),
            _ => "n/a".to_owned(),
        };
        let outcome = match find(method, unranked) {
            Some(Ok(o)) => Ok(OutcomeReport::new(o, &names)),
            Some(Err(err)) => Err(err.to_string()),
            None => Err(format!("{method} with unranked {unranked} was not counted")),
        };
        ResultsReport {
            method: method.as_str(),
            method_label: method_label(method),
            unranked: unranked.as_str(),
            unranked_label: unranked_label(unranked),
            is_configured: counting.is(method, unranked),
            configured_method: counting.method.as_str(),
            configured_unranked: counting.unranked.as_str(),
            warnings: counting.warnings.iter().map(ToString::to_string).collect(),
            ballots: counted.stored.len(),
            voters: counted.voters,
            eligible,
            turnout,
            seats: e.seats() as usize,
            stale: counted.stored.stale.clone(),
            stale_ballots: counted.stored.ballots_naming_stale,
            condorcet_method: is_condorcet_method(method),
            any_differs: what_if.iter().any(|w| w.differs),
            outcome,
            what_if,
        }
    }
}

fn what_if_row(
    recount: &Recount,
    names: &Names,
    configured_winners: Option<&(Vec<String>, Vec<String>)>,
    counting: &Counting,
    (method, unranked): (Method, Unranked),
) -> WhatIfRow {
    let (winners, tied, error, differs) = match &recount.outcome {
        Ok(o) => (
            names.text(&o.winners),
            names.text(&o.ties_at_last_seat),
            None,
            configured_winners.is_some_and(|k| *k != winners_key(o)),
        ),
        Err(err) => (String::new(), String::new(), Some(err.to_string()), false),
    };
    WhatIfRow {
        method: recount.method.as_str(),
        method_label: method_label(recount.method),
        unranked: recount.unranked.as_str(),
        winners,
        tied,
        error,
        differs,
        current: recount.method == method && recount.unranked == unranked,
        configured: counting.is(recount.method, recount.unranked),
    }
}

impl OutcomeReport {
    fn new(o: &Outcome, names: &Names) -> OutcomeReport {
        let winners: HashSet<&String> = o.winners.iter().collect();
        let tied: HashSet<&String> = o.ties_at_last_seat.iter().collect();
        let mark = |c: &String| {
            if winners.contains(c) {
                "elected"
            } else if tied.contains(c) {
                "tied"
            } else {
                ""
            }
        };
        let ranking = tier_labels(o)
            .into_iter()
            .zip(&o.ranking)
            .map(|(label, tier)| RankRow {
                label,
                tie: tier.len() > 1,
                status: if tier.iter().all(|c| winners.contains(c)) {
                    "elected"
                } else if tier.iter().any(|c| tied.contains(c) || winners.contains(c)) {
                    "tied"
                } else {
                    ""
                },
                candidates: tier
                    .iter()
                    .map(|c| CandidateView {
                        mark: mark(c),
                        ..names.view(c)
                    })
                    .collect(),
            })
            .collect();
        let top = o.ranking.first().cloned().unwrap_or_default();
        let headline = if o.ballots == 0 {
            "none"
        } else if !o.ties_at_last_seat.is_empty() {
            "tie"
        } else if o.seats == 1
            && o.condorcet_winner.is_some()
            && o.winners.as_slice() == o.condorcet_winner.as_slice()
        {
            "condorcet"
        } else {
            "elected"
        };
        // Matrices in ranking order (candidates are in sorted-ID order inside a tier).
        let ids = &o.candidates;
        let order: Vec<usize> = o
            .ranking
            .iter()
            .flatten()
            .filter_map(|c| o.index_of(c))
            .collect();
        let matrix = |m: &Option<Matrix>, what: &str| {
            m.as_ref()
                .map(|m| matrix_rows(m, &order, ids, names, o.ballots, what))
                .unwrap_or_default()
        };
        OutcomeReport {
            headline,
            top: names.views(&top),
            ranking,
            winners: names.views(&o.winners),
            tied: names.views(&o.ties_at_last_seat),
            open_seats: o.seats.saturating_sub(o.winners.len()),
            first_open_seat: o.winners.len() + 1,
            condorcet: o.condorcet_winner.as_deref().map(|c| names.view(c)),
            smith: names.views(&o.smith_set),
            schwartz: names.views(&o.schwartz_set),
            matrix_candidates: order.iter().map(|&i| names.view(&ids[i])).collect(),
            pairwise: matrix(
                &o.pairwise,
                if o.method == Method::Star {
                    "ballots giving more stars to"
                } else {
                    "ballots ranking"
                },
            ),
            paths: matrix(&o.strongest_paths, "strongest path"),
            tie_break: o.tie_break.as_ref().map(|tb| {
                format!(
                    "Tie-break seed {:?} ({}): order {}. {}",
                    tb.seed.as_deref().unwrap_or("(explicit order)"),
                    tb.rule,
                    tb.order.join(" > "),
                    if tb.used {
                        "It decided at least one tie (below)."
                    } else {
                        "No tie needed it."
                    }
                )
            }),
            tie_notes: o.ties.iter().map(tie_note).collect(),
            rounds: o.rounds.iter().map(round_view).collect(),
            star: o.star.iter().map(|s| StarSeatView::new(s, names)).collect(),
            log: o.log.clone(),
        }
    }
}

fn tie_note(t: &crate::count::TieRecord) -> String {
    let how = match t.resolution {
        TieResolution::Irrelevant => "irrelevant (every choice gives the same result)",
        TieResolution::Rule => "decided by the method's published tie-breaking steps",
        TieResolution::TieBreak => "decided by the tie-break",
        TieResolution::Unresolved => "NOT decided: reported as a tie",
    };
    let round = match (t.kind, t.round) {
        (TieKind::Finalists | TieKind::Runoff, Some(seat)) => format!(" for seat {seat}"),
        (_, Some(r)) => format!(" in round {r}"),
        (_, None) => String::new(),
    };
    let chosen = if t.chosen.is_empty() {
        String::new()
    } else {
        format!("; choice: {}", t.chosen.join(", "))
    };
    let kind = match t.kind {
        TieKind::Finalists => "Scoring-round (finalists)".to_owned(),
        TieKind::Runoff => "Runoff".to_owned(),
        other => format!("{other:?}"),
    };
    format!(
        "{kind} tie{round} between {}: {how}{chosen}",
        t.candidates.join(", ")
    )
}

fn round_view(r: &crate::count::Round) -> RoundView {
    RoundView {
        number: r.number,
        tallies: r
            .tallies
            .iter()
            .map(|t| format!("{} {}", t.candidate, fmt_votes(t.votes)))
            .collect::<Vec<_>>()
            .join(", "),
        exhausted: fmt_votes(r.exhausted),
        quota: r.quota.map(fmt_votes).unwrap_or_default(),
        elected: r.elected.join(", "),
        excluded: r.excluded.join(", "),
    }
}

/// Candidate names by ID.
pub fn candidate_names(e: &Election) -> HashMap<String, String> {
    e.candidates
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect()
}

struct Names(HashMap<String, String>);

impl Names {
    fn of(e: &Election) -> Names {
        Names(candidate_names(e))
    }

    fn view(&self, id: &str) -> CandidateView {
        CandidateView {
            id: id.to_owned(),
            name: self.0.get(id).cloned().unwrap_or_else(|| id.to_owned()),
            mark: "",
        }
    }

    fn views(&self, ids: &[String]) -> Vec<CandidateView> {
        ids.iter().map(|i| self.view(i)).collect()
    }

    /// `Name (id), id2, …`.
    fn text(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|i| match self.0.get(i) {
                Some(n) if n != i => format!("{n} ({i})"),
                _ => i.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Cell (x, y) of a matrix, coloured by how clearly x beats y.
fn cell(m: &Matrix, x: usize, y: usize, ballots: u64, what: &str, ids: &[String]) -> Cell {
    let (a, b) = (m.get(x, y), m.get(y, x));
    let class = if x == y {
        "self".to_owned()
    } else if a == b {
        "tie".to_owned()
    } else {
        let margin = a.abs_diff(b) as f64 / ballots.max(1) as f64;
        let level = if margin > 0.5 {
            4
        } else if margin > 0.25 {
            3
        } else if margin > 0.1 {
            2
        } else {
            1
        };
        format!("{}{level}", if a > b { "win" } else { "loss" })
    };
    let title = if x == y {
        String::new()
    } else {
        format!(
            "{what} {} over {}: {a}; {} over {}: {b}",
            ids[x], ids[y], ids[y], ids[x]
        )
    };
    Cell {
        value: a,
        class,
        title,
    }
}

fn matrix_rows(
    m: &Matrix,
    order: &[usize],
    ids: &[String],
    names: &Names,
    ballots: u64,
    what: &str,
) -> Vec<MatrixRow> {
    order
        .iter()
        .map(|&x| MatrixRow {
            candidate: names.view(&ids[x]),
            cells: order
                .iter()
                .map(|&y| cell(m, x, y, ballots, what, ids))
                .collect(),
        })
        .collect()
}

fn fmt_votes(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.4}")
    }
}

/// Winners and tied candidates, sorted: two counts agree when these are equal.
fn winners_key(o: &Outcome) -> (Vec<String>, Vec<String>) {
    let mut w = o.winners.clone();
    w.sort();
    let mut t = o.ties_at_last_seat.clone();
    t.sort();
    (w, t)
}
