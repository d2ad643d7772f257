//! What a valid ballot is: a submitted ballot form checked against its election (Elekto §4.6).
//!
//! The form holds one `candidate@<ID>=<rank>` field per candidate (rank 1…N, or [`NO_OPINION`]),
//! `password`, an optional `password_confirm` and an optional `confirm_all_equal`.
//! [`BallotForm::parse`] splits the fields (at most [`max_fields`] of them, read lazily, so a
//! hostile body costs nothing past the cap); [`BallotForm::validate`] checks the passphrase and
//! the ranking and reports every [`Problem`] at once; [`Ranking::all_equal`] spots a ballot that
//! expresses no preference.
//!
//! A STAR election (`voting_method: star`, see [`kind_of`]) has a **score ballot** instead: the
//! same `candidate@<ID>` fields carry 0 to 5 stars, checked by [`Scores::parse`]; a candidate
//! left out gets 0 stars. [`BallotForm::validate`] picks the check by the election's
//! [`BallotKind`] and returns a [`ValidBallot`] whose rows go into Elekto's `ballot` table
//! unchanged (the `rank` column then holds the stars).
//!
//! Stricter than Elekto (see docs/compatibility.md): unknown candidates, ranks outside
//! {1…N, [`NO_OPINION`]}, a candidate ranked twice, or "No opinion" where `allow_no_opinion:
//! false` are problems; a candidate missing from the form is "No opinion" where allowed and a
//! problem otherwise.

use std::collections::HashSet;

use zeroize::Zeroizing;

pub use crate::count::BallotKind;
use crate::meta::Election;

/// The ballot voters of `e` fill in: score ballots for a STAR election (`voting_method:
/// star`), ranked ballots otherwise (an unknown method counts as Elekto's Schulze, so ranked).
pub fn kind_of(e: &Election) -> BallotKind {
    crate::results::Counting::of(e).method.ballot_kind()
}

/// The most stars a score ballot gives a candidate.
pub const MAX_STARS: i32 = crate::count::MAX_STARS as i32;

/// The rank Elekto stores (and its form sends) for "No opinion". The one definition: the
/// database layer re-exports it, the counting reads it as "unranked".
pub const NO_OPINION: i32 = 100_000_000;

/// Fields a ballot form may hold besides the candidates' (`csrf_token`, `password`,
/// `password_confirm`, `confirm_all_equal`, and room for a browser's or a script's extras).
const EXTRA_FIELDS: usize = 16;

/// The most fields a ballot form for `e` may hold: two per candidate (so a candidate sent twice
/// is still reported as such) plus room for the other fields.
pub fn max_fields(e: &Election) -> usize {
    2 * e.candidates.len() + EXTRA_FIELDS
}

/// A ballot form had more than [`max_fields`] fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The ballot form has too many fields (at most {max} for this election).")]
pub struct TooManyFields {
    pub max: usize,
}

/// Something wrong with a submitted ballot; `Display` is the text the vote form shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("Please enter a passphrase with minimum {min} characters")]
    PassphraseTooShort { min: usize },
    #[error("The two passphrases do not match.")]
    PassphrasesDiffer,
    #[error("The candidate {0} was ranked more than once.")]
    RankedTwice(String),
    #[error("Unknown candidate: {0}.")]
    UnknownCandidate(String),
    #[error("\"No opinion\" is not allowed in this election: please rank {0}.")]
    NoOpinionNotAllowed(String),
    /// Left out or sent empty where every candidate must be ranked.
    #[error("Please choose a rank for {0}.")]
    RankMissing(String),
    #[error("The candidate {0} was given stars more than once.")]
    ScoredTwice(String),
    #[error("Invalid score for {0}: choose from 0 to 5 stars.")]
    InvalidScore(String),
    #[error(
        "Invalid rank for {candidate}: choose a number from 1 to {candidates}{}.",
        if *.no_opinion_allowed { " or \"No opinion\"" } else { "" }
    )]
    InvalidRank {
        candidate: String,
        candidates: usize,
        no_opinion_allowed: bool,
    },
}

impl Problem {
    /// The candidate the problem is about, if any (`None`: the passphrase or the whole form).
    pub fn candidate(&self) -> Option<&str> {
        match self {
            Problem::RankedTwice(c)
            | Problem::UnknownCandidate(c)
            | Problem::NoOpinionNotAllowed(c)
            | Problem::RankMissing(c)
            | Problem::ScoredTwice(c)
            | Problem::InvalidScore(c)
            | Problem::InvalidRank { candidate: c, .. } => Some(c),
            Problem::PassphraseTooShort { .. } | Problem::PassphrasesDiffer => None,
        }
    }

