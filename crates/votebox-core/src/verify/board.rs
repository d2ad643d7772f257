//! The ballot board: every counted ballot of an ended election, with its receipt and its ranking.
//!
//! # Canonical CSV (what the SHA-256 is of)
//!
//! ```text
//! # votebox ballot board v1
//! # election: "2021---TOC"
//! # method: "schulze"
//! # unranked: "no-opinion"
//! # seats: 1
//! # tie_break_seed: null
//! # not_counted: []
//! receipt,alice,bob,carol
//! 0B6MT-2Q9XW-AFH8R-TC4N7,1,No opinion,2
//! …
//! ```
//!
//! The `#` lines carry what a recount needs (each value is JSON, so any election key or seed is
//! written unambiguously); the header names the receipt column, then the candidates counted
//! (sorted), then IDs that ballots rank but that are no longer candidates (`not_counted`, kept so
//! a voter sees their whole stored ballot, left out of the count as on the results page). A cell
//! is the stored rank or `No opinion`, RFC 4180 quoting only where needed, `\n` after every
//! line.
//!
//! **Order: sorted by receipt.** A receipt is a hash of the ballot's random uuid, so this order is
//! uniformly random and unrelated to when or by whom ballots were cast (as the CSV export's
//! seeded shuffle is), and it is the same for the same ballots every time: the board's SHA-256 is
//! a pure function of the ballot set and the counting configuration, with no seed to publish
//! alongside it. That is what lets the audit chain record it at close and anyone compare it later.
//!
//! The JSON form holds the same fields, one ballot per line, and the SHA-256 of the canonical CSV;
//! reading it back recomputes that SHA-256 and refuses a file whose ballots no longer match it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Deserialize;

use super::receipt::Receipt;
use crate::ballot::NO_OPINION;
use crate::count::elekto_csv::{numbered_lines, split_csv_line};
use crate::count::{CountError, CountOptions, Method, Outcome, Profile, TieBreak, Unranked, count};
use crate::meta::Election;
use crate::results::{
    Counting, NO_OPINION_CELL, StaleCandidate, StoredBallot, StoredBallots, push_csv_cell,
    push_rank_cell, sha256_hex,
};

/// The first line of every board CSV.
pub const CSV_MAGIC: &str = "# votebox ballot board v1";
/// The `format` of every board JSON.
pub const JSON_FORMAT: &str = "votebox-ballot-board-v1";

/// Who may see an election's board: `election.yaml: ballot_board` (Elekto ignores the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardAccess {
    /// Anyone, logged in or not: the board page, CSV and JSON, and the receipt check.
    Public,
    /// The default. The election's officers see the board; the election's voters (and its
    /// officers) can check a receipt. Nothing becomes public unless the meta repository says so.
    Officers,
    /// No board and no receipt check (receipts are still shown to voters).
    Off,
}

impl BoardAccess {
    /// When `ballot_board` is absent.
    pub const DEFAULT: BoardAccess = BoardAccess::Officers;

    /// The election's setting, and a warning for officers when the value is not understood (it
    /// then counts as the default).
    pub fn of(e: &Election) -> (BoardAccess, Option<String>) {
        let given = e.ballot_board.as_deref().map(str::trim).unwrap_or("");
        match given.to_ascii_lowercase().as_str() {
            "" => (Self::DEFAULT, None),
            "public" => (BoardAccess::Public, None),
            "officers" => (BoardAccess::Officers, None),
            "off" | "false" | "no" => (BoardAccess::Off, None),
            _ => (
                Self::DEFAULT,
                Some(format!(
                    "election.yaml ballot_board: `{given}` is not one of public, officers, off; \
                     treated as officers"
                )),
            ),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BoardAccess::Public => "public",
            BoardAccess::Officers => "officers",
            BoardAccess::Off => "off",
        }
    }
}

/// One line of the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardEntry {
    pub receipt: Receipt,
    /// Stored rank per column (candidates, then not counted); `None` = No opinion.
    pub ranks: Vec<Option<i64>>,
}

