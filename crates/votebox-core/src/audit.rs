//! The audit chain of an election: an append-only, hash-chained log of what happened to it
//! (meta commits, voting opened and closed, exception requests, exports, conclusion, results
//! viewed), so that an edited, removed or reordered entry shows. Pure: the storage is
//! `votebox_db::audit`.
//!
//! # Format (`votebox-audit-v1`)
//!
//! Entry `seq` (1, 2, 3, … per election) holds `at` (UTC, whole seconds), `kind` (a word, see
//! [`EventKind`]), `detail` (compact JSON, one flat object, keys sorted), `prev_hash` (the
//! `hash` of entry `seq - 1`; 64 zeros for entry 1) and
//!
//! ```text
//! hash = hex(SHA-256(prev_hash || canonical))
//! canonical = "votebox-audit-v1\n" "election=" key "\n" "seq=" seq "\n"
//!             "at=" YYYY-MM-DDTHH:MM:SSZ "\n" "kind=" kind "\n" "detail=" detail "\n"
//! ```
//!
//! where `prev_hash` is its 64 lower-case hex characters. [`verify`] recomputes every link and
//! names the first one that does not hold.
//!
//! Nothing here may ever link a voter to a ballot or date a single cast: there is no event per
//! cast or revoke, and the events that count ballots do so only once voting has closed.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::PrimitiveDateTime;
use time::macros::format_description;

use crate::results::sha256_hex;

/// The version line that starts every canonical entry.
pub const FORMAT: &str = "votebox-audit-v1";

/// `prev_hash` of the first entry of a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The election's files changed in the meta repository: `commit`, `files_sha256`.
    MetaSynced,
    /// votebox saw voting open: `start` (from election.yaml); the entry's `at` is when it saw it.
    VotingOpened,
    /// votebox saw voting closed: `end`, `ballots`, `ballots_sha256` and `board_sha256` as they
    /// were then.
    VotingClosed,
    /// An exception request was filed: `request` (its id; no content, no login).
    ExceptionFiled,
    /// An officer marked a request reviewed or not: `request`, `reviewed`, `officer`.
    ExceptionReviewed,
    /// An officer downloaded an export: `file`, `sha256`, `officer` (and `seed` for the CSV).
    ExportMade,
    /// A ballot board was served (page, CSV or JSON) that differs from the last one recorded:
    /// its `sha256`. No login and no time of a single view: voters and the public look at it.
    BoardMade,
    /// `delete_after` was carried out: `links_erased` (voter→ballot links set to NULL).
    DeleteAfterDone,
    /// An officer opened the results page: `officer`, `method`, `unranked`.
    ResultsViewed,
}

impl EventKind {
    pub const ALL: [EventKind; 9] = [
        EventKind::MetaSynced,
        EventKind::VotingOpened,
        EventKind::VotingClosed,
        EventKind::ExceptionFiled,
        EventKind::ExceptionReviewed,
        EventKind::ExportMade,
        EventKind::BoardMade,
        EventKind::DeleteAfterDone,
        EventKind::ResultsViewed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MetaSynced => "meta_synced",
            EventKind::VotingOpened => "voting_opened",
            EventKind::VotingClosed => "voting_closed",
            EventKind::ExceptionFiled => "exception_filed",
            EventKind::ExceptionReviewed => "exception_reviewed",
            EventKind::ExportMade => "export_made",
            EventKind::BoardMade => "board_made",
            EventKind::DeleteAfterDone => "delete_after_done",
            EventKind::ResultsViewed => "results_viewed",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event to append: its kind and its detail as canonical JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub detail: String,
}

/// The ballots of an election as a count and a digest ([`ballots_digest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BallotsDigest {
    pub ballots: u64,
    pub sha256: String,
}

impl Event {
    fn new(kind: EventKind, fields: &[(&str, Value)]) -> Event {
        // A BTreeMap sorts the keys whatever serde_json's `preserve_order` feature says.
        let map: BTreeMap<&str, &Value> = fields.iter().map(|(k, v)| (*k, v)).collect();
        let detail = serde_json::to_string(&map).expect("a map of JSON values serialises");
        Event { kind, detail }
    }

    pub fn meta_synced(commit: &str, files_sha256: &str) -> Event {
        Event::new(
            EventKind::MetaSynced,
            &[
                ("commit", commit.into()),
                ("files_sha256", files_sha256.into()),
            ],
        )
    }