    /// Whether the problem is with the passphrase fields.
    pub fn is_passphrase(&self) -> bool {
        matches!(
            self,
            Problem::PassphraseTooShort { .. } | Problem::PassphrasesDiffer
        )
    }
}

/// A ballot form split by Elekto's field rules. Passphrases are wiped when dropped.
#[derive(Debug)]
pub struct BallotForm {
    /// `(candidate ID, rank as sent)`, in submission order, the first field of each candidate.
    pub ranks: Vec<(String, String)>,
    pub passphrase: Option<Zeroizing<String>>,
    pub passphrase_confirm: Option<Zeroizing<String>>,
    /// The voter confirmed a ballot that ranks every candidate equally.
    pub confirm_all_equal: bool,
    /// Candidates whose field was sent again after the first.
    duplicates: Vec<String>,
}

impl BallotForm {
    /// Splits the fields of a ballot form for `e`. Fields are read one at a time and reading
    /// stops past [`max_fields`]; duplicates are found with a hash set (linear time).
    pub fn parse(
        e: &Election,
        fields: impl IntoIterator<Item = (String, String)>,
    ) -> Result<BallotForm, TooManyFields> {
        let max = max_fields(e);
        let mut form = BallotForm {
            ranks: Vec::new(),
            passphrase: None,
            passphrase_confirm: None,
            confirm_all_equal: false,
            duplicates: Vec::new(),
        };
        let mut seen: HashSet<String> = HashSet::new();
        for (n, (key, value)) in fields.into_iter().enumerate() {
            if n == max {
                return Err(TooManyFields { max });
            }
            match key.as_str() {
                "password" => form.passphrase = Some(Zeroizing::new(value)),
                "password_confirm" => form.passphrase_confirm = Some(Zeroizing::new(value)),
                "confirm_all_equal" => form.confirm_all_equal = !value.is_empty(),
                _ => {
                    let Some(id) = candidate_of(&key) else {
                        continue;
                    };
                    if seen.insert(id.to_owned()) {
                        form.ranks.push((id.to_owned(), value));
                    } else {
                        form.duplicates.push(id.to_owned());
                    }
                }
            }
        }
        Ok(form)
    }

    /// Checks the passphrase (at least `min_passphrase_len` characters unless empty, equal to
    /// its confirmation when one was sent) and the ranking or, in a STAR election, the scores;
    /// every problem is reported, the passphrase's first. A missing `password` field is the
    /// caller's to refuse.
    pub fn validate(
        &self,
        e: &Election,
        min_passphrase_len: usize,
    ) -> Result<ValidBallot, Vec<Problem>> {
        let mut problems = Vec::new();
        if let Some(passphrase) = &self.passphrase {
            let length = passphrase.chars().count();
            if length > 0 && length < min_passphrase_len {
                problems.push(Problem::PassphraseTooShort {
                    min: min_passphrase_len,
                });
            }
            if self
                .passphrase_confirm
                .as_ref()
                .is_some_and(|c| c.as_str() != passphrase.as_str())
            {
                problems.push(Problem::PassphrasesDiffer);
            }
        }
        let ballot = match kind_of(e) {
            BallotKind::Ranked => Ranking::parse(e, self).map(ValidBallot::Ranked),
            BallotKind::Score => Scores::parse(e, self).map(ValidBallot::Scored),
        };
        match ballot {
            Ok(ballot) if problems.is_empty() => Ok(ballot),
            Ok(_) => Err(problems),
            Err(more) => {
                problems.extend(more);
                Err(problems)
            }
        }
    }
}

/// The candidate a field names, by Elekto's rule: the part before the first `@` must be
/// `candidate`; the candidate is the part after the last `@`.
fn candidate_of(key: &str) -> Option<&str> {
    let (prefix, _) = key.split_once('@')?;
    (prefix == "candidate").then(|| key.rsplit('@').next().unwrap_or_default())
}

/// A valid ranking: one `(candidate ID, rank)` per candidate of the election, in meta order,
/// each rank in 1…N or [`NO_OPINION`] (only where allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranking(Vec<(String, i32)>);