/// A ballot board: what it was counted with, and its ballots sorted by receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    /// The election key.
    pub election: String,
    pub method: Method,
    pub unranked: Unranked,
    pub seats: usize,
    pub tie_break_seed: Option<String>,
    /// The candidates counted (a board made by votebox sorts them).
    pub candidates: Vec<String>,
    /// Columns ballots rank that are no longer candidates: shown, not counted.
    pub not_counted: Vec<String>,
    /// Sorted by receipt, no receipt twice.
    pub entries: Vec<BoardEntry>,
}

/// Why a file is not a readable board: the 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct BoardError {
    pub line: usize,
    pub message: String,
}

impl BoardError {
    fn new(line: usize, message: impl Into<String>) -> BoardError {
        BoardError {
            line,
            message: message.into(),
        }
    }
}

/// How a stored ballot reads: ranked tiers, best first, and the columns left at No opinion.
/// For a STAR election (`stars`) the tiers are star scores, most stars first, and a blank is
/// 0 stars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadableRanking {
    /// `(rank, candidate IDs)` by increasing rank (stars: by decreasing stars).
    pub tiers: Vec<(i64, Vec<String>)>,
    pub no_opinion: Vec<String>,
    /// The values are stars (score ballot), not ranks.
    pub stars: bool,
}

impl std::fmt::Display for ReadableRanking {
    /// `1: alice; 2: bob, carol; No opinion: dave`; stars: `5 stars: alice; 0 stars: bob`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.stars {
            let parts: Vec<String> = self
                .tiers
                .iter()
                .map(|(s, ids)| {
                    let unit = if *s == 1 { "star" } else { "stars" };
                    format!("{s} {unit}: {}", ids.join(", "))
                })
                .collect();
            return f.write_str(&parts.join("; "));
        }
        let mut parts: Vec<String> = self
            .tiers
            .iter()
            .map(|(rank, ids)| format!("{rank}: {}", ids.join(", ")))
            .collect();
        if !self.no_opinion.is_empty() {
            parts.push(format!("No opinion: {}", self.no_opinion.join(", ")));
        }
        f.write_str(&parts.join("; "))
    }
}

impl Board {
    /// The board of `election`'s stored ballots, counted as the election says.
    pub fn new(election: &Election, stored: &StoredBallots) -> Board {
        let counting = Counting::of(election);
        Board::from_parts(&election.key, &counting, election.seats() as usize, stored)
    }

    /// The board of `stored`, ballots of election `key`, counted with `counting` for `seats`.
    pub fn from_parts(
        key: &str,
        counting: &Counting,
        seats: usize,
        stored: &StoredBallots,
    ) -> Board {
        let mut entries: Vec<BoardEntry> = stored
            .ballots
            .iter()
            .map(|b| BoardEntry {
                receipt: Receipt::of(key, &b.uuid),
                ranks: b.ranks.clone(),
            })
            .collect();
        entries.sort_unstable_by(|a, b| a.receipt.cmp(&b.receipt));
        Board {
            election: key.to_owned(),
            method: counting.method,
            unranked: counting.unranked,
            seats,
            tie_break_seed: counting
                .tie_break
                .as_ref()
                .and_then(|t| t.seed().map(str::to_owned)),
            candidates: stored.candidates.clone(),
            not_counted: stored.stale.iter().map(|s| s.id.clone()).collect(),
            entries,
        }
    }