    pub fn voting_opened(start: PrimitiveDateTime) -> Event {
        Event::new(
            EventKind::VotingOpened,
            &[("start", format_at(start).into())],
        )
    }

    /// Voting closed at `end`; the ballots then ([`ballots_digest`]) and the SHA-256 of their
    /// board (`crate::verify::Board::sha256`).
    pub fn voting_closed(
        end: PrimitiveDateTime,
        ballots: &BallotsDigest,
        board_sha256: &str,
    ) -> Event {
        Event::new(
            EventKind::VotingClosed,
            &[
                ("end", format_at(end).into()),
                ("ballots", ballots.ballots.into()),
                ("ballots_sha256", ballots.sha256.as_str().into()),
                ("board_sha256", board_sha256.into()),
            ],
        )
    }

    pub fn exception_filed(request: i64) -> Event {
        Event::new(EventKind::ExceptionFiled, &[("request", request.into())])
    }

    pub fn exception_reviewed(request: i64, reviewed: bool, officer: &str) -> Event {
        Event::new(
            EventKind::ExceptionReviewed,
            &[
                ("request", request.into()),
                ("reviewed", reviewed.into()),
                ("officer", officer.into()),
            ],
        )
    }

    /// An export: `file` (e.g. `ballots.csv`), its SHA-256, the officer, and the export's seed.
    pub fn export_made(file: &str, sha256: &str, officer: &str, seed: Option<&str>) -> Event {
        let mut fields = vec![
            ("file", file.into()),
            ("sha256", sha256.into()),
            ("officer", officer.into()),
        ];
        if let Some(seed) = seed {
            fields.push(("seed", seed.into()));
        }
        Event::new(EventKind::ExportMade, &fields)
    }

    /// A board served, by its SHA-256.
    pub fn board_made(sha256: &str) -> Event {
        Event::new(EventKind::BoardMade, &[("sha256", sha256.into())])
    }

    pub fn delete_after_done(links_erased: u64) -> Event {
        Event::new(
            EventKind::DeleteAfterDone,
            &[("links_erased", links_erased.into())],
        )
    }

    pub fn results_viewed(officer: &str, method: &str, unranked: &str) -> Event {
        Event::new(
            EventKind::ResultsViewed,
            &[
                ("officer", officer.into()),
                ("method", method.into()),
                ("unranked", unranked.into()),
            ],
        )
    }
}

/// One stored entry. `kind` and `detail` are kept as stored (text), so that a tampered or
/// future entry still verifies or fails on its own bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub at: PrimitiveDateTime,
    pub kind: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// The entry that follows `head` (`None`: the first), recording `event` at `at` (truncated
    /// to whole seconds).
    pub fn next(
        election: &str,
        head: Option<&Head>,
        at: PrimitiveDateTime,
        event: &Event,
    ) -> Entry {
        let (seq, prev_hash) = match head {
            Some(h) => (h.seq + 1, h.hash.clone()),
            None => (1, GENESIS_HASH.to_owned()),
        };
        let at = whole_seconds(at);
        let kind = event.kind.as_str().to_owned();
        let hash = entry_hash(&prev_hash, election, seq, at, &kind, &event.detail);
        Entry {
            seq,
            at,
            kind,
            detail: event.detail.clone(),
            prev_hash,
            hash,
        }
    }

    /// The parsed kind, `None` for a kind this version does not know.
    pub fn event_kind(&self) -> Option<EventKind> {
        EventKind::parse(&self.kind)
    }

    /// A field of the detail (`None` when absent or the detail is not a JSON object).
    pub fn field(&self, name: &str) -> Option<Value> {
        serde_json::from_str::<Value>(&self.detail)
            .ok()?
            .get(name)
            .cloned()
    }

    /// The ballots a `voting_closed` entry recorded (`None` for another kind or a detail
    /// without them).
    pub fn recorded_ballots(&self) -> Option<BallotsDigest> {
        if self.event_kind() != Some(EventKind::VotingClosed) {
            return None;
        }
        Some(BallotsDigest {
            ballots: self.field("ballots")?.as_u64()?,
            sha256: self.field("ballots_sha256")?.as_str()?.to_owned(),
        })
    }

    /// The board SHA-256 a `voting_closed` entry recorded.
    pub fn recorded_board_sha256(&self) -> Option<String> {
        if self.event_kind() != Some(EventKind::VotingClosed) {
            return None;
        }
        Some(self.field("board_sha256")?.as_str()?.to_owned())
    }

    /// This entry as the head of its chain.
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }

    /// One line of the JSON-lines export (no trailing newline). `detail` is the stored JSON text
    /// as a string, so that the line carries the hashed bytes exactly.
    pub fn to_json_line(&self, election: &str) -> String {
        let line = serde_json::json!({
            "election": election,
            "seq": self.seq,
            "at": format_at(self.at),
            "kind": self.kind,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        });
        line.to_string()
    }
}