impl Ranking {
    /// Checks the form's ranking against `e`.
    pub fn parse(e: &Election, form: &BallotForm) -> Result<Ranking, Vec<Problem>> {
        let mut problems: Vec<Problem> = form
            .duplicates
            .iter()
            .map(|id| Problem::RankedTwice(id.clone()))
            .collect();
        let mut ranked = Vec::with_capacity(form.ranks.len());
        for (id, raw) in &form.ranks {
            match rank_of(e, id, raw) {
                Ok(rank) => ranked.push((id.as_str(), rank)),
                Err(problem) => problems.push(problem),
            }
        }
        // One row per candidate, in meta order; a missing candidate is "No opinion" where allowed.
        let mut rows = Vec::with_capacity(e.candidates.len());
        for c in &e.candidates {
            match ranked.iter().find(|(id, _)| *id == c.id) {
                Some(&(_, rank)) => rows.push((c.id.clone(), rank)),
                None if form.ranks.iter().any(|(id, _)| *id == c.id) => {} // reported above
                None if e.allow_no_opinion => rows.push((c.id.clone(), NO_OPINION)),
                None => problems.push(Problem::RankMissing(c.id.clone())),
            }
        }
        if problems.is_empty() {
            Ok(Ranking(rows))
        } else {
            Err(problems)
        }
    }

    /// `(candidate ID, rank)` rows, one per candidate, in meta order.
    pub fn rows(&self) -> &[(String, i32)] {
        &self.0
    }

    /// Whether every candidate got the same rank (all "No opinion" included): such a ballot
    /// expresses no preference, so the voter is asked to confirm it.
    pub fn all_equal(&self) -> Option<AllEqual> {
        let (_, first) = self.0.first()?;
        if self.0.len() < 2 || self.0.iter().any(|(_, r)| r != first) {
            return None;
        }
        Some(if *first == NO_OPINION {
            AllEqual::NoOpinion
        } else {
            AllEqual::SameRank
        })
    }
}

/// Valid stars: one `(candidate ID, stars 0…5)` per candidate of the election, in meta order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scores(Vec<(String, i32)>);

impl Scores {
    /// Checks the form's scores against `e`: digits only, 0 to 5; a candidate left out (or
    /// sent empty) gets 0 stars, as a blank score in STAR.
    pub fn parse(e: &Election, form: &BallotForm) -> Result<Scores, Vec<Problem>> {
        let mut problems: Vec<Problem> = form
            .duplicates
            .iter()
            .map(|id| Problem::ScoredTwice(id.clone()))
            .collect();
        let mut scored = std::collections::HashMap::with_capacity(form.ranks.len());
        for (id, raw) in &form.ranks {
            if e.candidate(id).is_none() {
                problems.push(Problem::UnknownCandidate(id.clone()));
                continue;
            }
            let stars = if raw.is_empty() {
                Some(0)
            } else if raw.len() == 1 && raw.bytes().all(|b| b.is_ascii_digit()) {
                raw.parse::<i32>().ok().filter(|s| *s <= MAX_STARS)
            } else {
                None
            };
            match stars {
                Some(s) => {
                    scored.insert(id.as_str(), s);
                }
                None => problems.push(Problem::InvalidScore(id.clone())),
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let rows = e
            .candidates
            .iter()
            .map(|c| {
                let stars = scored.get(c.id.as_str()).copied().unwrap_or(0);
                (c.id.clone(), stars)
            })
            .collect();
        Ok(Scores(rows))
    }

    /// `(candidate ID, stars)` rows, one per candidate, in meta order.
    pub fn rows(&self) -> &[(String, i32)] {
        &self.0
    }
}

/// A checked ballot of either kind, as stored: one `(candidate ID, value)` row per candidate,
/// the value a rank (or [`NO_OPINION`]) for a ranked ballot, stars for a score ballot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidBallot {
    Ranked(Ranking),
    Scored(Scores),
}

impl ValidBallot {
    /// The rows to store.
    pub fn rows(&self) -> &[(String, i32)] {
        match self {
            ValidBallot::Ranked(r) => r.rows(),
            ValidBallot::Scored(s) => s.rows(),
        }
    }