    /// Every column: candidates, then not counted.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.candidates
            .iter()
            .chain(&self.not_counted)
            .map(String::as_str)
    }

    /// Number of ballots.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The canonical CSV (see the module docs).
    pub fn to_csv(&self) -> String {
        let mut out = String::with_capacity(256 + 24 * self.entries.len() * 2);
        out.push_str(CSV_MAGIC);
        out.push('\n');
        for (name, value) in [
            ("election", json(&self.election)),
            ("method", json(&self.method.as_str())),
            ("unranked", json(&self.unranked.as_str())),
            ("seats", json(&self.seats)),
            ("tie_break_seed", json(&self.tie_break_seed)),
            ("not_counted", json(&self.not_counted)),
        ] {
            let _ = writeln!(out, "# {name}: {value}");
        }
        out.push_str("receipt");
        for c in self.columns() {
            out.push(',');
            push_csv_cell(&mut out, c);
        }
        out.push('\n');
        for e in &self.entries {
            out.push_str(e.receipt.to_string().as_str());
            for r in &e.ranks {
                out.push(',');
                push_rank_cell(&mut out, *r);
            }
            out.push('\n');
        }
        out
    }

    /// Lower-case hex SHA-256 of [`Board::to_csv`]: the board's fingerprint.
    pub fn sha256(&self) -> String {
        sha256_hex(self.to_csv().as_bytes())
    }

    /// The JSON form: the same fields, `sha256` of the canonical CSV, one ballot per line.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256 + 48 * self.entries.len() * 2);
        out.push_str("{\n");
        let _ = writeln!(out, "  \"format\": {},", json(&JSON_FORMAT));
        let _ = writeln!(out, "  \"election\": {},", json(&self.election));
        let _ = writeln!(out, "  \"method\": {},", json(&self.method.as_str()));
        let _ = writeln!(out, "  \"unranked\": {},", json(&self.unranked.as_str()));
        let _ = writeln!(out, "  \"seats\": {},", self.seats);
        let _ = writeln!(out, "  \"tie_break_seed\": {},", json(&self.tie_break_seed));
        let _ = writeln!(out, "  \"candidates\": {},", json(&self.candidates));
        let _ = writeln!(out, "  \"not_counted\": {},", json(&self.not_counted));
        let _ = writeln!(out, "  \"sha256\": {},", json(&self.sha256()));
        out.push_str("  \"ballots\": [");
        for (i, e) in self.entries.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            let _ = write!(
                out,
                "    {{\"receipt\": \"{}\", \"ranks\": {}}}",
                e.receipt,
                json(&e.ranks)
            );
        }
        out.push_str(if self.entries.is_empty() {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        });
        out
    }

    /// Reads a board as downloaded: the canonical CSV (a BOM and `\r\n` line ends accepted) or
    /// the JSON form (a file whose first non-blank character is `{`).
    pub fn parse(text: &str) -> Result<Board, BoardError> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with('{') {
            parse_json(text)
        } else {
            parse_csv(text)
        }
    }

    /// The entry with this receipt.
    pub fn find(&self, receipt: &Receipt) -> Option<&BoardEntry> {
        self.entries
            .binary_search_by(|e| e.receipt.cmp(receipt))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// An entry's ranking, readable.
    pub fn ranking(&self, entry: &BoardEntry) -> ReadableRanking {
        let mut tiers: Vec<(i64, Vec<String>)> = Vec::new();
        let mut no_opinion = Vec::new();
        let mut ranked: Vec<(i64, &str)> = Vec::new();
        let stars = self.method.ballot_kind() == crate::count::BallotKind::Score;
        for (id, rank) in self.columns().zip(&entry.ranks) {
            match rank {
                Some(r) => ranked.push((*r, id)),
                None if stars => ranked.push((0, id)),
                None => no_opinion.push(id.to_owned()),
            }
        }
        if stars {
            ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        } else {
            ranked.sort();
        }
        for (rank, id) in ranked {
            match tiers.last_mut() {
                Some((r, ids)) if *r == rank => ids.push(id.to_owned()),
                _ => tiers.push((rank, vec![id.to_owned()])),
            }
        }
        ReadableRanking {
            tiers,
            no_opinion,
            stars,
        }
    }

    /// The ballots as [`StoredBallots`] (receipts standing for uuids), to count them exactly
    /// as the results page counts stored ballots.
    pub fn stored(&self) -> StoredBallots {
        let m = self.candidates.len();
        let stale = self
            .not_counted
            .iter()
            .enumerate()
            .map(|(j, id)| StaleCandidate {
                id: id.clone(),
                ballots: self.entries.len(),
                ranked_by: self
                    .entries
                    .iter()
                    .filter(|e| e.ranks[m + j].is_some())
                    .count(),
            })
            .collect();
        StoredBallots {
            candidates: self.candidates.clone(),
            stale,
            ballots: self
                .entries
                .iter()
                .map(|e| StoredBallot {
                    uuid: e.receipt.compact().to_owned(),
                    ranks: e.ranks.clone(),
                })
                .collect(),
            ballots_naming_stale: if self.not_counted.is_empty() {
                0
            } else {
                self.entries.len()
            },
        }
    }

    /// The count options the board names.
    pub fn count_options(&self) -> CountOptions {
        let options = CountOptions::new(self.method, self.seats).with_unranked(self.unranked);
        match &self.tie_break_seed {
            Some(seed) => options.with_tie_break(TieBreak::from_seed(seed)),
            None => options,
        }
    }

    /// Recounts the board with the method it names.
    pub fn count(&self) -> Result<Outcome, CountError> {
        let profile: Profile = self.stored().profile();
        count(&profile, &self.count_options())
    }
}