/// The entry that last closed voting, unless voting was opened again after it (the ballots
/// may then have changed legitimately).
pub fn last_close(entries: &[Entry]) -> Option<&Entry> {
    entries
        .iter()
        .rev()
        .find(|e| {
            matches!(
                e.event_kind(),
                Some(EventKind::VotingOpened | EventKind::VotingClosed)
            )
        })
        .filter(|e| e.event_kind() == Some(EventKind::VotingClosed))
}

/// The last entry of a chain: what a `results.md` quotes and git anchors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// `at` as the chain writes it: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_at(at: PrimitiveDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.format(fmt).expect("a PrimitiveDateTime always formats")
}

fn parse_at(s: &str) -> Option<PrimitiveDateTime> {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    PrimitiveDateTime::parse(s, fmt).ok()
}

/// `at` without its fraction of a second (what the chain stores).
pub fn whole_seconds(at: PrimitiveDateTime) -> PrimitiveDateTime {
    at.replace_nanosecond(0)
        .expect("zero nanoseconds is always valid")
}

/// The bytes an entry's hash covers after `prev_hash` (see the module docs).
pub fn canonical(
    election: &str,
    seq: i64,
    at: PrimitiveDateTime,
    kind: &str,
    detail: &str,
) -> String {
    format!(
        "{FORMAT}\nelection={election}\nseq={seq}\nat={}\nkind={kind}\ndetail={detail}\n",
        format_at(at)
    )
}

/// `hex(SHA-256(prev_hash || canonical))`.
pub fn entry_hash(
    prev_hash: &str,
    election: &str,
    seq: i64,
    at: PrimitiveDateTime,
    kind: &str,
    detail: &str,
) -> String {
    let canonical = canonical(election, seq, at, kind, detail);
    let digest = Sha256::new()
        .chain_update(prev_hash.as_bytes())
        .chain_update(canonical.as_bytes())
        .finalize();
    hex::encode(digest)
}

/// Why a chain does not verify, at the first entry where it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// The entry at this position has another `seq`: entries before it were removed, or the
    /// entries were reordered.
    UnexpectedSeq { found: i64 },
    /// `prev_hash` is not the previous entry's `hash`: an entry before it was removed, replaced
    /// or moved.
    PrevHashMismatch,
    /// The entry's own hash does not match its content: the entry was edited.
    HashMismatch,
    /// A field the canonical form cannot hold (a line break in `kind` or `detail`).
    Malformed(String),
}

/// The first link of a chain that does not hold: entry `seq` (the position expected there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub problem: LinkProblem,
}

impl fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.problem {
            LinkProblem::UnexpectedSeq { found } => write!(
                f,
                "entry {seq}: expected here, found entry {found} (entries removed or reordered)"
            ),
            LinkProblem::PrevHashMismatch => write!(
                f,
                "entry {seq}: prev_hash is not the hash of entry {} (an entry before it was removed, replaced or reordered)",
                seq - 1
            ),
            LinkProblem::HashMismatch => write!(
                f,
                "entry {seq}: its hash does not match its content (the entry was edited)"
            ),
            LinkProblem::Malformed(why) => write!(f, "entry {seq}: {why}"),
        }
    }
}

impl std::error::Error for BrokenLink {}

