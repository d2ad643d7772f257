use std::fmt;
use std::sync::Arc;

use time::PrimitiveDateTime;

/// Every election found in one commit of the meta repository, in discovery order.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub entries: Vec<CatalogEntry>,
}

/// One directory holding an `election.yaml`: parsed (shared: requests hold on to it), or broken
/// with the reason.
#[derive(Debug, Clone)]
pub enum CatalogEntry {
    Ok(Arc<Election>),
    Broken(BrokenElection),
}

/// An election whose files could not be parsed. It is served as an error, never hides the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenElection {
    /// Election key (directory under `ELECTION_DIR`, `/` replaced by `---`).
    pub key: String,
    /// Directory path inside the repository.
    pub path: String,
    pub error: MetaError,
}

/// Why an election (or one of its files) is broken: the file, the 1-based line when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct MetaError {
    /// Path inside the repository.
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// Election status, computed from the clock as Elekto does (both ends inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Upcoming,
    Running,
    Completed,
}

impl Status {
    /// Elekto's spelling, used in URLs (`?status=running`) and badges.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Upcoming => "upcoming",
            Status::Running => "running",
            Status::Completed => "completed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One parsed election. Datetimes are naive UTC, as Elekto reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct Election {
    pub key: String,
    /// Directory path inside the repository, e.g. `elections/2021/TOC`.
    pub path: String,
    /// SHA-256 (hex) of the files directly in that directory, as the audit chain records it.
    pub files_sha256: String,
    pub name: String,
    pub organization: Option<String>,
    pub start: PrimitiveDateTime,
    pub end: PrimitiveDateTime,
    /// `exception_due`, else `exceptions_due` (documented spelling), else `start`.
    pub exception_due: PrimitiveDateTime,
    /// Seats (`no_winners`); `None` when absent.
    pub no_winners: Option<u32>,
    pub allow_no_opinion: bool,
    pub delete_after: bool,
    /// Candidate `info` fields to show, in order; missing/null/`[null]` → empty.
    pub show_candidate_fields: Vec<String>,
    pub election_officers: Vec<String>,
    pub eligibility: Option<String>,
    /// Plain text (not Markdown) shown above the exception form.
    pub exception_description: Option<String>,
    /// Sanitised HTML of `election_desc.md`; `None` when the file is absent.
    pub description_html: Option<String>,
    /// Sanitised HTML of `results.md`; `None` when the file is absent.
    pub results_html: Option<String>,
    /// `voters.yaml: eligible_voters`, every entry as a string; `None` when voters.yaml is absent.
    pub voters: Option<Vec<String>>,
    /// Candidates in file-name order (pages shuffle them per request).
    pub candidates: Vec<Candidate>,
    /// Counting options read from votebox-only keys that Elekto ignores (see the counting issue).
    pub counting: CountingOptions,
    /// `ballot_board` (votebox only, Elekto ignores it): who sees the ballot board, read by
    /// [`crate::verify::BoardAccess::of`].
    pub ballot_board: Option<String>,
}

/// votebox-only `election.yaml` keys for counting; defaults reproduce Elekto.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountingOptions {
    /// `voting_method`, e.g. `schulze` (default) — validated by the counting module.
    pub method: Option<String>,
    /// `unranked`: `no-opinion` (default) or `last`.
    pub unranked: Option<String>,
    /// `tie_break_seed`: a public seed for deterministic tie-breaking.
    pub tie_break_seed: Option<String>,
}

/// One `candidate*` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Header `ID`: the candidate key in forms, ballots, results and URLs (case-sensitive).
    pub id: String,
    pub name: String,
    /// File name within the election directory, e.g. `candidate-jdoe.md`.
    pub file_name: String,
    /// `info` entries as (field, value), in file order; list and mapping forms both accepted.
    pub info: Vec<(String, String)>,
    /// Why `info` could not be read, when it is malformed (the candidate is kept, without its
    /// fields: a bad profile never breaks the election, Elekto #85).
    pub info_note: Option<String>,
    /// Sanitised HTML of the body; empty when no profile was submitted.
    pub body_html: String,
}

impl Catalog {
    /// The election with this key, parsed or broken.
    pub fn get(&self, key: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.key() == key)
    }

    /// Parsed elections only, in discovery order.
    pub fn elections(&self) -> impl Iterator<Item = &Election> {
        self.entries.iter().filter_map(|e| match e {
            CatalogEntry::Ok(e) => Some(e.as_ref()),
            CatalogEntry::Broken(_) => None,
        })
    }

    pub fn broken(&self) -> impl Iterator<Item = &BrokenElection> {
        self.entries.iter().filter_map(|e| match e {
            CatalogEntry::Broken(b) => Some(b),
            CatalogEntry::Ok(_) => None,
        })
    }

    /// Parsed elections sorted by start, newest first (stable: ties keep discovery order).
    pub fn elections_newest_first(&self) -> Vec<&Election> {
        let mut list: Vec<&Election> = self.elections().collect();
        list.sort_by_key(|e| std::cmp::Reverse(e.start));
        list
    }
}

