//! The ballot readers as they were before issue 15 made them fast: straightforward code kept
//! only to check, on random inputs, that the fast readers read exactly the same ballots.

pub(crate) mod abif;
pub(crate) mod blt;
pub(crate) mod csv;
pub(crate) mod preflib;

use super::{Format, ParseError, ParsedBallots};
use crate::count::{Ballot, Profile};

pub(crate) fn build_profile(
    format: &'static str,
    ids: Vec<String>,
    ballots: Vec<(Vec<Vec<usize>>, u32, usize)>,
) -> Result<Profile, ParseError> {
    let n = ids.len();
    let mut p = Profile::new(ids).map_err(|e| ParseError::new(format, 1, 1, e.to_string()))?;
    for (tiers, weight, line) in ballots {
        let b = Ballot::from_tiers(n, &tiers)
            .map_err(|e| ParseError::new(format, line, 1, e.to_string()))?;
        p.push_weighted(&b, weight)
            .map_err(|e| ParseError::new(format, line, 1, e.to_string()))?;
    }
    Ok(p)
}

/// A token with its 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) text: &'a str,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Parses `text` in the given format, the old way.
pub(crate) fn parse(text: &str, format: Format) -> Result<ParsedBallots, ParseError> {
    match format {
        Format::ElektoCsv => {
            let profile = csv::parse_elekto_csv(text)?;
            Ok(ParsedBallots {
                format,
                names: profile.candidates().to_vec(),
                profile,
                seats: None,
                title: None,
            })
        }
        Format::Blt => blt::parse_blt(text),
        Format::PrefLib => preflib::parse_preflib(text),
        Format::Abif => abif::parse_abif(text),
    }
}