/// Checks a chain in the order given: `seq` 1, 2, 3…, each `prev_hash` the previous `hash`,
/// each `hash` its content's. Returns the head (`None` for an empty chain) or the first broken
/// link. Removing entries from the end cannot be seen here: compare the head with one quoted
/// elsewhere (a committed `results.md`, [`Head`]).
pub fn verify(election: &str, entries: &[Entry]) -> Result<Option<Head>, BrokenLink> {
    let mut prev = GENESIS_HASH;
    for (i, e) in entries.iter().enumerate() {
        let seq = i as i64 + 1;
        let broken = |problem| BrokenLink { seq, problem };
        if e.seq != seq {
            return Err(broken(LinkProblem::UnexpectedSeq { found: e.seq }));
        }
        if e.kind.contains(['\n', '\r']) || e.detail.contains(['\n', '\r']) {
            return Err(broken(LinkProblem::Malformed(
                "a line break in kind or detail".to_owned(),
            )));
        }
        if e.prev_hash != prev {
            return Err(broken(LinkProblem::PrevHashMismatch));
        }
        if entry_hash(&e.prev_hash, election, e.seq, e.at, &e.kind, &e.detail) != e.hash {
            return Err(broken(LinkProblem::HashMismatch));
        }
        prev = &e.hash;
    }
    Ok(entries.last().map(Entry::head))
}

/// A line of a JSON-lines export that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// Reads a JSON-lines export ([`Entry::to_json_line`]): `(election key, entry)` per non-empty
/// line, in file order (verify it in that order: a moved line shows).
pub fn parse_json_lines(text: &str) -> Result<Vec<(String, Entry)>, LineError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| LineError {
            line: i + 1,
            message,
        };
        let v: Value = serde_json::from_str(line).map_err(|e| err(format!("not JSON: {e}")))?;
        let text_field = |name: &str| -> Result<String, LineError> {
            v.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| err(format!("`{name}` must be a string")))
        };
        let election = text_field("election")?;
        let seq = v
            .get("seq")
            .and_then(Value::as_i64)
            .ok_or_else(|| err("`seq` must be an integer".to_owned()))?;
        let at_text = text_field("at")?;
        let at = parse_at(&at_text)
            .ok_or_else(|| err(format!("`at` is not YYYY-MM-DDTHH:MM:SSZ: {at_text:?}")))?;
        let entry = Entry {
            seq,
            at,
            kind: text_field("kind")?,
            detail: text_field("detail")?,
            prev_hash: text_field("prev_hash")?,
            hash: text_field("hash")?,
        };
        out.push((election, entry));
    }
    Ok(out)
}

