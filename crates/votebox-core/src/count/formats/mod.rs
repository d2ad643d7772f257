//! Readers for common ranked-ballot file formats, all producing a [`Profile`].
//!
//! | [`Format`] | files | notes |
//! |---|---|---|
//! | [`Format::ElektoCsv`] | Elekto's `ballots.csv` | see [`super::elekto_csv`] |
//! | [`Format::Blt`] | `.blt` (OpenSTV / ERS) | seats, withdrawn candidates, `=` ties, `-` skips |
//! | [`Format::PrefLib`] | `.soc` `.soi` `.toc` `.toi` | current `#`-header format and the older one |
//! | [`Format::Abif`] | `.abif` | `count:A>B=C`, `=id:[Name]` definitions, `/rating`s |
//!
//! Candidates a ballot does not list are unranked; pick the rule for them with
//! [`super::Unranked`] when counting. Every error names the line and column (1-based,
//! in characters). [`detect_format`] guesses the format from the text.

mod abif;
mod blt;
pub(crate) mod plain;
mod preflib;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests_reference;

use std::fmt;
use std::str::FromStr;

use super::BallotKind;
use super::elekto_csv::{Cells, ParseError, parse_elekto_csv, parse_elekto_csv_as};
use super::profile::Profile;

pub use abif::parse_abif;
pub use blt::parse_blt;
pub use preflib::parse_preflib;

/// A ballot file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Elekto's `ballots.csv` export.
    ElektoCsv,
    /// BLT (OpenSTV / Electoral Reform Society).
    Blt,
    /// PrefLib `.soc`, `.soi`, `.toc`, `.toi`.
    PrefLib,
    /// Aggregated Ballot Information Format.
    Abif,
}

impl Format {
    /// `elekto-csv`, `blt`, `preflib` or `abif`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::ElektoCsv => "elekto-csv",
            Format::Blt => "blt",
            Format::PrefLib => "preflib",
            Format::Abif => "abif",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "elekto-csv" | "csv" => Ok(Format::ElektoCsv),
            "blt" => Ok(Format::Blt),
            "preflib" | "soc" | "soi" | "toc" | "toi" => Ok(Format::PrefLib),
            "abif" => Ok(Format::Abif),
            other => Err(format!(
                "unknown ballot format `{other}` (expected elekto-csv, blt, preflib or abif)"
            )),
        }
    }
}

/// A parsed ballot file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedBallots {
    /// The format read.
    pub format: Format,
    /// Candidates and ballots.
    pub profile: Profile,
    /// Display name of every candidate (profile order); the ID when the file has none.
    pub names: Vec<String>,
    /// Number of seats, when the file says (BLT).
    pub seats: Option<usize>,
    /// Title, when the file has one.
    pub title: Option<String>,
}

/// Guesses the format of a ballot file from its content (None if nothing fits).
///
/// Rules, in order: a PrefLib `# DATA TYPE:`/`# NUMBER ALTERNATIVES:` header, or a first line
/// that is a single integer followed by `1,name` → PrefLib; a first line of two integers
/// (candidates and seats) → BLT; a line `=id:…` or `count:` followed by `>`/`=`, or a `{…}`
/// metadata line → ABIF; a first line of comma-separated IDs → Elekto CSV.
pub fn detect_format(text: &str) -> Option<Format> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Lazily (a ballots file may have millions of lines).
    let lines = || text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines().next()?;
    if starts_some_line(
        text,
        &["# DATA TYPE:", "# NUMBER ALTERNATIVES:", "# FILE NAME:"],
    ) {
        return Some(Format::PrefLib);
    }
    let is_int = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if is_int(first)
        && lines()
            .nth(1)
            .is_some_and(|l| l.split_once(',').is_some_and(|(a, _)| is_int(a.trim())))
    {
        return Some(Format::PrefLib);
    }
    let words: Vec<&str> = first.split_whitespace().collect();
    if words.len() == 2 && words.iter().all(|w| is_int(w)) {
        return Some(Format::Blt);
    }
    let abif_line = |l: &str| {
        if l.starts_with('=') && l.contains(':') {
            return true;
        }
        if l.starts_with('{') && l.ends_with('}') {
            return true;
        }
        match l.split_once(':') {
            Some((count, rest)) => {
                is_int(count.trim())
                    && (rest.contains('>') || rest.contains('=') || rest.contains('/'))
            }
            None => false,
        }
    };
    // Every ABIF line has a `:` or a `{`: without either, no need to look at every line.
    let may_be_abif = memchr::memchr2(b':', b'{', text.as_bytes()).is_some();
    if may_be_abif && lines().filter(|l| !l.starts_with('#')).any(abif_line) {
        return Some(Format::Abif);
    }
    if !first.starts_with('#') && !first.contains(':') {
        return Some(Format::ElektoCsv);
    }
    None
}

