//! STAR voting (Score Then Automatic Runoff) and Bloc STAR, on score ballots.
//!
//! # Input
//!
//! A STAR count reads the profile's values as **stars**, not ranks: `Some(s)` is `s` stars
//! (0–5, 5 = best) and `None` (a blank, Elekto's "No opinion") is 0 stars, as the STAR rules
//! say of a blank score. Votebox stores a score ballot in Elekto's `ballot` table with the
//! stars in the `rank` column, so [`crate::results::StoredBallots::profile`] and the
//! `ballots.csv` reader give exactly such a profile. A value above 5 is refused
//! ([`CountError::ScoreOutOfRange`]). The unranked rule does not apply.
//!
//! # Rules
//!
//! Equal Vote Coalition, "STAR Voting Technical Specifications" (starvoting.org) and the
//! "Official Tiebreaker Protocol" (starvoting.org/ties):
//!
//! 1. **Scoring round**: each candidate's stars are summed; the two highest totals are the
//!    finalists.
//! 2. **Automatic runoff**: each ballot counts one vote for the finalist it gives more stars;
//!    equal stars are "no preference". The finalist preferred on more ballots wins.
//! 3. **Ties in the scoring round** (several candidates with equal totals competing for the
//!    finalist places), tried in order until the places are filled:
//!    * *head to head*: the tied candidates are compared pairwise (preferred by more voters) and
//!      the candidate(s) who lost the most match-ups are eliminated;
//!    * *five stars*: the tie is broken in favour of the candidate(s) with the most five-star
//!      ratings, eliminating those with the fewest;
//!    * *lot*: the remaining places go by the election's deterministic tie-break order
//!      ([`super::TieBreak`], from `tie_break_seed`) in place of a coin toss.
//!
//!    Whenever a step settles part of the tie (some candidates advance or are eliminated but
//!    a tie remains for the places left), the protocol starts again from the top with the
//!    candidates still tied, as the protocol's "repeat with the remaining tied candidates"
//!    says.
//! 4. **Ties in the runoff** (as many ballots prefer each finalist): the finalist with the
//!    higher scoring-round total wins; then the one with more five-star ratings; then the lot.
//! 5. **Bloc STAR** (`seats` > 1): the count is repeated for each seat with the winners of the
//!    earlier seats removed.
//!
//! Without a tie-break order the lot is never drawn silently: votebox then tries every way
//! the lot could fall and, when they all elect the same candidate, records the tie as
//! irrelevant; otherwise the count stops there and reports the candidates who could take the
//! seat in [`Outcome::ties_at_last_seat`], as every other method does.
//!
//! # Output
//!
//! [`Outcome::star`] holds one [`StarSeat`] per seat counted: every total and five-star count,
//! the finalists, the runoff matrix (prefer A, prefer B, no preference) and every tie-breaking
//! step in words; [`Outcome::ties`] lists each tie ([`TieKind::Finalists`],
//! [`TieKind::Runoff`]) and how it was decided. The ranking lists the winners in order of
//! election, then the other candidates by scoring-round total. `pairwise[x][y]` is the number
//! of ballots giving x more stars than y.

use serde::Serialize;

use super::outcome::{Matrix, Outcome, TieKind, TieRecord, TieResolution};
use super::profile::UNRANKED;
use super::tiebreak::priorities;
use super::{
    CountError, CountOptions, Method, Profile, candidate_scores, condorcet_winner, names,
    schwartz_set, smith_set,
};

/// The most stars a ballot may give a candidate.
pub const MAX_STARS: u8 = 5;

/// A candidate's scoring-round figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StarTotal {
    /// Candidate ID.
    pub candidate: String,
    /// Sum of the stars of every ballot.
    pub stars: u64,
    /// Ballots giving the candidate five stars.
    pub five_stars: u64,
}

/// The automatic runoff between the two finalists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StarRunoff {
    /// The finalist with the higher total (or the first chosen when totals are equal).
    pub first: String,
    /// The other finalist.
    pub second: String,
    /// Ballots giving `first` more stars than `second`.
    pub prefer_first: u64,
    /// Ballots giving `second` more stars than `first`.
    pub prefer_second: u64,
    /// Ballots giving both the same stars.
    pub no_preference: u64,
}