impl CatalogEntry {
    pub fn key(&self) -> &str {
        match self {
            CatalogEntry::Ok(e) => &e.key,
            CatalogEntry::Broken(b) => &b.key,
        }
    }
}

/// Compares GitHub logins: ASCII case-insensitive (Elekto #84), surrounding whitespace ignored.
pub fn same_login(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl Election {
    pub fn status(&self, now: PrimitiveDateTime) -> Status {
        if now < self.start {
            Status::Upcoming
        } else if self.end < now {
            Status::Completed
        } else {
            Status::Running
        }
    }

    /// Results are published when `results.md` exists and the election is completed.
    pub fn results_published(&self, now: PrimitiveDateTime) -> bool {
        self.results_html.is_some() && self.status(now) == Status::Completed
    }

    pub fn is_eligible(&self, login: &str) -> bool {
        self.voters
            .as_deref()
            .is_some_and(|v| v.iter().any(|x| same_login(x, login)))
    }

    pub fn is_officer(&self, login: &str) -> bool {
        self.election_officers.iter().any(|x| same_login(x, login))
    }

    /// The candidate whose header `ID` is `id` (exact, case-sensitive as in Elekto).
    pub fn candidate(&self, id: &str) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.id == id)
    }

    /// The candidate whose file is `candidate-<id>.md` (how Elekto opens the candidate page).
    pub fn candidate_by_file_id(&self, id: &str) -> Option<&Candidate> {
        let file = format!("candidate-{id}.md");
        self.candidates.iter().find(|c| c.file_name == file)
    }

    /// Seats to fill: `no_winners`, at least 1.
    pub fn seats(&self) -> u32 {
        self.no_winners.unwrap_or(1).max(1)
    }
}

/// An election time as pages show it: [`display_datetime`] and ` UTC`.
pub fn display_utc(dt: PrimitiveDateTime) -> String {
    format!("{} UTC", display_datetime(dt))
}

/// A moment to the minute, as officers read request times: `YYYY-MM-DD HH:MM UTC`.
pub fn display_minutes_utc(dt: PrimitiveDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute()
    )
}

/// The day a deadline ends "Anywhere on Earth" (UTC−12), when `dt` (UTC) is written that way:
/// Kubernetes and Cloud Foundry elections close "at the end of the day AoE" and write it as
/// `11:59`/`11:59:59` or `12:00:00` UTC of the next day. Other times give `None`.
pub fn anywhere_on_earth_day(dt: PrimitiveDateTime) -> Option<time::Date> {
    let aoe = dt.saturating_sub(time::Duration::hours(12));
    let (h, m, s) = (aoe.hour(), aoe.minute(), aoe.second());
    if h == 23 && m == 59 {
        Some(aoe.date())
    } else if (h, m, s) == (0, 0, 0) && aoe.nanosecond() == 0 {
        aoe.date().previous_day()
    } else {
        None
    }
}

/// Elekto's display form of a naive datetime: `YYYY-MM-DD HH:MM:SS` (plus `.ffffff` when non-zero).
pub fn display_datetime(dt: PrimitiveDateTime) -> String {
    let base = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    match dt.microsecond() {
        0 => base,
        us => format!("{base}.{us:06}"),
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn request_times_to_the_minute() {
        assert_eq!(
            display_minutes_utc(datetime!(2023-08-10 09:05:59.123456)),
            "2023-08-10 09:05 UTC"
        );
    }

    #[test]
    fn anywhere_on_earth_deadlines() {
        // Kubernetes 2025: "End of day Anywhere on Earth … Write 2023-09-26 as: 2023-09-27 11:59:59".
        assert_eq!(
            anywhere_on_earth_day(datetime!(2025-10-25 11:59:59)),
            Some(date!(2025 - 10 - 24))
        );
        assert_eq!(
            anywhere_on_earth_day(datetime!(2025-10-25 11:59:00)),
            Some(date!(2025 - 10 - 24))
        );
        assert_eq!(
            anywhere_on_earth_day(datetime!(2025-10-25 12:00:00)),
            Some(date!(2025 - 10 - 24))
        );
        assert_eq!(anywhere_on_earth_day(datetime!(2025-10-25 12:00:01)), None);
        assert_eq!(anywhere_on_earth_day(datetime!(2025-10-25 23:59:00)), None);
    }
}