    /// Whether the ballot expresses no preference (every candidate ranked or scored alike).
    pub fn all_equal(&self) -> Option<AllEqual> {
        match self {
            ValidBallot::Ranked(r) => r.all_equal(),
            ValidBallot::Scored(s) => {
                let (_, first) = s.0.first()?;
                (s.0.len() >= 2 && s.0.iter().all(|(_, v)| v == first))
                    .then_some(AllEqual::SameScore)
            }
        }
    }
}

/// The rank sent for candidate `id`: digits only (no sign, no spaces), in 1…N or [`NO_OPINION`].
fn rank_of(e: &Election, id: &str, raw: &str) -> Result<i32, Problem> {
    if e.candidate(id).is_none() {
        return Err(Problem::UnknownCandidate(id.to_owned()));
    }
    let n = e.candidates.len();
    let rank = if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        None
    } else {
        raw.parse::<i32>().ok()
    };
    match rank {
        Some(NO_OPINION) if e.allow_no_opinion => Ok(NO_OPINION),
        Some(NO_OPINION) => Err(Problem::NoOpinionNotAllowed(id.to_owned())),
        Some(r) if usize::try_from(r).is_ok_and(|r| (1..=n).contains(&r)) => Ok(r),
        _ if raw.is_empty() && !e.allow_no_opinion => Err(Problem::RankMissing(id.to_owned())),
        _ => Err(Problem::InvalidRank {
            candidate: id.to_owned(),
            candidates: n,
            no_opinion_allowed: e.allow_no_opinion,
        }),
    }
}

/// A ranking that gives every candidate the same rank; `Display` is the warning the vote form
/// shows above its confirmation box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AllEqual {
    #[error(
        "Your ballot gives every candidate \"No opinion\", so it expresses no preference at all. \
         If that is what you want, tick the confirmation box and submit again."
    )]
    NoOpinion,
    #[error(
        "Your ballot gives every candidate the same rank, so it expresses no preference between \
         them. If that is what you want, tick the confirmation box and submit again."
    )]
    SameRank,
    #[error(
        "Your ballot gives every candidate the same number of stars, so it expresses no \
         preference between them. If that is what you want, tick the confirmation box and submit \
         again."
    )]
    SameScore,
}

#[cfg(test)]
pub(crate) mod tests_props;