/// Count and SHA-256 of an election's stored ballots, in a form that does not depend on storage
/// order, ballot uuids or the meta repository: each ballot (rows sharing a uuid) becomes the
/// JSON array of its `[candidate, stored rank]` pairs sorted by candidate; the lines are sorted
/// and hashed as `"votebox-ballots-v1\n"` followed by each line and `"\n"`. Any ballot row
/// changed, added or removed changes it.
pub fn ballots_digest<I, S1, S2>(rows: I) -> BallotsDigest
where
    I: IntoIterator<Item = (S1, S2, Option<i64>)>,
    S1: AsRef<str>,
    S2: AsRef<str>,
{
    let mut by_uuid: BTreeMap<String, Vec<(String, Option<i64>)>> = BTreeMap::new();
    for (uuid, candidate, rank) in rows {
        by_uuid
            .entry(uuid.as_ref().to_owned())
            .or_default()
            .push((candidate.as_ref().to_owned(), rank));
    }
    let mut lines: Vec<String> = by_uuid
        .into_values()
        .map(|mut cells| {
            cells.sort();
            serde_json::to_string(&cells).expect("pairs of strings and integers serialise")
        })
        .collect();
    lines.sort_unstable();
    let mut text = String::from("votebox-ballots-v1\n");
    for line in &lines {
        text.push_str(line);
        text.push('\n');
    }
    BallotsDigest {
        ballots: lines.len() as u64,
        sha256: sha256_hex(text.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const KEY: &str = "2021---TOC";

    fn chain(events: &[Event]) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let at = datetime!(2023-08-10 12:00:00) + time::Duration::minutes(i as i64);
            let head = out.last().map(Entry::head);
            out.push(Entry::next(KEY, head.as_ref(), at, e));
        }
        out
    }

    fn sample() -> Vec<Entry> {
        chain(&[
            Event::meta_synced("abc123", &"1".repeat(64)),
            Event::voting_opened(datetime!(2023-08-01 00:00:00)),
            Event::exception_filed(7),
            Event::exception_reviewed(7, true, "kalkayan"),
            Event::voting_closed(
                datetime!(2023-08-20 00:00:00),
                &BallotsDigest {
                    ballots: 3,
                    sha256: "2".repeat(64),
                },
                &"3".repeat(64),
            ),
            Event::results_viewed("kalkayan", "schulze", "no-opinion"),
        ])
    }

    #[test]
    fn a_fresh_chain_verifies_and_links() {
        let c = sample();
        assert_eq!(c[0].prev_hash, GENESIS_HASH);
        for w in c.windows(2) {
            assert_eq!(w[1].prev_hash, w[0].hash);
            assert_eq!(w[1].seq, w[0].seq + 1);
        }
        let head = verify(KEY, &c).unwrap().unwrap();
        assert_eq!(
            head,
            Head {
                seq: 6,
                hash: c[5].hash.clone()
            }
        );
        assert_eq!(verify(KEY, &[]), Ok(None));
    }

    #[test]
    fn the_hash_is_sha256_of_prev_hash_and_the_canonical_text() {
        let e = &sample()[0];
        let text = format!(
            "{GENESIS_HASH}votebox-audit-v1\nelection=2021---TOC\nseq=1\nat=2023-08-10T12:00:00Z\n\
             kind=meta_synced\ndetail={{\"commit\":\"abc123\",\"files_sha256\":\"{}\"}}\n",
            "1".repeat(64)
        );
        assert_eq!(e.hash, sha256_hex(text.as_bytes()));
    }

    #[test]
    fn details_are_compact_with_sorted_keys() {
        let e = Event::exception_reviewed(7, false, "kalkayan");
        assert_eq!(
            e.detail,
            r#"{"officer":"kalkayan","request":7,"reviewed":false}"#
        );
        let e = Event::export_made("ballots.csv", "ab", "o", Some("s1"));
        assert_eq!(
            e.detail,
            r#"{"file":"ballots.csv","officer":"o","seed":"s1","sha256":"ab"}"#
        );
    }

    #[test]
    fn an_edited_entry_is_named() {
        for field in ["at", "kind", "detail", "hash"] {
            let mut c = sample();
            match field {
                "at" => c[3].at += time::Duration::seconds(1),
                "kind" => c[3].kind = "exception_filed".into(),
                "detail" => c[3].detail = c[3].detail.replace("true", "false"),
                _ => c[3].hash = "f".repeat(64),
            }
            let err = verify(KEY, &c).unwrap_err();
            assert_eq!(err.seq, 4, "{field}");
            assert_eq!(err.problem, LinkProblem::HashMismatch, "{field}");
            assert!(err.to_string().contains("entry 4"), "{err}");
        }
    }

    #[test]
    fn an_entry_rehashed_after_an_edit_breaks_the_next_link() {
        let mut c = sample();
        c[2].detail = r#"{"request":8}"#.into();
        c[2].hash = entry_hash(&c[2].prev_hash, KEY, 3, c[2].at, &c[2].kind, &c[2].detail);
        let err = verify(KEY, &c).unwrap_err();
        assert_eq!((err.seq, err.problem), (4, LinkProblem::PrevHashMismatch));
    }

    #[test]
    fn a_removed_entry_is_named() {
        let mut c = sample();
        c.remove(2);
        let err = verify(KEY, &c).unwrap_err();
        assert_eq!(
            (err.seq, err.problem),
            (3, LinkProblem::UnexpectedSeq { found: 4 })
        );
        // Renumbered to hide the gap: the link still breaks there.
        for (i, e) in c.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(verify(KEY, &c).unwrap_err().seq, 3);
    }

    #[test]
    fn reordered_entries_are_named() {
        let mut c = sample();
        c.swap(1, 2);
        assert_eq!(verify(KEY, &c).unwrap_err().seq, 2);
        // Swapped contents but kept seq order.
        let mut c = sample();
        let (a, b) = (c[1].clone(), c[2].clone());
        c[1] = Entry { seq: 2, ..b };
        c[2] = Entry { seq: 3, ..a };
        assert_eq!(verify(KEY, &c).unwrap_err().seq, 2);
    }

    #[test]
    fn a_chain_belongs_to_its_election() {
        let err = verify("2021---GB", &sample()).unwrap_err();
        assert_eq!((err.seq, err.problem), (1, LinkProblem::HashMismatch));
    }

    #[test]
    fn line_breaks_cannot_hide_in_a_field() {
        let mut c = sample();
        c[0].detail.push('\n');
        assert!(matches!(
            verify(KEY, &c).unwrap_err().problem,
            LinkProblem::Malformed(_)
        ));
    }

    #[test]
    fn json_lines_round_trip_and_keep_file_order() {
        let c = sample();
        let text: String = c.iter().map(|e| e.to_json_line(KEY) + "\n").collect();
        let read = parse_json_lines(&text).unwrap();
        assert_eq!(read.len(), 6);
        assert!(read.iter().all(|(k, _)| k == KEY));
        let entries: Vec<Entry> = read.into_iter().map(|(_, e)| e).collect();
        assert_eq!(entries, c);
        let mut lines: Vec<&str> = text.lines().collect();
        lines.swap(3, 4);
        let moved: Vec<Entry> = parse_json_lines(&lines.join("\n"))
            .unwrap()
            .into_iter()
            .map(|(_, e)| e)
            .collect();
        assert_eq!(verify(KEY, &moved).unwrap_err().seq, 4);
    }

    #[test]
    fn bad_json_lines_name_the_line() {
        let good = sample()[0].to_json_line(KEY);
        let err = parse_json_lines(&format!("{good}\n\n{{not json\n")).unwrap_err();
        assert_eq!(err.line, 3);
        let err = parse_json_lines(&good.replace("\"seq\":1", "\"seq\":\"1\"")).unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("seq"), "{err}");
        let err = parse_json_lines(&good.replace("T12:00:00Z", " 12:00")).unwrap_err();
        assert!(err.message.contains("at"), "{err}");
    }

    #[test]
    fn whole_seconds_are_recorded() {
        let e = Entry::next(
            KEY,
            None,
            datetime!(2023-08-10 12:00:00.987654),
            &Event::delete_after_done(2),
        );
        assert_eq!(e.at, datetime!(2023-08-10 12:00:00));
        assert_eq!(verify(KEY, &[e]).unwrap().unwrap().seq, 1);
    }

    #[test]
    fn the_ballots_digest_ignores_order_and_uuids_but_not_content() {
        let rows = [
            ("u1", "a", Some(1)),
            ("u1", "b", Some(2)),
            ("u2", "a", Some(2)),
            ("u2", "b", Some(100_000_000)),
        ];
        let d = ballots_digest(rows);
        assert_eq!(d.ballots, 2);
        let mut shuffled = rows;
        shuffled.reverse();
        let renamed = shuffled.map(|(u, c, r)| (if u == "u1" { "z9" } else { "k3" }, c, r));
        assert_eq!(ballots_digest(renamed), d);
        let mut changed = rows;
        changed[0].2 = Some(2);
        assert_ne!(ballots_digest(changed).sha256, d.sha256);
        let removed = ballots_digest(rows[..2].iter().copied());
        assert_eq!(removed.ballots, 1);
        assert_ne!(removed.sha256, d.sha256);
        let mut added = rows.to_vec();
        added.push(("u3", "a", Some(1)));
        assert_ne!(ballots_digest(added).sha256, d.sha256);
        assert_eq!(
            ballots_digest(Vec::<(&str, &str, Option<i64>)>::new()).sha256,
            sha256_hex(b"votebox-ballots-v1\n")
        );
    }

    #[test]
    fn the_last_close_is_the_latest_state_change() {
        let c = sample();
        let close = last_close(&c).unwrap();
        assert_eq!(close.seq, 5);
        assert_eq!(
            close.recorded_ballots(),
            Some(BallotsDigest {
                ballots: 3,
                sha256: "2".repeat(64)
            })
        );
        assert_eq!(close.recorded_board_sha256(), Some("3".repeat(64)));
        assert_eq!(c[0].recorded_ballots(), None);
        assert_eq!(c[0].recorded_board_sha256(), None);
        let reopened = Entry::next(
            KEY,
            Some(&c[5].head()),
            datetime!(2023-09-01 00:00:00),
            &Event::voting_opened(datetime!(2023-09-01 00:00:00)),
        );
        let mut c2 = c.clone();
        c2.push(reopened);
        assert_eq!(last_close(&c2), None);
        assert_eq!(last_close(&c[..4]), None);
    }

    #[test]
    fn every_kind_parses_back() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("cast"), None);
    }
}
