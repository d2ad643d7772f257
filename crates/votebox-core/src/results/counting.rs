//! How an election is counted: the votebox-only `election.yaml` keys (`voting_method`,
//! `unranked`, `tie_break_seed`) Elekto ignores. Absent keys give Elekto's count (Schulze, "No
//! opinion"); an unknown value falls back to it too, with a warning for the officers.

use crate::count::{CountOptions, Method, TieBreak, UnknownMethod, Unranked};
use crate::meta::Election;

/// The counting configuration of one election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counting {
    pub method: Method,
    pub unranked: Unranked,
    pub tie_break: Option<TieBreak>,
    /// Keys that could not be read (each fell back to Elekto's default).
    pub warnings: Vec<CountingWarning>,
}

/// A counting key of `election.yaml` that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountingWarning {
    #[error("election.yaml voting_method: {0}; counted with schulze (Elekto's method)")]
    UnknownMethod(UnknownMethod),
    #[error("election.yaml unranked: {0}; counted with no-opinion (Elekto's rule)")]
    UnknownUnranked(String),
}

impl Counting {
    /// Reads the counting keys of `e`. Values are matched case-insensitively, `_` as `-`.
    pub fn of(e: &Election) -> Counting {
        let mut warnings = Vec::new();
        let method = match given(e.counting.method.as_deref()) {
            None => Method::Schulze,
            Some(m) => m.parse().unwrap_or_else(|err| {
                warnings.push(CountingWarning::UnknownMethod(err));
                Method::Schulze
            }),
        };
        let unranked = match given(e.counting.unranked.as_deref()) {
            // Score ballots have no unranked candidates: a blank is 0 stars.
            _ if method == Method::Star => Unranked::NoOpinion,
            None => Unranked::NoOpinion,
            Some(u) => u.parse().unwrap_or_else(|err| {
                warnings.push(CountingWarning::UnknownUnranked(err));
                Unranked::NoOpinion
            }),
        };
        let tie_break = e
            .counting
            .tie_break_seed
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(TieBreak::from_seed);
        Counting {
            method,
            unranked,
            tie_break,
            warnings,
        }
    }

    /// Whether `method` and `unranked` are this configuration's (not a "what if" recount).
    pub fn is(&self, method: Method, unranked: Unranked) -> bool {
        self.method == method && self.unranked == unranked
    }

    /// Options to count `seats` seats with `method` and `unranked` (a recount may choose other
    /// ones than configured) and this configuration's tie-break.
    pub fn options(&self, method: Method, unranked: Unranked, seats: usize) -> CountOptions {
        let options = CountOptions::new(method, seats).with_unranked(unranked);
        match &self.tie_break {
            Some(tie_break) => options.with_tie_break(tie_break.clone()),
            None => options,
        }
    }
}

/// A key's value, normalised; `None` when absent or blank.
fn given(value: Option<&str>) -> Option<String> {
    value
        .map(|s| s.trim().to_ascii_lowercase().replace('_', "-"))
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::CountingOptions;

    fn counting(method: Option<&str>, unranked: Option<&str>) -> Counting {
        let mut e = crate::ballot::tests_props::election(true);
        e.counting = CountingOptions {
            method: method.map(str::to_owned),
            unranked: unranked.map(str::to_owned),
            tie_break_seed: None,
        };
        Counting::of(&e)
    }

    #[test]
    fn defaults_are_elektos() {
        let c = counting(None, Some("  "));
        assert_eq!(
            (c.method, c.unranked),
            (Method::Schulze, Unranked::NoOpinion)
        );
        assert!(c.warnings.is_empty() && c.tie_break.is_none());
    }

    #[test]
    fn values_are_normalised() {
        let c = counting(Some(" Ranked_Pairs "), Some("LAST"));
        assert_eq!(
            (c.method, c.unranked),
            (Method::RankedPairs, Unranked::Last)
        );
    }

    #[test]
    fn unknown_values_fall_back_with_a_warning() {
        let c = counting(Some("borda"), Some("first"));
        assert_eq!(
            (c.method, c.unranked),
            (Method::Schulze, Unranked::NoOpinion)
        );
        let warnings: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings[0].starts_with("election.yaml voting_method: unknown counting method `borda`")
        );
        assert!(warnings[0].ends_with("; counted with schulze (Elekto's method)"));
        assert!(warnings[1].starts_with("election.yaml unranked: unknown unranked rule `first`"));
    }
}
