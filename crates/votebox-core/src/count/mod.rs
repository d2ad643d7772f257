//! Counting methods: pure functions from a ballot [`Profile`] to an [`Outcome`]. No I/O.
//!
//! # Input
//!
//! A [`Profile`] holds the candidate IDs and every ballot. A [`Ballot`] gives each candidate an
//! optional rank: **1 = most preferred**, equal ranks = tie, gaps allowed, `None` = unranked
//! (Elekto's "No opinion", stored by Elekto as rank 100000000: see
//! [`Ballot::from_elekto_ranks`]). How unranked candidates count is chosen by [`Unranked`]:
//! Elekto's rule ([`Unranked::NoOpinion`], the default: no comparison at all) or Debian's
//! ([`Unranked::Last`]: below every ranked candidate). [`parse_elekto_csv`] reads Elekto's
//! `ballots.csv` export; [`formats`] reads BLT, PrefLib and ABIF files.
//!
//! # Methods
//!
//! | [`Method`] | name | module |
//! |---|---|---|
//! | Schulze, winning votes (exactly Elekto) | `schulze` | [`schulze`] |
//! | Schulze, margins | `schulze-margins` | [`schulze`] |
//! | Ranked Pairs, winning votes | `ranked-pairs` | [`ranked_pairs`] |
//! | Minimax, winning votes | `minimax` | [`minimax`] |
//! | Copeland (win 1, tie ½) | `copeland` | [`copeland`] |
//! | Instant runoff (single winner) | `irv` | [`irv`] |
//! | STV, Meek, Droop quota | `stv-meek` | [`stv_meek`] |
//! | STV, Scottish rules (SSI 2007/42, weighted inclusive Gregory) | `stv-scottish` | [`stv_scottish`] |
//! | STAR (score then automatic runoff); Bloc STAR for several seats | `star` | [`star`] |
//!
//! STAR is the one method on **score ballots** ([`BallotKind::Score`]): its profile holds
//! stars (0–5) where the others hold ranks (see [`star`]). [`Method::ballot_kind`] says which
//! ballot a method counts; counting one kind with a method of the other means nothing.
//!
//! Every method returns the same [`Outcome`]: a ranking in tiers (best first), the winners for
//! the requested number of seats, the pairwise matrix, Condorcet winner, Smith and Schwartz
//! sets, and method details (strongest paths, scores, rounds, lock log).
//!
//! # Ties
//!
//! Ties are never broken silently. Ranking methods (Schulze, Ranked Pairs, Minimax, Copeland)
//! fill the seats from the top tiers; when a tier straddles the last seat its candidates go
//! to [`Outcome::ties_at_last_seat`] and only the sure ones to [`Outcome::winners`]. IRV and
//! STV explore ties for exclusion and report them only when they change who is elected
//! (see [`runoff`]); Ranked Pairs does the same for equal-strength pairs. Every tie met is
//! listed in [`Outcome::ties`].
//!
//! An optional [`TieBreak`] (an order derived from a public seed by SHA-256, or an explicit
//! order) decides such ties deterministically instead; the outcome then records the seed, the
//! order and each decision.
//!
//! # Elekto compatibility
//!
//! [`Method::Schulze`] with [`Unranked::NoOpinion`] is exactly Elekto's `schulze_d`,
//! `schulze_p` and `schulze_rank`: the ranking tiers are Elekto's groups, and
//! [`elekto_groups`] returns them with Elekto's "number of defeats" (the officer page label is
//! that number + 1, the first group is the winner box). Elekto picks no winners; votebox fills
//! the seats from the top and flags a tie across the last seat (checklist items 51–52).
//!
//! # Performance
//!
//! Ballots are stored as a flat `u16` array; [`pairwise_matrix`] is a branch-free
//! O(lines × candidates²) loop (a large profile is cut into one run of lines per core, the
//! matrices summed), and [`strongest_paths`] is O(candidates³), so a million 20-candidate
//! ballots count (pairwise matrix + Schulze) in under 0.1 s on one core, about 0.03 s on two.
//! [`Profile::aggregate`] merges identical ballots; IRV and STV merge ballots with the same
//! tiers internally, and the readers of weighted formats (BLT, PrefLib, ABIF) merge identical
//! ballots as they read. Meek STV distributes, in every keep-value iteration of a round, only
//! the ballots as that round sees them (excluded candidates dropped, cut after the first
//! hopeful), merged: a few thousand entries instead of a million ballots, with the same exact
//! sums (see [`stv_meek`]).