/// One seat of a STAR / Bloc STAR count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StarSeat {
    /// Seat number, from 1.
    pub seat: usize,
    /// Every candidate still in the count, highest total first.
    pub totals: Vec<StarTotal>,
    /// The finalists (one when a single candidate is left; empty when a tie stopped the count
    /// before the runoff).
    pub finalists: Vec<String>,
    /// The runoff, when there were two finalists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runoff: Option<StarRunoff>,
    /// The seat's winner; `None` when an undecided tie stopped the count.
    pub winner: Option<String>,
    /// How each tie of this seat was broken, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
}

/// The ballots summed once: totals, five-star counts and the preference matrix.
struct Sums {
    ids: Vec<String>,
    stars: Vec<u64>,
    five: Vec<u64>,
    /// `prefer[x][y]`: ballots giving x more stars than y.
    prefer: Matrix,
    ballots: u64,
}

impl Sums {
    fn of(profile: &Profile) -> Result<Sums, CountError> {
        let m = profile.num_candidates();
        let mut stars = vec![0u64; m];
        let mut five = vec![0u64; m];
        let mut prefer = vec![0u64; m * m];
        let mut line = vec![0u8; m];
        for (ranks, w) in profile.raw_lines() {
            let w = u64::from(w);
            for (c, &r) in ranks.iter().enumerate() {
                let s = if r == UNRANKED { 0 } else { r };
                line[c] = u8::try_from(s)
                    .ok()
                    .filter(|&s| s <= MAX_STARS)
                    .ok_or(CountError::ScoreOutOfRange(s))?;
                stars[c] += w * u64::from(line[c]);
                five[c] += w * u64::from(line[c] == MAX_STARS);
            }
            for x in 0..m {
                for y in 0..m {
                    prefer[x * m + y] += w * u64::from(line[x] > line[y]);
                }
            }
        }
        let rows: Vec<Vec<u64>> = prefer.chunks(m.max(1)).map(<[u64]>::to_vec).collect();
        Ok(Sums {
            ids: profile.candidates().to_vec(),
            stars,
            five,
            prefer: if m == 0 {
                Matrix::zeros(0)
            } else {
                Matrix::from_rows(&rows)
            },
            ballots: profile.num_ballots(),
        })
    }