/// JSON text of a small value (a string, a number, a list of them).
fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("strings, numbers and lists always serialize")
}

/// The header fields, as both forms carry them.
#[derive(Debug, Default)]
struct Header {
    election: Option<String>,
    method: Option<Method>,
    unranked: Option<Unranked>,
    seats: Option<usize>,
    tie_break_seed: Option<String>,
    not_counted: Option<Vec<String>>,
}

fn parse_csv(text: &str) -> Result<Board, BoardError> {
    let mut lines = numbered_lines(text).peekable();
    match lines.next() {
        Some((_, CSV_MAGIC)) => {}
        _ => {
            return Err(BoardError::new(
                1,
                format!(
                    "not a votebox ballot board: the first line must be `{CSV_MAGIC}` (a ballots.csv \
                     export is counted with `votebox tally`)"
                ),
            ));
        }
    }
    let mut header = Header::default();
    let mut seen = BTreeSet::new();
    while let Some((n, line)) = lines.next_if(|(_, l)| l.starts_with('#')) {
        let Some((name, value)) = line[1..].trim_start().split_once(':') else {
            return Err(BoardError::new(n, "expected `# name: value`"));
        };
        let (name, value) = (name.trim(), value.trim());
        if !seen.insert(name.to_owned()) {
            return Err(BoardError::new(n, format!("`{name}` is given twice")));
        }
        let bad = |e: String| BoardError::new(n, format!("`{name}`: {e}"));
        let value: serde_json::Value =
            serde_json::from_str(value).map_err(|e| bad(e.to_string()))?;
        match name {
            "election" => header.election = Some(from_value(value).map_err(bad)?),
            "method" => header.method = Some(method(value).map_err(bad)?),
            "unranked" => header.unranked = Some(unranked(value).map_err(bad)?),
            "seats" => header.seats = Some(from_value(value).map_err(bad)?),
            "tie_break_seed" => header.tie_break_seed = from_value(value).map_err(bad)?,
            "not_counted" => header.not_counted = Some(from_value(value).map_err(bad)?),
            _ => {
                return Err(BoardError::new(
                    n,
                    format!(
                        "unknown field `{name}` (a board has election, method, unranked, seats, tie_break_seed, not_counted)"
                    ),
                ));
            }
        }
    }
    let Some((head_no, head_line)) = lines.next() else {
        return Err(BoardError::new(
            seen.len() + 2,
            "missing the header line `receipt,<candidate>,…`",
        ));
    };
    let cells = split_csv_line("ballot board", head_no, head_line)
        .map_err(|e| BoardError::new(head_no, e.message))?;
    let mut names = cells.into_iter().map(|(_, c)| c);
    if names.next().as_deref() != Some("receipt") {
        return Err(BoardError::new(
            head_no,
            "the header line must start with `receipt`",
        ));
    }
    let columns: Vec<String> = names.collect();
    let mut board = board_from_header(header, columns, head_no)?;
    let m = board.columns().count();
    for (n, line) in lines {
        let cells = split_csv_line("ballot board", n, line)
            .map_err(|e| BoardError::new(n, format!("column {}: {}", e.column, e.message)))?;
        if cells.len() != m + 1 {
            return Err(BoardError::new(
                n,
                format!(
                    "{} cells, but the header has {} (the receipt and {m} candidates)",
                    cells.len(),
                    m + 1
                ),
            ));
        }
        let mut cells = cells.into_iter();
        let (_, code) = cells.next().expect("m + 1 cells");
        let receipt = code
            .parse::<Receipt>()
            .map_err(|e| BoardError::new(n, format!("receipt `{code}`: {e}")))?;
        let ranks = cells
            .map(|(col, cell)| {
                rank_cell(&cell).map_err(|e| BoardError::new(n, format!("column {col}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        check_scores(board.method, &ranks).map_err(|e| BoardError::new(n, e))?;
        board.entries.push(BoardEntry { receipt, ranks });
        check_new_receipt(&board.entries, |_| n)?;
    }
    board
        .entries
        .sort_unstable_by(|a, b| a.receipt.cmp(&b.receipt));
    Ok(board)
}

/// Refuses a receipt that is on the board already (the last entry's; `line` names an entry's line).
fn check_new_receipt(
    entries: &[BoardEntry],
    line: impl Fn(&Receipt) -> usize,
) -> Result<(), BoardError> {
    let (last, before) = entries.split_last().expect("called after a push");
    if before.iter().any(|e| e.receipt == last.receipt) {
        return Err(BoardError::new(
            line(&last.receipt),
            format!("receipt {} is on the board twice", last.receipt),
        ));
    }
    Ok(())
}

/// A STAR board holds stars: a value outside 0 to 5 is refused (counting ranks would renumber
/// it in order and recount something the election never stored).
fn check_scores(method: Method, ranks: &[Option<i64>]) -> Result<(), String> {
    if method.ballot_kind() != crate::count::BallotKind::Score {
        return Ok(());
    }
    let max = i64::from(crate::count::MAX_STARS);
    match ranks.iter().flatten().find(|r| !(0..=max).contains(*r)) {
        Some(r) => Err(format!("a score is 0 to {max} stars, found {r}")),
        None => Ok(()),
    }
}

fn rank_cell(cell: &str) -> Result<Option<i64>, String> {
    if cell == NO_OPINION_CELL {
        return Ok(None);
    }
    match cell.trim().parse::<i64>() {
        Ok(r) if r == i64::from(NO_OPINION) => Ok(None),
        Ok(r) => Ok(Some(r)),
        Err(_) => Err(format!(
            "expected a rank (an integer) or `{NO_OPINION_CELL}`, found `{cell}`"
        )),
    }
}

fn from_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

fn method(v: serde_json::Value) -> Result<Method, String> {
    from_value::<String>(v)?.parse().map_err(|e| format!("{e}"))
}

fn unranked(v: serde_json::Value) -> Result<Unranked, String> {
    from_value::<String>(v)?.parse()
}

/// A board without entries from its header and columns (`line` = the header line, for errors).
fn board_from_header(h: Header, columns: Vec<String>, line: usize) -> Result<Board, BoardError> {
    let missing =
        |name: &str| BoardError::new(line, format!("the board does not say its `{name}`"));
    let not_counted = h.not_counted.unwrap_or_default();
    let Some(split) = columns.len().checked_sub(not_counted.len()) else {
        return Err(BoardError::new(
            line,
            "more columns not counted than columns",
        ));
    };
    if columns[split..] != not_counted[..] {
        return Err(BoardError::new(
            line,
            "the columns not counted must be the last columns, in the order `not_counted` lists them",
        ));
    }
    let mut seen = BTreeSet::new();
    for c in &columns {
        if c.is_empty() {
            return Err(BoardError::new(line, "an empty candidate ID"));
        }
        if !seen.insert(c) {
            return Err(BoardError::new(
                line,
                format!("candidate `{c}` is named twice"),
            ));
        }
    }
    let mut columns = columns;
    let not_counted = columns.split_off(split);
    Ok(Board {
        election: h.election.ok_or_else(|| missing("election"))?,
        method: h.method.ok_or_else(|| missing("method"))?,
        unranked: h.unranked.ok_or_else(|| missing("unranked"))?,
        seats: h.seats.ok_or_else(|| missing("seats"))?,
        tie_break_seed: h.tie_break_seed,
        candidates: columns,
        not_counted,
        entries: Vec::new(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonBoard {
    format: String,
    election: String,
    method: String,
    unranked: String,
    seats: usize,
    tie_break_seed: Option<String>,
    candidates: Vec<String>,
    #[serde(default)]
    not_counted: Vec<String>,
    sha256: String,
    ballots: Vec<JsonEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEntry {
    receipt: String,
    ranks: Vec<Option<i64>>,
}

fn parse_json(text: &str) -> Result<Board, BoardError> {
    let text = text.trim_start_matches('\u{feff}');
    let json: JsonBoard =
        serde_json::from_str(text).map_err(|e| BoardError::new(e.line(), e.to_string()))?;
    // The line of a receipt in the file, for errors about its entry (1 when not found).
    let line_of = |code: &str| {
        text.find(code)
            .map_or(1, |at| text[..at].matches('\n').count() + 1)
    };
    if json.format != JSON_FORMAT {
        return Err(BoardError::new(
            line_of("\"format\""),
            format!("`format` is `{}`, expected `{JSON_FORMAT}`", json.format),
        ));
    }
    let field = |name: &str, e: String| {
        BoardError::new(line_of(&format!("\"{name}\"")), format!("`{name}`: {e}"))
    };
    let mut columns = json.candidates;
    columns.extend(json.not_counted.iter().cloned());
    let header = Header {
        election: Some(json.election),
        method: Some(
            json.method
                .parse()
                .map_err(|e| field("method", format!("{e}")))?,
        ),
        unranked: Some(json.unranked.parse().map_err(|e| field("unranked", e))?),
        seats: Some(json.seats),
        tie_break_seed: json.tie_break_seed,
        not_counted: Some(json.not_counted),
    };
    let mut board = board_from_header(header, columns, line_of("\"candidates\""))?;
    let m = board.columns().count();
    for entry in json.ballots {
        let n = line_of(&entry.receipt);
        let receipt = entry
            .receipt
            .parse::<Receipt>()
            .map_err(|e| BoardError::new(n, format!("receipt `{}`: {e}", entry.receipt)))?;
        if entry.ranks.len() != m {
            return Err(BoardError::new(
                n,
                format!(
                    "{} ranks, but the board has {m} candidates",
                    entry.ranks.len()
                ),
            ));
        }
        let ranks = entry
            .ranks
            .into_iter()
            .map(|r| r.filter(|&r| r != i64::from(NO_OPINION)))
            .collect::<Vec<_>>();
        check_scores(board.method, &ranks).map_err(|e| BoardError::new(n, e))?;
        board.entries.push(BoardEntry { receipt, ranks });
        check_new_receipt(&board.entries, |r| line_of(&r.to_string()))?;
    }
    board
        .entries
        .sort_unstable_by(|a, b| a.receipt.cmp(&b.receipt));
    let sha256 = board.sha256();
    if !json.sha256.eq_ignore_ascii_case(&sha256) {
        return Err(BoardError::new(
            line_of("\"sha256\""),
            format!(
                "`sha256` says {} but the board's ballots give {sha256}: the file was changed",
                json.sha256
            ),
        ));
    }
    Ok(board)
}

#[cfg(test)]
mod tests;