/// Whether some line of `text`, less its leading whitespace, starts with one of `prefixes`
/// (each starting with `#`): found in one fast search for `#` rather than line by line.
fn starts_some_line(text: &str, prefixes: &[&str]) -> bool {
    let b = text.as_bytes();
    memchr::memchr_iter(b'#', b).any(|at| {
        let rest = &b[at..];
        prefixes.iter().any(|p| rest.starts_with(p.as_bytes())) && {
            let line_start = memchr::memrchr(b'\n', &b[..at]).map_or(0, |i| i + 1);
            text[line_start..at].trim().is_empty()
        }
    })
}

/// Parses `text` in the given format.
pub fn parse_ballots(text: &str, format: Format) -> Result<ParsedBallots, ParseError> {
    match format {
        Format::ElektoCsv => {
            let profile = parse_elekto_csv(text)?;
            Ok(ParsedBallots {
                format,
                names: profile.candidates().to_vec(),
                profile,
                seats: None,
                title: None,
            })
        }
        Format::Blt => parse_blt(text),
        Format::PrefLib => parse_preflib(text),
        Format::Abif => parse_abif(text),
    }
}

/// Detects the format and parses `text` as ballots of `kind`. Score ballots (STAR) have one
/// file format, an Elekto CSV of 0 to 5 stars per candidate (what votebox exports for a STAR
/// election); the other formats hold rankings.
pub fn parse_auto_as(text: &str, kind: BallotKind) -> Result<ParsedBallots, ParseError> {
    match (kind, detect_format(text)) {
        (BallotKind::Ranked, _) => parse_auto(text),
        (BallotKind::Score, Some(Format::ElektoCsv)) => {
            let profile = parse_elekto_csv_as(text, Cells::Stars)?;
            Ok(ParsedBallots {
                format: Format::ElektoCsv,
                names: profile.candidates().to_vec(),
                profile,
                seats: None,
                title: None,
            })
        }
        (BallotKind::Score, other) => Err(ParseError::new(
            other.map_or("auto", Format::as_str),
            1,
            1,
            "score ballots (STAR) are read from an Elekto CSV of 0 to 5 stars per candidate",
        )),
    }
}

/// Detects the format and parses `text`.
pub fn parse_auto(text: &str) -> Result<ParsedBallots, ParseError> {
    match detect_format(text) {
        Some(f) => parse_ballots(text, f),
        None => Err(ParseError::new(
            "auto",
            1,
            1,
            "cannot tell the ballot format (expected Elekto CSV, BLT, PrefLib or ABIF)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_ballots_come_from_an_elekto_csv_only() {
        let p = parse_auto_as("a,b\n5,0\n", BallotKind::Score).unwrap();
        assert_eq!(p.profile.line(0).0.ranks(), &[Some(5), Some(0)]);
        let e = parse_auto_as("a,b\n1,9\n", BallotKind::Score).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        let blt = "2 1\n1 1 2 0\n0\n\"A\"\n\"B\"\n\"T\"\n";
        let e = parse_auto_as(blt, BallotKind::Score).unwrap_err();
        assert!(e.message.contains("score ballots"), "{e}");
        assert!(parse_auto_as(blt, BallotKind::Ranked).is_ok());
    }

    #[test]
    fn detects_each_format() {
        assert_eq!(detect_format("a,b\n1,2\n"), Some(Format::ElektoCsv));
        assert_eq!(
            detect_format("3 1\n1 1 2 0\n0\n\"A\"\n\"B\"\n\"C\"\n\"T\"\n"),
            Some(Format::Blt)
        );
        assert_eq!(
            detect_format("# DATA TYPE: soc\n# NUMBER ALTERNATIVES: 2\n1: 1,2\n"),
            Some(Format::PrefLib)
        );
        assert_eq!(
            detect_format("2\n1,A\n2,B\n3,3,1\n3,1,2\n"),
            Some(Format::PrefLib)
        );
        assert_eq!(detect_format("# hi\n3:A>B\n"), Some(Format::Abif));
        assert_eq!(detect_format("=a:[Alice]\n"), Some(Format::Abif));
        assert_eq!(detect_format(""), None);
        assert_eq!(detect_format("# only: a comment\n"), None);
        assert_eq!("soi".parse::<Format>(), Ok(Format::PrefLib));
    }

    #[test]
    fn auto_parses() {
        let p = parse_auto("3:a>b\n2:b\n").unwrap();
        assert_eq!(p.format, Format::Abif);
        assert_eq!(p.profile.num_ballots(), 5);
        let e = parse_auto("# x: y\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
    }
}