    fn list(&self, cs: &[usize]) -> String {
        cs.iter()
            .map(|&c| self.ids[c].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The runoff winner by the ballots alone (head to head, then totals, then five stars),
    /// with the step that decided it; `None` when only the lot can decide.
    fn runoff_by_rules(&self, a: usize, b: usize) -> Option<(usize, &'static str)> {
        let steps: [(&'static str, u64, u64); 3] = [
            ("", self.prefer.get(a, b), self.prefer.get(b, a)),
            (
                "the higher scoring-round total",
                self.stars[a],
                self.stars[b],
            ),
            ("more five-star ratings", self.five[a], self.five[b]),
        ];
        steps.into_iter().find_map(|(why, x, y)| match x.cmp(&y) {
            std::cmp::Ordering::Greater => Some((a, why)),
            std::cmp::Ordering::Less => Some((b, why)),
            std::cmp::Ordering::Equal => None,
        })
    }

    /// Who can win a runoff between `a` and `b` (both when only the lot decides).
    fn possible_runoff_winners(&self, a: usize, b: usize) -> Vec<usize> {
        match self.runoff_by_rules(a, b) {
            Some((w, _)) => vec![w],
            None => vec![a, b],
        }
    }
}

/// A tie the rules could not break (only the lot could).
struct OpenTie {
    /// Candidates already sure of a finalist place.
    advanced: Vec<usize>,
    /// Candidates competing for the `places` left.
    tied: Vec<usize>,
    places: usize,
}

/// The outcome of breaking a scoring-round tie.
enum Broken {
    /// The candidates given the places, and whether the lot was drawn.
    Chosen(Vec<usize>, bool),
    /// Only a lot could decide, and there is no tie-break order.
    Open(Vec<usize>, usize),
}

struct Counter<'a> {
    sums: &'a Sums,
    /// Tie-break priority of each candidate (0 = most favoured), when an order is given.
    lot: Option<Vec<usize>>,
}

impl Counter<'_> {
    /// Splits `tied` by `value` (higher first): the groups that fit in `places` advance, the
    /// group straddling the cut stays tied, the rest is eliminated. `None` when every value is
    /// equal (no progress).
    fn split(
        tied: &[usize],
        places: usize,
        value: impl Fn(usize) -> i64,
    ) -> Option<(Vec<usize>, Vec<usize>)> {
        let mut sorted = tied.to_vec();
        sorted.sort_by_key(|&c| std::cmp::Reverse(value(c)));
        let first = value(sorted[0]);
        if sorted.iter().all(|&c| value(c) == first) {
            return None;
        }
        let mut advanced = Vec::new();
        let mut i = 0;
        while i < sorted.len() {
            let v = value(sorted[i]);
            let group: Vec<usize> = sorted[i..]
                .iter()
                .copied()
                .take_while(|&c| value(c) == v)
                .collect();
            if advanced.len() + group.len() <= places {
                i += group.len();
                advanced.extend(group);
                if advanced.len() == places {
                    return Some((advanced, Vec::new()));
                }
            } else {
                return Some((advanced, group));
            }
        }
        Some((advanced, Vec::new()))
    }

    /// Breaks a tie of `tied` for `places` finalist places by the official protocol.
    fn break_scoring_tie(
        &self,
        mut tied: Vec<usize>,
        mut places: usize,
        steps: &mut Vec<String>,
    ) -> Broken {
        let s = self.sums;
        let mut chosen = Vec::new();
        loop {
            if tied.len() <= places {
                chosen.extend(tied);
                return Broken::Chosen(chosen, false);
            }
            let losses = |c: usize| -> i64 {
                tied.iter()
                    .filter(|&&o| o != c && s.prefer.get(o, c) > s.prefer.get(c, o))
                    .count() as i64
            };
            let five = |c: usize| s.five[c] as i64;
            let head: Option<(Vec<usize>, Vec<usize>)> = Self::split(&tied, places, |c| -losses(c));
            let (advanced, rest, how) = match head {
                Some((a, r)) => {
                    let detail: Vec<String> = tied
                        .iter()
                        .map(|&c| format!("{} lost {}", s.ids[c], losses(c)))
                        .collect();
                    (a, r, format!("head to head ({})", detail.join(", ")))
                }
                None => match Self::split(&tied, places, five) {
                    Some((a, r)) => {
                        let detail: Vec<String> = tied
                            .iter()
                            .map(|&c| format!("{} {}", s.ids[c], s.five[c]))
                            .collect();
                        (
                            a,
                            r,
                            format!("most five-star ratings ({})", detail.join(", ")),
                        )
                    }
                    None => {
                        let Some(prio) = &self.lot else {
                            steps.push(format!(
                                "{} are still tied for {places} place(s) after the head-to-head \
                                 and five-star steps: only a lot can decide",
                                s.list(&tied)
                            ));
                            return Broken::Open(tied, places);
                        };
                        let mut order = tied.clone();
                        order.sort_by_key(|&c| prio[c]);
                        order.truncate(places);
                        steps.push(format!(
                            "{} are still tied after the head-to-head and five-star steps; the \
                             tie-break order gives the place(s) to {}",
                            s.list(&tied),
                            s.list(&order)
                        ));
                        chosen.extend(order);
                        return Broken::Chosen(chosen, true);
                    }
                },
            };
            let mut msg = format!("tie between {} broken by {how}:", s.list(&tied));
            if !advanced.is_empty() {
                msg.push_str(&format!(" {} advance(s)", s.list(&advanced)));
            }
            if !rest.is_empty() {
                msg.push_str(&format!(
                    "{} {} still tied for {} place(s)",
                    if advanced.is_empty() { "" } else { ";" },
                    s.list(&rest),
                    places - advanced.len()
                ));
            }
            steps.push(msg);
            places -= advanced.len();
            chosen.extend(advanced);
            if places == 0 || rest.is_empty() {
                return Broken::Chosen(chosen, false);
            }
            tied = rest;
        }
    }

    /// The two finalists among `cands` (candidates still in the count); records every tie.
    fn finalists(
        &self,
        cands: &[usize],
        seat: usize,
        steps: &mut Vec<String>,
        ties: &mut Vec<TieRecord>,
    ) -> Result<Vec<usize>, OpenTie> {
        let s = self.sums;
        let mut sorted = cands.to_vec();
        sorted.sort_by_key(|&c| std::cmp::Reverse(s.stars[c]));
        let mut advanced: Vec<usize> = Vec::new();
        let mut i = 0;
        while advanced.len() < 2 && i < sorted.len() {
            let v = s.stars[sorted[i]];
            let group: Vec<usize> = sorted[i..]
                .iter()
                .copied()
                .take_while(|&c| s.stars[c] == v)
                .collect();
            i += group.len();
            let places = 2 - advanced.len();
            if group.len() <= places {
                advanced.extend(group);
                continue;
            }
            steps.push(format!(
                "scoring round: {} tied with {v} stars for {places} finalist place(s)",
                s.list(&group)
            ));
            let mut record = TieRecord {
                kind: TieKind::Finalists,
                round: Some(seat),
                candidates: group.iter().map(|&c| s.ids[c].clone()).collect(),
                pairs: Vec::new(),
                resolution: TieResolution::Rule,
                chosen: Vec::new(),
            };
            match self.break_scoring_tie(group, places, steps) {
                Broken::Chosen(chosen, lot) => {
                    if lot {
                        record.resolution = TieResolution::TieBreak;
                    }
                    record.chosen = chosen.iter().map(|&c| s.ids[c].clone()).collect();
                    ties.push(record);
                    advanced.extend(chosen);
                }
                Broken::Open(tied, places) => {
                    record.resolution = TieResolution::Unresolved;
                    ties.push(record);
                    return Err(OpenTie {
                        advanced,
                        tied,
                        places,
                    });
                }
            }
        }
        Ok(advanced)
    }

    /// Who could win the seat, over every way an open finalist tie could be drawn.
    fn possible_winners(&self, open: &OpenTie) -> Vec<usize> {
        let s = self.sums;
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        match (open.advanced.as_slice(), open.places) {
            ([a], 1) => pairs.extend(open.tied.iter().map(|&t| (*a, t))),
            (_, _) => {
                for (i, &x) in open.tied.iter().enumerate() {
                    for &y in &open.tied[i + 1..] {
                        pairs.push((x, y));
                    }
                }
            }
        }
        let mut out: Vec<usize> = pairs
            .into_iter()
            .flat_map(|(a, b)| s.possible_runoff_winners(a, b))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

pub(crate) fn count(profile: &Profile, opts: &CountOptions) -> Result<Outcome, CountError> {
    let sums = Sums::of(profile)?;
    let s = &sums;
    let ids = profile.candidates();
    let counter = Counter {
        sums: s,
        lot: opts.tie_break.as_ref().map(|tb| priorities(&tb.order(ids))),
    };
    let mut out = Outcome {
        method: Method::Star,
        seats: opts.seats,
        candidates: ids.to_vec(),
        ballots: s.ballots,
        unranked: opts.unranked,
        ranking: Vec::new(),
        tier_defeats: Vec::new(),
        winners: Vec::new(),
        ties_at_last_seat: Vec::new(),
        condorcet_winner: condorcet_winner(&s.prefer).map(|c| ids[c].clone()),
        smith_set: smith_set(&s.prefer)
            .into_iter()
            .map(|c| ids[c].clone())
            .collect(),
        schwartz_set: schwartz_set(&s.prefer)
            .into_iter()
            .map(|c| ids[c].clone())
            .collect(),
        pairwise: Some(s.prefer.clone()),
        strongest_paths: None,
        scores: Some(candidate_scores(profile, s.stars.iter().map(|&v| v as f64))),
        rounds: Vec::new(),
        star: Vec::new(),
        ties: Vec::new(),
        tie_break: None,
        log: vec![
            "STAR: a blank score counts as 0 stars; the unranked rule does not apply".to_owned(),
        ],
    };
    let mut remaining: Vec<usize> = (0..ids.len()).collect();
    let mut won: Vec<usize> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for seat in 1..=opts.seats {
        if remaining.is_empty() {
            break;
        }
        let mut steps = Vec::new();
        let mut totals = remaining.clone();
        totals.sort_by_key(|&c| std::cmp::Reverse(s.stars[c]));
        let totals = totals
            .into_iter()
            .map(|c| StarTotal {
                candidate: ids[c].clone(),
                stars: s.stars[c],
                five_stars: s.five[c],
            })
            .collect();
        let mut record = StarSeat {
            seat,
            totals,
            finalists: Vec::new(),
            runoff: None,
            winner: None,
            steps: Vec::new(),
        };
        let finalists = match counter.finalists(&remaining, seat, &mut steps, &mut out.ties) {
            Ok(f) => f,
            Err(tie) => {
                let could = counter.possible_winners(&tie);
                if let [w] = could.as_slice() {
                    // Every way of drawing the lot elects the same candidate.
                    if let Some(t) = out.ties.last_mut() {
                        t.resolution = TieResolution::Irrelevant;
                    }
                    steps.push(format!(
                        "every way the lot could fall, {} wins the runoff: the tie does not \
                         matter",
                        ids[*w]
                    ));
                    record.winner = Some(ids[*w].clone());
                    record.steps = steps;
                    out.star.push(record);
                    won.push(*w);
                    remaining.retain(|&c| c != *w);
                    continue;
                }
                steps.push(format!(
                    "the seat is undecided between {}; give a tie-break seed (tie_break_seed) or \
                     decide by lot",
                    s.list(&could)
                ));
                record.steps = steps;
                out.star.push(record);
                open = could;
                break;
            }
        };
        record.finalists = finalists.iter().map(|&c| ids[c].clone()).collect();
        let winner = match finalists.as_slice() {
            [only] => {
                steps.push(format!("{} is the only candidate left", ids[*only]));
                *only
            }
            [x, y, ..] => {
                // The higher total first (equal totals: in the order the tie-break chose).
                let (a, b) = if s.stars[*y] > s.stars[*x] {
                    (*y, *x)
                } else {
                    (*x, *y)
                };
                let (pa, pb) = (s.prefer.get(a, b), s.prefer.get(b, a));
                record.runoff = Some(StarRunoff {
                    first: ids[a].clone(),
                    second: ids[b].clone(),
                    prefer_first: pa,
                    prefer_second: pb,
                    no_preference: s.ballots - pa - pb,
                });
                match s.runoff_by_rules(a, b) {
                    Some((w, "")) => w,
                    Some((w, why)) => {
                        steps.push(format!(
                            "runoff tie between {} and {} ({pa} each) broken by {why}: {} wins",
                            ids[a], ids[b], ids[w]
                        ));
                        out.ties
                            .push(runoff_tie(ids, seat, a, b, w, TieResolution::Rule));
                        w
                    }
                    None => match &counter.lot {
                        Some(prio) => {
                            let w = if prio[a] < prio[b] { a } else { b };
                            steps.push(format!(
                                "runoff tie between {} and {}: equal preferences, totals and \
                                 five-star ratings; the tie-break order elects {}",
                                ids[a], ids[b], ids[w]
                            ));
                            out.ties
                                .push(runoff_tie(ids, seat, a, b, w, TieResolution::TieBreak));
                            w
                        }
                        None => {
                            steps.push(format!(
                                "runoff tie between {} and {}: equal preferences, totals and \
                                 five-star ratings; only a lot can decide (give a tie-break \
                                 seed)",
                                ids[a], ids[b]
                            ));
                            let mut t = runoff_tie(ids, seat, a, b, a, TieResolution::Unresolved);
                            t.chosen.clear();
                            out.ties.push(t);
                            record.steps = steps;
                            out.star.push(record);
                            open = vec![a, b];
                            break;
                        }
                    },
                }
            }
            [] => break,
        };
        record.winner = Some(ids[winner].clone());
        record.steps = steps;
        out.star.push(record);
        won.push(winner);
        remaining.retain(|&c| c != winner);
    }
    // Ranking: winners in order, the open tie, then the rest by total.
    let mut tiers: Vec<Vec<usize>> = won.iter().map(|&c| vec![c]).collect();
    if !open.is_empty() {
        open.sort_unstable();
        tiers.push(open.clone());
    }
    let mut rest: Vec<usize> = (0..ids.len())
        .filter(|c| !won.contains(c) && !open.contains(c))
        .collect();
    rest.sort_by_key(|&c| (std::cmp::Reverse(s.stars[c]), c));
    let mut lower: Vec<Vec<usize>> = Vec::new();
    for c in rest {
        match lower.last_mut() {
            Some(t) if s.stars[t[0]] == s.stars[c] => t.push(c),
            _ => lower.push(vec![c]),
        }
    }
    tiers.extend(lower);
    out.tier_defeats = super::tier_defeats(&tiers);
    out.ranking = names(ids, &tiers);
    out.winners = won.iter().map(|&c| ids[c].clone()).collect();
    out.ties_at_last_seat = open.iter().map(|&c| ids[c].clone()).collect();
    Ok(out)
}

fn runoff_tie(
    ids: &[String],
    seat: usize,
    a: usize,
    b: usize,
    w: usize,
    resolution: TieResolution,
) -> TieRecord {
    TieRecord {
        kind: TieKind::Runoff,
        round: Some(seat),
        candidates: vec![ids[a].clone(), ids[b].clone()],
        pairs: Vec::new(),
        resolution,
        chosen: vec![ids[w].clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::{Ballot, TieBreak, count};

    /// A profile over `ids` from `(weight, stars per candidate)` lines.
    fn profile(ids: &[&str], lines: &[(u32, &[u32])]) -> Profile {
        let mut p = Profile::new(ids.iter().map(|s| s.to_string()).collect()).unwrap();
        for (w, stars) in lines {
            let b = Ballot::new(stars.iter().map(|&s| Some(s)).collect());
            p.push_weighted(&b, *w).unwrap();
        }
        p
    }

    fn star(p: &Profile, seats: usize) -> Outcome {
        count(p, &CountOptions::new(Method::Star, seats)).unwrap()
    }

    fn runoff(o: &Outcome, seat: usize) -> (&str, &str, u64, u64, u64) {
        let r = o.star[seat - 1].runoff.as_ref().unwrap();
        (
            r.first.as_str(),
            r.second.as_str(),
            r.prefer_first,
            r.prefer_second,
            r.no_preference,
        )
    }

    /// The worked example of the video "Why voting feels TERRIBLE: A Space Fabric Odyssey",
    /// as tabulated in starvote's test_elections/test_election_a_space_fabric_odyssey: totals
    /// 38, 21, 20; runoff 6 to 3, no preference 0.
    #[test]
    fn space_fabric_odyssey() {
        let p = profile(
            &["purple-space", "plain-purple", "white-space"],
            &[(2, &[5, 3, 0]), (3, &[4, 5, 0]), (4, &[4, 0, 5])],
        );
        let o = star(&p, 1);
        let totals: Vec<u64> = o.star[0].totals.iter().map(|t| t.stars).collect();
        assert_eq!(totals, vec![38, 21, 20]);
        assert_eq!(o.star[0].finalists, vec!["purple-space", "plain-purple"]);
        assert_eq!(runoff(&o, 1), ("purple-space", "plain-purple", 6, 3, 0));
        assert_eq!(o.winners, vec!["purple-space"]);
        assert!(o.ties.is_empty() && o.is_decided());
        assert_eq!(o.pairwise.as_ref().unwrap().get(0, 1), 6);
    }

    /// starvote test_election_breakable_tie_for_second_in_score_round: Amy and Brian tie on 7
    /// stars for the second finalist place; Brian is preferred head to head (2 to 1) and
    /// advances; Chuck wins the runoff 3 to 0.
    #[test]
    fn scoring_tie_broken_head_to_head() {
        let p = profile(
            &["amy", "brian", "chuck"],
            &[(2, &[1, 2, 5]), (1, &[5, 3, 5])],
        );
        let o = star(&p, 1);
        assert_eq!(o.star[0].finalists, vec!["chuck", "brian"]);
        assert_eq!(runoff(&o, 1), ("chuck", "brian", 3, 0, 0));
        assert_eq!(o.winners, vec!["chuck"]);
        assert_eq!(o.ties.len(), 1);
        assert_eq!(o.ties[0].kind, TieKind::Finalists);
        assert_eq!(o.ties[0].resolution, TieResolution::Rule);
        assert_eq!(o.ties[0].chosen, vec!["brian"]);
    }

    /// starvote test_election_breakable_tie_in_automatic_runoff_round_using_score_round: the
    /// runoff is 1 to 1 (1 no preference); Chuck's higher total (11 to 10) wins.
    #[test]
    fn runoff_tie_broken_by_totals() {
        let p = profile(
            &["amy", "brian", "chuck"],
            &[(1, &[1, 2, 5]), (1, &[1, 5, 3]), (1, &[1, 3, 3])],
        );
        let o = star(&p, 1);
        assert_eq!(runoff(&o, 1), ("chuck", "brian", 1, 1, 1));
        assert_eq!(o.winners, vec!["chuck"]);
        assert_eq!(o.ties[0].kind, TieKind::Runoff);
        assert_eq!(o.ties[0].resolution, TieResolution::Rule);
        assert!(o.star[0].steps[0].contains("higher scoring-round total"));
    }

    /// starvote test_election_breakable_tie_in_automatic_runoff_round_using_max_score_count_round:
    /// runoff 1 to 1, totals 12 and 12; Chuck has more five-star ratings (2 to 1) and wins.
    #[test]
    fn runoff_tie_broken_by_five_stars() {
        let p = profile(
            &["amy", "brian", "chuck"],
            &[(1, &[1, 4, 5]), (1, &[1, 3, 2]), (1, &[1, 5, 5])],
        );
        let o = star(&p, 1);
        assert_eq!(o.winners, vec!["chuck"]);
        assert_eq!(o.ties[0].resolution, TieResolution::Rule);
        assert!(o.star[0].steps[0].contains("five-star"));
    }

    /// starvote test_election_bloc_star_and_electowiki (Electowiki, "STAR voting", Complete
    /// ranking): 4 seats; "First" and the Condorcet loser tie all the way in the first runoff
    /// and the lot (order First, Condorcet Loser, …) elects First; then Second (11 to 5), Third
    /// (11 to 5) and Fourth (9 to 5, 2 no preference) each beat the Condorcet loser.
    #[test]
    fn bloc_star_electowiki() {
        let ids = ["first", "condorcet-loser", "second", "third", "fourth"];
        let p = profile(
            &ids,
            &[
                (8, &[3, 0, 1, 1, 1]),
                (5, &[0, 4, 0, 0, 0]),
                (2, &[0, 1, 3, 2, 1]),
                (1, &[0, 2, 5, 4, 3]),
            ],
        );
        let lot = TieBreak::from_order(ids.iter().map(|s| s.to_string()).collect());
        let o = count(&p, &CountOptions::new(Method::Star, 4).with_tie_break(lot)).unwrap();
        assert_eq!(o.winners, vec!["first", "second", "third", "fourth"]);
        let totals: Vec<u64> = o.star[0].totals.iter().map(|t| t.stars).collect();
        assert_eq!(totals, vec![24, 24, 19, 16, 13]);
        assert_eq!(o.ties[0].kind, TieKind::Runoff);
        assert_eq!(o.ties[0].resolution, TieResolution::TieBreak);
        assert_eq!(runoff(&o, 2), ("condorcet-loser", "second", 5, 11, 0));
        assert_eq!(runoff(&o, 3), ("condorcet-loser", "third", 5, 11, 0));
        assert_eq!(runoff(&o, 4), ("condorcet-loser", "fourth", 5, 9, 2));
        assert_eq!(
            o.ranking.last().unwrap(),
            &vec!["condorcet-loser".to_owned()]
        );
        assert!(o.tie_break.as_ref().unwrap().used);
        // Without a tie-break order the first seat is reported as a tie, never drawn.
        let o = star(&p, 4);
        assert!(o.winners.is_empty());
        assert_eq!(o.ties_at_last_seat, vec!["first", "condorcet-loser"]);
        assert_eq!(o.ties[0].resolution, TieResolution::Unresolved);
    }

    /// starvote test_election_unbreakable_tie_for_second_in_score_round: Amy and Brian tie on 6
    /// stars, 1 to 1 head to head, no five-star ratings; only a lot can pick the second
    /// finalist, but Chuck (5 stars on every ballot) wins either runoff: the tie is irrelevant.
    #[test]
    fn unbreakable_scoring_tie_that_does_not_matter() {
        let p = profile(
            &["amy", "brian", "chuck"],
            &[(1, &[1, 3, 5]), (1, &[3, 1, 5]), (1, &[2, 2, 5])],
        );
        let o = star(&p, 1);
        assert_eq!(o.winners, vec!["chuck"]);
        assert!(o.is_decided());
        assert_eq!(o.ties[0].resolution, TieResolution::Irrelevant);
    }

    #[test]
    fn unbreakable_three_way_tie_is_reported() {
        // A cycle with equal totals and no five stars: nothing but a lot separates them.
        let p = profile(
            &["a", "b", "c"],
            &[(1, &[3, 2, 1]), (1, &[1, 3, 2]), (1, &[2, 1, 3])],
        );
        let o = star(&p, 1);
        assert!(o.winners.is_empty());
        assert_eq!(o.ties_at_last_seat, vec!["a", "b", "c"]);
        let tb = TieBreak::from_order(vec!["c".into(), "b".into(), "a".into()]);
        let o = count(&p, &CountOptions::new(Method::Star, 1).with_tie_break(tb)).unwrap();
        // The lot gives the finalist places to c and b; b beats c in the runoff 2 to 1.
        assert_eq!(o.star[0].finalists, vec!["c", "b"]);
        assert_eq!(o.winners, vec!["b"]);
        assert_eq!(o.ties[0].resolution, TieResolution::TieBreak);
    }

    #[test]
    fn three_way_scoring_tie_eliminates_the_most_defeated() {
        // a, b, c tie on 9 stars for both places; a beats b and c, b beats c: c lost most.
        let p = profile(
            &["a", "b", "c", "d"],
            &[(2, &[4, 3, 2, 0]), (1, &[1, 3, 5, 0])],
        );
        let o = star(&p, 1);
        assert_eq!(o.star[0].finalists, vec!["a", "b"]);
        assert_eq!(o.winners, vec!["a"]);
        assert_eq!(o.ties[0].chosen, vec!["a", "b"]);
        assert_eq!(o.ties[0].kind, TieKind::Finalists);
        assert_eq!(o.ties[0].resolution, TieResolution::Rule);
    }

    #[test]
    fn out_of_range_scores_and_blanks() {
        let p = profile(&["a", "b"], &[(1, &[6, 0])]);
        assert_eq!(
            count(&p, &CountOptions::new(Method::Star, 1)),
            Err(CountError::ScoreOutOfRange(6))
        );
        // A blank ("No opinion") is 0 stars.
        let mut p = Profile::new(vec!["a".into(), "b".into()]).unwrap();
        p.push(&Ballot::new(vec![None, Some(1)])).unwrap();
        let o = star(&p, 1);
        assert_eq!(o.winners, vec!["b"]);
        assert_eq!(runoff(&o, 1), ("b", "a", 1, 0, 0));
    }

    #[test]
    fn seats_beyond_the_candidates_elect_everyone() {
        let p = profile(&["a", "b", "c"], &[(1, &[5, 3, 1])]);
        let o = star(&p, 5);
        assert_eq!(o.winners, vec!["a", "b", "c"]);
        assert_eq!(o.star.len(), 3);
        assert_eq!(o.star[2].finalists, vec!["c"]);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn profiles() -> impl Strategy<Value = Profile> {
            (2usize..=6).prop_flat_map(|m| {
                let ballot = prop::collection::vec(prop::option::weighted(0.9, 0u32..=5), m);
                prop::collection::vec((ballot, 1u32..=3), 0..25).prop_map(move |lines| {
                    let ids = (0..m).map(|i| format!("c{i}")).collect();
                    let mut p = Profile::new(ids).unwrap();
                    for (stars, w) in lines {
                        p.push_ranks(&stars, w).unwrap();
                    }
                    p
                })
            })
        }

        proptest! {
            #[test]
            fn runoff_counts_add_up_and_winners_are_finalists(p in profiles(), seats in 1usize..=3) {
                let tb = TieBreak::from_seed("props");
                let o = count(&p, &CountOptions::new(Method::Star, seats).with_tie_break(tb)).unwrap();
                prop_assert_eq!(o.winners.len(), seats.min(p.num_candidates()));
                for s in &o.star {
                    if let Some(r) = &s.runoff {
                        prop_assert_eq!(r.prefer_first + r.prefer_second + r.no_preference, p.num_ballots());
                    }
                    let w = s.winner.clone().unwrap();
                    prop_assert!(s.finalists.contains(&w));
                }
                let mut w = o.winners.clone();
                w.sort();
                w.dedup();
                prop_assert_eq!(w.len(), o.winners.len());
            }

            #[test]
            fn a_candidate_everyone_gives_five_stars_wins(p in profiles(), fav in 0usize..6) {
                let m = p.num_candidates();
                let fav = fav % m;
                let mut q = Profile::new(p.candidates().to_vec()).unwrap();
                for i in 0..p.num_lines().max(1) {
                    let mut stars = vec![Some(0u32); m];
                    if i < p.num_lines() {
                        stars = p.line(i).0.ranks().iter().map(|s| s.map(|s| s.min(4))).collect();
                    }
                    stars[fav] = Some(5);
                    q.push_ranks(&stars, 1).unwrap();
                }
                let o = star(&q, 1);
                prop_assert_eq!(o.winners, vec![p.candidates()[fav].clone()]);
            }

            #[test]
            fn ballot_order_does_not_matter(p in profiles()) {
                let mut q = Profile::new(p.candidates().to_vec()).unwrap();
                for i in (0..p.num_lines()).rev() {
                    let (b, w) = p.line(i);
                    q.push_weighted(&b, w).unwrap();
                }
                let (a, b) = (star(&p, 2), star(&q, 2));
                prop_assert_eq!(a.winners, b.winners);
                prop_assert_eq!(a.ties_at_last_seat, b.ties_at_last_seat);
            }
        }
    }
}