mod bitset;
pub mod copeland;
pub mod elekto_csv;
pub mod formats;
pub mod irv;
pub mod minimax;
mod outcome;
pub mod pairwise;
mod parallel;
mod profile;
pub mod ranked_pairs;
pub mod runoff;
pub mod schulze;
pub mod star;
pub mod stv_meek;
pub mod stv_scottish;
mod tiebreak;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests_fixtures;
#[cfg(test)]
mod tests_props;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use elekto_csv::{ParseError, parse_elekto_csv};
pub use minimax::{MinimaxScore, minimax_outcome};
pub use outcome::{
    CandidateScore, KeepValue, Matrix, Outcome, Round, Stage, StageKind, Tally, TieBreakRecord,
    TieKind, TieRecord, TieResolution,
};
pub use pairwise::{condorcet_winner, pairwise_matrix, schwartz_set, smith_set};
pub use profile::{Ballot, MAX_CANDIDATES, Profile, ProfileError, Unranked};
pub use schulze::{Strength, schulze_defeats, schulze_ranking, strongest_paths};
pub use star::{MAX_STARS, StarRunoff, StarSeat, StarTotal};
pub use tiebreak::TieBreak;

use tiebreak::priorities;

/// A counting method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Schulze with winning votes, exactly as Elekto.
    Schulze,
    /// Schulze with margins.
    SchulzeMargins,
    /// Ranked Pairs (Tideman), winning votes.
    RankedPairs,
    /// Minimax, winning votes.
    Minimax,
    /// Copeland (win 1, tie ½).
    Copeland,
    /// Instant-runoff voting (one seat).
    Irv,
    /// Single transferable vote, Meek's method.
    StvMeek,
    /// Single transferable vote, Scottish Local Government Elections Order 2007 rules.
    StvScottish,
    /// STAR voting (score then automatic runoff) on score ballots; Bloc STAR for several seats.
    Star,
}

/// What a voter fills in: a ranking or stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BallotKind {
    /// Ranks 1…N (Elekto's ballot).
    Ranked,
    /// 0 to 5 stars per candidate (STAR).
    Score,
}

impl Method {
    /// Every method, in a stable order.
    pub const ALL: [Method; 9] = [
        Method::Schulze,
        Method::SchulzeMargins,
        Method::RankedPairs,
        Method::Minimax,
        Method::Copeland,
        Method::Irv,
        Method::StvMeek,
        Method::StvScottish,
        Method::Star,
    ];

    /// The method's name: `schulze`, `schulze-margins`, `ranked-pairs`, `minimax`,
    /// `copeland`, `irv`, `stv-meek`, `stv-scottish` or `star`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Schulze => "schulze",
            Method::SchulzeMargins => "schulze-margins",
            Method::RankedPairs => "ranked-pairs",
            Method::Minimax => "minimax",
            Method::Copeland => "copeland",
            Method::Irv => "irv",
            Method::StvMeek => "stv-meek",
            Method::StvScottish => "stv-scottish",
            Method::Star => "star",
        }
    }

    /// The ballot this method counts.
    pub fn ballot_kind(self) -> BallotKind {
        match self {
            Method::Star => BallotKind::Score,
            _ => BallotKind::Ranked,
        }
    }

    /// The methods that count `kind` ballots, in [`Method::ALL`] order.
    pub fn for_ballot(kind: BallotKind) -> impl Iterator<Item = Method> {
        Method::ALL
            .into_iter()
            .filter(move |m| m.ballot_kind() == kind)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown counting method `{0}` (expected one of: schulze, schulze-margins, ranked-pairs, minimax, copeland, irv, stv-meek, stv-scottish, star)"
)]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMethod(s.to_owned()))
    }
}

/// What to count and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountOptions {
    /// The method.
    pub method: Method,
    /// Seats to fill (at least 1; IRV fills exactly one).
    pub seats: usize,
    /// How unranked candidates count.
    pub unranked: Unranked,
    /// Optional deterministic tie-break.
    pub tie_break: Option<TieBreak>,
}

impl CountOptions {
    /// `method` for `seats` seats, Elekto's unranked rule, no tie-break.
    pub fn new(method: Method, seats: usize) -> Self {
        Self {
            method,
            seats,
            unranked: Unranked::NoOpinion,
            tie_break: None,
        }
    }

    /// Sets the unranked rule.
    pub fn with_unranked(mut self, unranked: Unranked) -> Self {
        self.unranked = unranked;
        self
    }

    /// Sets a tie-break.
    pub fn with_tie_break(mut self, tie_break: TieBreak) -> Self {
        self.tie_break = Some(tie_break);
        self
    }
}