#[cfg(test)]
mod tests {
    use super::tests_props::election;
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn form_follows_elektos_field_rules() {
        let form = BallotForm::parse(
            &election(true),
            fields(&[
                ("csrf_token", "t"),
                ("candidate@a", "1"),
                ("candidate@x@b", "2"),
                ("candidatex@c", "3"),
                ("other", "4"),
                ("candidate@a", "2"),
                ("password", "secret"),
            ]),
        )
        .expect("within the cap");
        assert_eq!(
            form.ranks,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(form.duplicates, vec!["a".to_owned()]);
        assert_eq!(
            form.passphrase.as_deref().map(String::as_str),
            Some("secret")
        );
        assert!(form.passphrase_confirm.is_none());
    }

    #[test]
    fn ballot_fields_are_capped() {
        let e = election(true);
        let max = max_fields(&e);
        let junk = |n: usize| (0..n).map(|i| (format!("f{i}"), String::new()));
        assert!(BallotForm::parse(&e, junk(max)).is_ok());
        assert_eq!(
            BallotForm::parse(&e, junk(max + 1)).err(),
            Some(TooManyFields { max })
        );
        // Nothing past the cap is read.
        let endless = std::iter::repeat(("x".to_owned(), "y".to_owned()));
        assert!(BallotForm::parse(&e, endless).is_err());
    }

    #[test]
    fn many_duplicates_are_found_in_linear_time() {
        // 200 000 fields naming 100 000 candidates twice: a quadratic scan would take minutes.
        let mut e = election(true);
        let template = e.candidates[0].clone();
        e.candidates = (0..100_000)
            .map(|i| crate::meta::Candidate {
                id: format!("c{i}"),
                ..template.clone()
            })
            .collect();
        let fields: Vec<(String, String)> = (0..200_000)
            .map(|i| (format!("candidate@c{}", i % 100_000), "1".to_owned()))
            .collect();
        let started = std::time::Instant::now();
        let form = BallotForm::parse(&e, fields).expect("within the cap");
        assert_eq!(form.ranks.len(), 100_000);
        assert_eq!(form.duplicates.len(), 100_000);
        // Generous: a busy CI machine runs this debug build several times slower.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn all_equal_ballots_are_flagged() {
        let ranking = |rows: &[(&str, i32)]| {
            Ranking(rows.iter().map(|(c, r)| ((*c).to_owned(), *r)).collect())
        };
        assert_eq!(
            ranking(&[("a", NO_OPINION), ("b", NO_OPINION)]).all_equal(),
            Some(AllEqual::NoOpinion)
        );
        assert_eq!(
            ranking(&[("a", 2), ("b", 2)]).all_equal(),
            Some(AllEqual::SameRank)
        );
        assert!(ranking(&[("a", 1), ("b", 2)]).all_equal().is_none());
        assert!(ranking(&[("a", 1)]).all_equal().is_none());
    }

    /// A STAR election (`voting_method: star`) over alice, bob, carol and d-ve.
    fn star_election() -> Election {
        let mut e = election(true);
        e.counting.method = Some("STAR".to_owned());
        e
    }

    fn scores(e: &Election, pairs: &[(&str, &str)]) -> Result<ValidBallot, Vec<Problem>> {
        BallotForm::parse(e, fields(pairs))
            .expect("within the cap")
            .validate(e, 0)
    }

    #[test]
    fn star_elections_take_scores() {
        let e = star_election();
        assert_eq!(kind_of(&e), BallotKind::Score);
        assert_eq!(kind_of(&election(true)), BallotKind::Ranked);
        // Left out or empty: 0 stars (a STAR blank); rows in meta order.
        let b = scores(
            &e,
            &[
                ("candidate@carol", "5"),
                ("candidate@alice", ""),
                ("candidate@bob", "3"),
            ],
        )
        .expect("valid");
        assert!(matches!(b, ValidBallot::Scored(_)));
        let rows: Vec<(&str, i32)> = b.rows().iter().map(|(c, s)| (c.as_str(), *s)).collect();
        assert_eq!(
            rows,
            vec![("alice", 0), ("bob", 3), ("carol", 5), ("d-ve", 0)]
        );
        assert!(b.all_equal().is_none());
        // "No opinion" does not exist on a score ballot.
        let all_zero = scores(&e, &[("candidate@alice", "0")]).expect("valid");
        assert_eq!(all_zero.all_equal(), Some(AllEqual::SameScore));
    }

    #[test]
    fn bad_scores_are_problems_naming_the_candidate() {
        let e = star_election();
        for bad in ["6", "x", "-1", "05", " 5", "100000000", "2.5"] {
            let problems =
                scores(&e, &[("candidate@bob", bad), ("candidate@alice", "4")]).expect_err(bad);
            assert_eq!(
                problems,
                vec![Problem::InvalidScore("bob".to_owned())],
                "{bad}"
            );
            assert_eq!(problems[0].candidate(), Some("bob"));
            assert_eq!(
                problems[0].to_string(),
                "Invalid score for bob: choose from 0 to 5 stars."
            );
        }
        let problems = scores(
            &e,
            &[
                ("candidate@bob", "1"),
                ("candidate@bob", "2"),
                ("candidate@zed", "3"),
            ],
        )
        .expect_err("duplicate and unknown");
        assert_eq!(
            problems,
            vec![
                Problem::ScoredTwice("bob".to_owned()),
                Problem::UnknownCandidate("zed".to_owned())
            ]
        );
    }

    #[test]
    fn problems_read_as_the_form_shows_them() {
        let invalid = |no_opinion_allowed| Problem::InvalidRank {
            candidate: "bob".to_owned(),
            candidates: 4,
            no_opinion_allowed,
        };
        assert_eq!(
            invalid(true).to_string(),
            "Invalid rank for bob: choose a number from 1 to 4 or \"No opinion\"."
        );
        assert_eq!(
            invalid(false).to_string(),
            "Invalid rank for bob: choose a number from 1 to 4."
        );
        assert_eq!(
            Problem::PassphraseTooShort { min: 6 }.to_string(),
            "Please enter a passphrase with minimum 6 characters"
        );
    }

    #[test]
    fn passphrase_problems_come_first() {
        let e = election(false);
        let form = BallotForm::parse(
            &e,
            fields(&[
                ("candidate@alice", "1"),
                ("password", "abc"),
                ("password_confirm", "abd"),
            ]),
        )
        .expect("within the cap");
        let problems = form.validate(&e, 6).expect_err("invalid");
        assert_eq!(
            problems[..3],
            [
                Problem::PassphraseTooShort { min: 6 },
                Problem::PassphrasesDiffer,
                Problem::RankMissing("bob".to_owned()),
            ]
        );
    }
}