/// Why a count could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    /// The profile has no candidates.
    #[error("there are no candidates")]
    NoCandidates,
    /// Zero seats requested.
    #[error("the number of seats must be at least 1")]
    ZeroSeats,
    /// IRV elects exactly one candidate.
    #[error("IRV fills exactly one seat (got {0}); use stv-meek for several")]
    IrvSeats(usize),
    /// Too many tie combinations to explore.
    #[error("too many tied combinations to explore for {0}; give a tie-break seed")]
    TieTooComplex(Method),
    /// A score ballot gives more stars than STAR allows.
    #[error("a ballot gives {0} stars; STAR scores are 0 to 5")]
    ScoreOutOfRange(u16),
    /// Arithmetic would overflow.
    #[error("arithmetic overflow: {0}")]
    Overflow(&'static str),
}

/// Counts `profile` with the options' method.
pub fn count(profile: &Profile, opts: &CountOptions) -> Result<Outcome, CountError> {
    check(profile, opts)?;
    let mut out = match opts.method {
        Method::Schulze => schulze::count(profile, opts, Strength::WinningVotes)?,
        Method::SchulzeMargins => schulze::count(profile, opts, Strength::Margins)?,
        Method::RankedPairs => ranked_pairs::count(profile, opts)?,
        Method::Minimax => minimax::count(profile, opts)?,
        Method::Copeland => copeland::count(profile, opts)?,
        Method::Irv => {
            if opts.seats != 1 {
                return Err(CountError::IrvSeats(opts.seats));
            }
            irv::count(profile, opts)?
        }
        Method::StvMeek => stv_meek::count(profile, opts)?,
        Method::StvScottish => stv_scottish::count(profile, opts)?,
        Method::Star => star::count(profile, opts)?,
    };
    finish_tie_break(&mut out, opts);
    Ok(out)
}

/// Elekto's officer-page groups: `(number of candidates ranked above, IDs)` per tier, best
/// first. For Schulze this is Elekto's `schulze_rank` (number of Schulze defeats); the page
/// shows the first group as the winner box and every other group with the label `n + 1`.
pub fn elekto_groups(outcome: &Outcome) -> Vec<(u32, Vec<String>)> {
    outcome
        .tier_defeats
        .iter()
        .copied()
        .zip(outcome.ranking.iter().cloned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shared helpers for the method modules.

pub(crate) fn check(profile: &Profile, opts: &CountOptions) -> Result<(), CountError> {
    if profile.num_candidates() == 0 {
        return Err(CountError::NoCandidates);
    }
    if opts.seats == 0 {
        return Err(CountError::ZeroSeats);
    }
    Ok(())
}

pub(crate) fn names(ids: &[String], tiers: &[Vec<usize>]) -> Vec<Vec<String>> {
    tiers
        .iter()
        .map(|t| t.iter().map(|&c| ids[c].clone()).collect())
        .collect()
}

/// One score per candidate, in the profile's candidate order.
pub(crate) fn candidate_scores(
    profile: &Profile,
    scores: impl Iterator<Item = f64>,
) -> Vec<CandidateScore> {
    scores
        .zip(profile.candidates())
        .map(|(score, id)| CandidateScore {
            candidate: id.clone(),
            score,
        })
        .collect()
}

/// An outcome with the pairwise information filled in and everything else empty.
pub(crate) fn base_outcome(
    profile: &Profile,
    opts: &CountOptions,
    method: Method,
    d: Matrix,
) -> Outcome {
    let ids = profile.candidates();
    let pick = |v: Vec<usize>| v.into_iter().map(|c| ids[c].clone()).collect();
    Outcome {
        method,
        seats: opts.seats,
        candidates: ids.to_vec(),
        ballots: profile.num_ballots(),
        unranked: opts.unranked,
        ranking: Vec::new(),
        tier_defeats: Vec::new(),
        winners: Vec::new(),
        ties_at_last_seat: Vec::new(),
        condorcet_winner: condorcet_winner(&d).map(|c| ids[c].clone()),
        smith_set: pick(smith_set(&d)),
        schwartz_set: pick(schwartz_set(&d)),
        pairwise: Some(d),
        strongest_paths: None,
        scores: None,
        rounds: Vec::new(),
        star: Vec::new(),
        ties: Vec::new(),
        tie_break: None,
        log: Vec::new(),
    }
}

/// Fills the seats from the top tiers: (sure winners, tier straddling the last seat, seats
/// left for that tier).
pub(crate) fn split_seats(tiers: &[Vec<usize>], seats: usize) -> (Vec<usize>, Vec<usize>, usize) {
    let mut won = Vec::new();
    for t in tiers {
        if won.len() + t.len() <= seats {
            won.extend_from_slice(t);
        } else {
            let need = seats - won.len();
            return if need == 0 {
                (won, Vec::new(), 0)
            } else {
                (won, t.clone(), need)
            };
        }
    }
    (won, Vec::new(), 0)
}

/// Sets ranking, winners and last-seat ties for a ranking method.
pub(crate) fn finish_ranked(
    out: &mut Outcome,
    profile: &Profile,
    opts: &CountOptions,
    tiers: Vec<Vec<usize>>,
    defeats: Vec<u32>,
) {
    let ids = profile.candidates();
    let (mut won, tied, need) = split_seats(&tiers, opts.seats);
    if !tied.is_empty() {
        let mut record = TieRecord {
            kind: TieKind::LastSeat,
            round: None,
            candidates: tied.iter().map(|&c| ids[c].clone()).collect(),
            pairs: Vec::new(),
            resolution: TieResolution::Unresolved,
            chosen: Vec::new(),
        };
        match &opts.tie_break {
            Some(tb) => {
                let prio = priorities(&tb.order(ids));
                let mut t = tied.clone();
                t.sort_by_key(|&c| prio[c]);
                t.truncate(need);
                record.resolution = TieResolution::TieBreak;
                record.chosen = t.iter().map(|&c| ids[c].clone()).collect();
                won.extend(t);
            }
            None => {
                out.ties_at_last_seat = record.candidates.clone();
            }
        }
        out.ties.push(record);
    }
    out.winners = won.iter().map(|&c| ids[c].clone()).collect();
    out.ranking = names(ids, &tiers);
    out.tier_defeats = defeats;
}

/// Sets ranking, winners and ties for IRV / STV from the reported path and the explored
/// possibilities.
pub(crate) fn finish_runoff(
    out: &mut Outcome,
    mut tiers: Vec<Vec<usize>>,
    elected: &[usize],
    possible: &runoff::Possible,
) {
    let ids = out.candidates.clone();
    let n = ids.len();
    tiers.retain(|t| !t.is_empty());
    if possible.sure != possible.maybe {
        // Sure winners first (reported order), then everyone who might win, then the rest.
        let open = possible.maybe.difference(&possible.sure);
        let mut new: Vec<Vec<usize>> = elected
            .iter()
            .filter(|&&c| possible.sure.contains(c))
            .map(|&c| vec![c])
            .collect();
        new.extend(
            possible
                .sure
                .iter()
                .filter(|c| !elected.contains(c))
                .map(|c| vec![c]),
        );
        new.push(open.iter().collect());
        for t in &tiers {
            let rest: Vec<usize> = t
                .iter()
                .copied()
                .filter(|&c| !possible.maybe.contains(c))
                .collect();
            if !rest.is_empty() {
                new.push(rest);
            }
        }
        tiers = new;
        out.winners = tiers
            .iter()
            .flatten()
            .filter(|&&c| possible.sure.contains(c))
            .map(|&c| ids[c].clone())
            .collect();
        out.ties_at_last_seat = open.iter().map(|c| ids[c].clone()).collect();
        if !possible.exact {
            out.log.push(format!(
                "tie exploration stopped after {} states; the reported tie may be wider than \
                 the real one",
                runoff::MAX_EXPLORED_STATES
            ));
        }
    } else {
        out.winners = elected.iter().map(|&c| ids[c].clone()).collect();
    }
    out.tier_defeats = tier_defeats(&tiers);
    debug_assert_eq!(tiers.iter().map(Vec::len).sum::<usize>(), n);
    out.ranking = names(&ids, &tiers);
}

/// For each tier of a ranking (best first), how many candidates rank above it.
pub(crate) fn tier_defeats(tiers: &[Vec<usize>]) -> Vec<u32> {
    let mut above = 0u32;
    tiers
        .iter()
        .map(|t| {
            let d = above;
            above += t.len() as u32;
            d
        })
        .collect()
}

/// Records the tie-break (if any) and whether it was used.
pub(crate) fn finish_tie_break(out: &mut Outcome, opts: &CountOptions) {
    out.tie_break = opts.tie_break.as_ref().map(|tb| {
        let used = out
            .ties
            .iter()
            .any(|t| t.resolution == TieResolution::TieBreak);
        tb.record(&out.candidates, used)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::test_support::ids;

    #[test]
    fn method_names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.as_str().parse::<Method>(), Ok(m));
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.as_str())
            );
        }
        assert!("borda".parse::<Method>().is_err());
        assert_eq!("last".parse::<Unranked>(), Ok(Unranked::Last));
    }

    #[test]
    fn errors() {
        let p = Profile::new(Vec::new()).unwrap();
        assert_eq!(
            count(&p, &CountOptions::new(Method::Schulze, 1)),
            Err(CountError::NoCandidates)
        );
        let p = Profile::new(ids(&["a"])).unwrap();
        assert_eq!(
            count(&p, &CountOptions::new(Method::Schulze, 0)),
            Err(CountError::ZeroSeats)
        );
        assert_eq!(
            count(&p, &CountOptions::new(Method::Irv, 2)),
            Err(CountError::IrvSeats(2))
        );
    }

    #[test]
    fn json_field_names() {
        let mut p = Profile::new(ids(&["a", "b"])).unwrap();
        p.push(&Ballot::new(vec![Some(1), Some(2)])).unwrap();
        let o = count(&p, &CountOptions::new(Method::Schulze, 1)).unwrap();
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["method"], "schulze");
        assert_eq!(v["ranking"], serde_json::json!([["a"], ["b"]]));
        assert_eq!(v["winners"], serde_json::json!(["a"]));
        assert_eq!(v["ties_at_last_seat"], serde_json::json!([]));
        assert_eq!(v["pairwise"], serde_json::json!([[0, 1], [0, 0]]));
        assert_eq!(v["strongest_paths"], serde_json::json!([[0, 1], [0, 0]]));
        assert_eq!(v["unranked"], "no-opinion");
        assert_eq!(v["condorcet_winner"], "a");
    }

    #[test]
    fn tie_break_resolves_last_seat_for_every_ranking_method() {
        let p = Profile::new(ids(&["a", "b", "c"])).unwrap();
        for m in Method::ALL
            .into_iter()
            .filter(|m| m.ballot_kind() == BallotKind::Ranked)
        {
            let o = count(&p, &CountOptions::new(m, 1)).unwrap();
            assert!(o.winners.is_empty(), "{m}");
            assert_eq!(o.ties_at_last_seat, ids(&["a", "b", "c"]), "{m}");
            assert!(o.tie_break.is_none());
            let tb = TieBreak::from_order(ids(&["c", "a", "b"]));
            let o = count(&p, &CountOptions::new(m, 1).with_tie_break(tb)).unwrap();
            assert_eq!(o.winners, ids(&["c"]), "{m}");
            assert!(o.ties_at_last_seat.is_empty(), "{m}");
            let rec = o.tie_break.unwrap();
            assert!(rec.used, "{m}");
            assert_eq!(rec.order, ids(&["c", "a", "b"]));
        }
    }

    /// Checklist 52: the seat cut is flagged when a tie straddles it, and only a candidate who
    /// beats every other pairwise is the Condorcet winner.
    #[test]
    fn checklist_52_seat_cut_and_condorcet_winner() {
        let mut p = Profile::new(ids(&["a", "b", "c"])).unwrap();
        p.push_weighted(&Ballot::new(vec![Some(1), Some(2), Some(2)]), 2)
            .unwrap();
        let o = count(&p, &CountOptions::new(Method::Schulze, 2)).unwrap();
        assert_eq!(o.winners, ids(&["a"]));
        assert_eq!(o.ties_at_last_seat, ids(&["b", "c"]));
        assert!(!o.is_decided());
        assert_eq!(o.ties[0].kind, TieKind::LastSeat);
        assert_eq!(o.condorcet_winner.as_deref(), Some("a"));
        let o = count(&p, &CountOptions::new(Method::Schulze, 3)).unwrap();
        assert_eq!(o.winners, ids(&["a", "b", "c"]));
        assert!(o.is_decided() && o.ties.is_empty());
        // A tied top group is not a Condorcet winner.
        let p = p.without_candidates(&[0]);
        let o = count(&p, &CountOptions::new(Method::Schulze, 1)).unwrap();
        assert_eq!(o.ranking, vec![ids(&["b", "c"])]);
        assert_eq!(o.condorcet_winner, None);
    }

    #[test]
    fn split_seats_cases() {
        let tiers = vec![vec![0], vec![1, 2], vec![3]];
        assert_eq!(split_seats(&tiers, 1), (vec![0], vec![], 0));
        assert_eq!(split_seats(&tiers, 2), (vec![0], vec![1, 2], 1));
        assert_eq!(split_seats(&tiers, 3), (vec![0, 1, 2], vec![], 0));
        assert_eq!(split_seats(&tiers, 9), (vec![0, 1, 2, 3], vec![], 0));
    }
}
