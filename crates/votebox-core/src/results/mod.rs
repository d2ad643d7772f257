//! Stored ballots → counts, the Elekto ballot CSV and the `results.md` draft. Pure: no I/O.
//!
//! * [`StoredBallots`] groups Elekto's `ballot` rows (one row per voter uuid and candidate) into
//!   ballots over the **current** meta candidates, sorted by ID. Rows naming an ID that is no
//!   longer a candidate (a candidate file removed or renamed after voting) never crash anything:
//!   the IDs are listed in [`StoredBallots::stale`] with the number of ballots that rank them,
//!   are left out of the count (the rest of those ballots still counts), and get a column of
//!   their own in the CSV (checklist 52, 54).
//! * [`StoredBallots::to_elekto_csv`] writes Elekto's `ballots.csv` (checklist 53): header =
//!   candidate IDs joined by `,`; one line per ballot uuid; cells are the stored rank or
//!   `No opinion`; `\n` after every line. Unlike Elekto (checklist 54) the columns are in a
//!   stable order (current candidates sorted by ID, then stale IDs sorted), the lines are in an
//!   order derived from a seed (SHA-256 of seed and uuid: unrelated to storage or voting order,
//!   and the same bytes for the same seed, so a `results.md` can quote the file's hash), and a
//!   cell is quoted as RFC 4180 says when it contains `,`, `"`, CR or LF.
//! * [`results_markdown`] renders a `results.md` draft from an [`Outcome`].
//! * [`Counting`] reads how an election is counted; [`ResultsReport`] is the officers' results
//!   page as plain data.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

mod counting;
mod report;

pub use counting::{Counting, CountingWarning};
pub use report::{
    CandidateView, Cell, Counted, MatrixRow, OutcomeReport, RankRow, Recount, ResultsReport,
    RoundView, StarRunoffView, StarSeatView, StarTotalView, UNRANKED_RULES, WhatIfRow,
    candidate_names, recount_every_way,
};

use crate::ballot::NO_OPINION;
use crate::count::{Method, Outcome, Profile, StageKind, TieResolution, Unranked};

/// Elekto's spelling of an unranked cell in `ballots.csv`.
pub const NO_OPINION_CELL: &str = "No opinion";

/// A candidate ID found in ballot rows but not among the current candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleCandidate {
    /// The ID as stored.
    pub id: String,
    /// Ballots with a row for it (any rank, "No opinion" included).
    pub ballots: usize,
    /// Ballots that give it a real rank (not "No opinion").
    pub ranked_by: usize,
}

/// One ballot: its uuid and one optional stored rank per column ([`StoredBallots::columns`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBallot {
    /// The ballot-voter uuid (`ballot.voter`).
    pub uuid: String,
    /// Stored rank per column; `None` = no row, a NULL rank, or 100000000 ("No opinion").
    pub ranks: Vec<Option<i64>>,
}

/// The ballots of one election, grouped by uuid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBallots {
    /// Current candidate IDs, sorted (byte order).
    pub candidates: Vec<String>,
    /// IDs that ballots name but that are no longer candidates, sorted.
    pub stale: Vec<StaleCandidate>,
    /// One entry per uuid, sorted by uuid. `ranks` covers `candidates` then `stale`.
    pub ballots: Vec<StoredBallot>,
    /// Ballots with at least one row for a stale ID.
    pub ballots_naming_stale: usize,
}

impl StoredBallots {
    /// Groups `(voter uuid, candidate ID, stored rank)` rows. `candidates` are the current meta
    /// candidate IDs (any order; duplicates ignored).
    pub fn from_rows<I, S1, S2>(candidates: &[String], rows: I) -> StoredBallots
    where
        I: IntoIterator<Item = (S1, S2, Option<i64>)>,
        S1: AsRef<str>,
        S2: AsRef<str>,
    {
        let current: BTreeSet<&str> = candidates.iter().map(String::as_str).collect();
        let mut by_uuid: BTreeMap<String, BTreeMap<String, Option<i64>>> = BTreeMap::new();
        for (uuid, cand, rank) in rows {
            let rank = rank.filter(|&r| r != i64::from(NO_OPINION));
            let slot = by_uuid
                .entry(uuid.as_ref().to_owned())
                .or_default()
                .entry(cand.as_ref().to_owned())
                .or_insert(None);
            // Two rows for one (uuid, candidate) never happen with Elekto; keep a real rank.
            if slot.is_none() {
                *slot = rank;
            }
        }
        let mut stale: BTreeMap<&str, StaleCandidate> = BTreeMap::new();
        let mut ballots_naming_stale = 0;
        for cells in by_uuid.values() {
            ballots_naming_stale +=
                usize::from(cells.keys().any(|c| !current.contains(c.as_str())));
            for (cand, rank) in cells {
                if !current.contains(cand.as_str()) {
                    let s = stale.entry(cand).or_insert_with(|| StaleCandidate {
                        id: cand.clone(),
                        ballots: 0,
                        ranked_by: 0,
                    });
                    s.ballots += 1;
                    s.ranked_by += usize::from(rank.is_some());
                }
            }
        }
        let stale: Vec<StaleCandidate> = stale.into_values().collect();
        let columns: Vec<&str> = current
            .iter()
            .copied()
            .chain(stale.iter().map(|s| s.id.as_str()))
            .collect();
        let ballots = by_uuid
            .iter()
            .map(|(uuid, cells)| StoredBallot {
                uuid: uuid.clone(),
                ranks: columns
                    .iter()
                    .map(|c| cells.get(*c).copied().flatten())
                    .collect(),
            })
            .collect();
        StoredBallots {
            candidates: current.into_iter().map(str::to_owned).collect(),
            stale,
            ballots,
            ballots_naming_stale,
        }
    }

    /// Every CSV column: current candidates, then stale IDs.
    pub fn columns(&self) -> Vec<&str> {
        self.candidates
            .iter()
            .map(String::as_str)
            .chain(self.stale.iter().map(|s| s.id.as_str()))
            .collect()
    }

    /// Number of ballots (distinct uuids).
    pub fn len(&self) -> usize {
        self.ballots.len()
    }

    /// True when nobody voted.
    pub fn is_empty(&self) -> bool {
        self.ballots.is_empty()
    }

    /// The count profile over the current candidates (stale IDs left out). Ranks are kept in
    /// order; ranks outside `0..=u32::MAX` are renumbered densely, which changes no count.
    pub fn profile(&self) -> Profile {
        let m = self.candidates.len();
        let mut p = Profile::new(self.candidates.clone())
            .expect("candidate IDs from a set are unique and the meta parser refuses empty IDs");
        let mut ranks: Vec<Option<u32>> = Vec::with_capacity(m);
        for b in &self.ballots {
            let cells = &b.ranks[..m];
            ranks.clear();
            if cells
                .iter()
                .flatten()
                .all(|&r| (0..=i64::from(u32::MAX)).contains(&r))
            {
                ranks.extend(cells.iter().map(|r| r.map(|r| r as u32)));
            } else {
                let mut distinct: Vec<i64> = cells.iter().flatten().copied().collect();
                distinct.sort_unstable();
                distinct.dedup();
                ranks.extend(
                    cells
                        .iter()
                        .map(|r| r.map(|r| distinct.partition_point(|&x| x < r) as u32 + 1)),
                );
            }
            p.push_ranks(&ranks, 1)
                .expect("every ballot has one cell per candidate");
        }
        p
    }

    /// Elekto's `ballots.csv`, lines ordered by `SHA-256(seed || 0x00 || uuid)` (see the
    /// module docs). The same seed and rows always give the same bytes.
    pub fn to_elekto_csv(&self, seed: &str) -> String {
        let columns = self.columns();
        let mut out = String::with_capacity(16 * (self.ballots.len() + 1) * columns.len().max(1));
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_csv_cell(&mut out, c);
        }
        out.push('\n');
        let mut order: Vec<([u8; 32], usize)> = self
            .ballots
            .iter()
            .enumerate()
            .map(|(i, b)| (row_key(seed, &b.uuid), i))
            .collect();
        order.sort_unstable();
        for (_, i) in order {
            for (j, r) in self.ballots[i].ranks.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                push_rank_cell(&mut out, *r);
            }
            out.push('\n');
        }
        out
    }
}

fn row_key(seed: &str, uuid: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(seed.as_bytes())
        .chain_update([0u8])
        .chain_update(uuid.as_bytes())
        .finalize()
        .into()
}

/// A stored rank as a CSV cell: the number, or [`NO_OPINION_CELL`] for a candidate left unranked.
pub fn push_rank_cell(out: &mut String, rank: Option<i64>) {
    match rank {
        Some(r) => {
            let _ = write!(out, "{r}");
        }
        None => out.push_str(NO_OPINION_CELL),
    }
}

/// Appends one CSV cell, quoted as RFC 4180 says only when it contains `,`, `"`, CR or LF (so
/// Elekto's unquoted output is unchanged for ordinary IDs).
pub fn push_csv_cell(out: &mut String, cell: &str) {
    if cell.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&cell.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A human name for a method, e.g. "Schulze (winning votes)".
pub fn method_label(m: Method) -> &'static str {
    match m {
        Method::Schulze => "Schulze (winning votes)",
        Method::SchulzeMargins => "Schulze (margins)",
        Method::RankedPairs => "Ranked Pairs (winning votes)",
        Method::Minimax => "Minimax (winning votes)",
        Method::Copeland => "Copeland",
        Method::Irv => "Instant-runoff voting",
        Method::StvMeek => "Single transferable vote (Meek, Droop quota)",
        Method::StvScottish => "Single transferable vote (Scottish rules, SSI 2007/42)",
        Method::Star => "STAR voting (score then automatic runoff; Bloc STAR for several seats)",
    }
}

/// Whether a method ranks from the pairwise matrix (so its pairwise data is meaningful).
pub fn is_condorcet_method(m: Method) -> bool {
    !matches!(
        m,
        Method::Irv | Method::StvMeek | Method::StvScottish | Method::Star
    )
}

/// A human description of an unranked rule.
pub fn unranked_label(u: Unranked) -> &'static str {
    match u {
        Unranked::NoOpinion => {
            "no opinion (an unranked candidate takes part in no comparison; Elekto's rule)"
        }
        Unranked::Last => {
            "ranked last (unranked candidates rank below every ranked one; Debian's rule)"
        }
    }
}

/// Rank label of each tier: 1 + the number of candidates ranked above it ("1224" ranking).
pub fn tier_labels(outcome: &Outcome) -> Vec<u32> {
    outcome.tier_defeats.iter().map(|d| d + 1).collect()
}

/// What goes into a `results.md` draft besides the outcome.
#[derive(Debug, Clone, Default)]
pub struct MarkdownInfo<'a> {
    /// Election (or file) title.
    pub title: &'a str,
    /// Display name of candidate IDs (IDs without a name are shown alone).
    pub names: HashMap<String, String>,
    /// Voters with a voter row, and eligible voters, when known.
    pub turnout: Option<(u64, Option<u64>)>,
    /// The ballots file: name, its SHA-256, and the export seed when the CSV came from votebox.
    pub ballots_file: Option<(&'a str, String, Option<&'a str>)>,
    /// Stale candidate IDs left out of the count.
    pub stale: &'a [StaleCandidate],
    /// The SHA-256 of the election's ballot board ([`crate::verify::Board::sha256`]), which
    /// `votebox verify --results` checks.
    pub board_sha256: Option<String>,
    /// Extra lines for the "Count" section (e.g. which tool made the draft).
    pub notes: Vec<String>,
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn md_candidate(info: &MarkdownInfo<'_>, id: &str) -> String {
    match info.names.get(id) {
        Some(name) if name != id => format!("{} (`{}`)", md_escape(name), id.replace('`', "'")),
        _ => format!("`{}`", id.replace('`', "'")),
    }
}

/// A `results.md` draft: winners, complete ranking (ties marked), method and semantics, ballot
/// count, turnout, and the SHA-256 of the ballots file it was counted from.
pub fn results_markdown(outcome: &Outcome, info: &MarkdownInfo<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Results: {}\n", md_escape(info.title));
    let _ = writeln!(
        s,
        "<!-- Draft generated by votebox from the ballots; check it before committing it to the meta repository. -->\n"
    );
    let _ = writeln!(s, "## Winners\n");
    if outcome.ballots == 0 {
        let _ = writeln!(s, "No ballots were cast: nobody is elected.");
    } else if outcome.winners.is_empty() && outcome.ties_at_last_seat.is_empty() {
        let _ = writeln!(s, "No winner could be determined.");
    }
    for w in &outcome.winners {
        let _ = writeln!(s, "- {}", md_candidate(info, w));
    }
    if !outcome.ties_at_last_seat.is_empty() && outcome.ballots > 0 {
        let open = outcome.seats.saturating_sub(outcome.winners.len());
        let tied: Vec<String> = outcome
            .ties_at_last_seat
            .iter()
            .map(|c| md_candidate(info, c))
            .collect();
        let _ = writeln!(
            s,
            "\n**Tie:** {} remaining seat(s) between {}. The count does not decide it; the election officers must.",
            open,
            tied.join(", ")
        );
    }
    let _ = writeln!(s, "\n## Complete ranking\n");
    let _ = writeln!(s, "| Rank | Candidate(s) |");
    let _ = writeln!(s, "|---|---|");
    for (label, tier) in tier_labels(outcome).iter().zip(&outcome.ranking) {
        let names: Vec<String> = tier.iter().map(|c| md_candidate(info, c)).collect();
        let tie = if tier.len() > 1 { " (tie)" } else { "" };
        let _ = writeln!(s, "| {label}{tie} | {} |", names.join(" / "));
    }
    let _ = writeln!(s, "\n## Count\n");
    let _ = writeln!(
        s,
        "- Method: {} (`{}`)",
        method_label(outcome.method),
        outcome.method
    );
    if outcome.method == Method::Star {
        let _ = writeln!(
            s,
            "- Ballots: score ballots, 0 to 5 stars per candidate (a blank counts as 0 stars)"
        );
    } else {
        let _ = writeln!(
            s,
            "- Unranked candidates: {} (`{}`)",
            unranked_label(outcome.unranked),
            outcome.unranked
        );
    }
    let _ = writeln!(s, "- Seats: {}", outcome.seats);
    let _ = writeln!(s, "- Ballots counted: {}", outcome.ballots);
    if let Some(sha) = &info.board_sha256 {
        let _ = writeln!(
            s,
            "- Ballot board: SHA-256 `{sha}` (`votebox verify BOARD --results results.md` recounts it)"
        );
    }
    if let Some((voters, eligible)) = info.turnout {
        match eligible {
            Some(e) if e > 0 => {
                let _ = writeln!(
                    s,
                    "- Turnout: {voters} of {e} eligible voters ({:.1}%)",
                    voters as f64 * 100.0 / e as f64
                );
            }
            _ => {
                let _ = writeln!(s, "- Voters: {voters}");
            }
        }
    }
    match &outcome.condorcet_winner {
        Some(c) if is_condorcet_method(outcome.method) => {
            let _ = writeln!(s, "- Condorcet winner: {}", md_candidate(info, c));
        }
        None if is_condorcet_method(outcome.method) => {
            let smith: Vec<String> = outcome
                .smith_set
                .iter()
                .map(|c| md_candidate(info, c))
                .collect();
            let _ = writeln!(s, "- No Condorcet winner; Smith set: {}", smith.join(", "));
        }
        _ => {}
    }
    if let Some(tb) = &outcome.tie_break {
        let seed = tb.seed.as_deref().unwrap_or("(explicit order)");
        let _ = writeln!(
            s,
            "- Tie-break: seed `{}`, order {}; {}",
            seed.replace('`', "'"),
            tb.order.join(" > "),
            if tb.used { "used" } else { "not needed" }
        );
        for t in outcome
            .ties
            .iter()
            .filter(|t| t.resolution == TieResolution::TieBreak)
        {
            let _ = writeln!(
                s,
                "  - tie between {} decided by the tie-break: {}",
                t.candidates.join(", "),
                t.chosen.join(", ")
            );
        }
    }
    if let Some((file, sha, seed)) = &info.ballots_file {
        match seed {
            Some(seed) => {
                let _ = writeln!(
                    s,
                    "- Ballots file: `{file}` (export seed `{seed}`), SHA-256 `{sha}`"
                );
            }
            None => {
                let _ = writeln!(s, "- Ballots file: `{file}`, SHA-256 `{sha}`");
            }
        }
    }
    for st in info.stale {
        let _ = writeln!(
            s,
            "- Not counted: `{}` is no longer a candidate ({} ballot(s) ranked it)",
            st.id.replace('`', "'"),
            st.ranked_by
        );
    }
    for n in &info.notes {
        let _ = writeln!(s, "- {n}");
    }
    count_sheet(&mut s, outcome, info);
    star_sheet(&mut s, outcome, info);
    s
}

/// The STAR count of each seat: scoring-round totals, finalists, the runoff matrix and how
/// every tie was broken.
fn star_sheet(s: &mut String, outcome: &Outcome, info: &MarkdownInfo<'_>) {
    if outcome.star.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## STAR count\n");
    for seat in &outcome.star {
        let _ = writeln!(s, "### Seat {}\n", seat.seat);
        let _ = writeln!(s, "| Candidate | Total stars | Five-star ratings | |");
        let _ = writeln!(s, "|---|---:|---:|---|");
        for t in &seat.totals {
            let mark = if seat.finalists.contains(&t.candidate) {
                "finalist"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {mark} |",
                md_candidate(info, &t.candidate),
                t.stars,
                t.five_stars
            );
        }
        if let Some(r) = &seat.runoff {
            let (a, b) = (md_candidate(info, &r.first), md_candidate(info, &r.second));
            let _ = writeln!(s, "\nAutomatic runoff:\n");
            let _ = writeln!(s, "| Ballots preferring | Count |");
            let _ = writeln!(s, "|---|---:|");
            let _ = writeln!(s, "| {a} over {b} | {} |", r.prefer_first);
            let _ = writeln!(s, "| {b} over {a} | {} |", r.prefer_second);
            let _ = writeln!(s, "| No preference (equal stars) | {} |", r.no_preference);
        }
        let _ = writeln!(s);
        for step in &seat.steps {
            let _ = writeln!(s, "- {}", md_escape(step));
        }
        match &seat.winner {
            Some(w) => {
                let _ = writeln!(s, "- Elected: {}", md_candidate(info, w));
            }
            None => {
                let _ = writeln!(s, "- Undecided: a tie the count cannot break");
            }
        }
        let _ = writeln!(s);
    }
}

/// The Scottish STV count sheet: votes of every candidate at the end of each stage, the
/// transfers and why each candidate was elected or excluded (only for outcomes whose rounds
/// record stages).
fn count_sheet(s: &mut String, outcome: &Outcome, info: &MarkdownInfo<'_>) {
    if outcome.rounds.iter().all(|r| r.stage.is_none()) {
        return;
    }
    let num = |v: f64| format!("{v:.5}");
    let _ = writeln!(s, "\n## Count sheet\n");
    let _ = write!(s, "| Stage | Action |");
    for c in &outcome.candidates {
        let _ = write!(s, " {} |", md_candidate(info, c));
    }
    let _ = writeln!(s, " Non-transferable | Loss (truncation) |");
    let _ = writeln!(
        s,
        "|---|---|{}---|---|",
        "---:|".repeat(outcome.candidates.len())
    );
    for r in &outcome.rounds {
        let Some(st) = &r.stage else { continue };
        let action = match (&st.kind, &st.from) {
            (StageKind::Surplus, Some(c)) => format!("surplus of {}", md_candidate(info, c)),
            (StageKind::Exclusion, Some(c)) => format!("exclusion of {}", md_candidate(info, c)),
            _ => "first preferences".to_owned(),
        };
        let _ = write!(s, "| {} | {action} |", r.number);
        for c in &outcome.candidates {
            let cell = match r.tallies.iter().find(|t| &t.candidate == c) {
                Some(t) => {
                    let mark = if r.elected.contains(c) {
                        " (elected)"
                    } else if r.excluded.contains(c) {
                        " (excluded)"
                    } else {
                        ""
                    };
                    format!("{}{mark}", num(t.votes))
                }
                None => "–".to_owned(),
            };
            let _ = write!(s, " {cell} |");
        }
        let _ = writeln!(s, " {} | {} |", num(r.exhausted), num(st.total_loss));
    }
    let _ = writeln!(s);
    for r in &outcome.rounds {
        let Some(st) = &r.stage else { continue };
        let mut parts: Vec<String> = Vec::new();
        if !st.transfer_values.is_empty() {
            let v: Vec<String> = st.transfer_values.iter().map(|&v| num(v)).collect();
            parts.push(format!("transfer value(s) {}", v.join(", ")));
        }
        if st.kind != StageKind::FirstPreferences {
            let moves: Vec<String> = st
                .transfers
                .iter()
                .map(|t| format!("{} {:+.5}", md_candidate(info, &t.candidate), t.votes))
                .collect();
            if !moves.is_empty() {
                parts.push(moves.join(", "));
            }
            parts.push(format!(
                "non-transferable +{}, loss due to truncation {}",
                num(st.non_transferable),
                num(st.loss)
            ));
        }
        parts.extend(st.notes.iter().map(|n| md_escape(n)));
        let _ = writeln!(s, "- Stage {}: {}", r.number, parts.join("; "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::{CountOptions, count, parse_elekto_csv};

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn rows() -> Vec<(&'static str, &'static str, Option<i64>)> {
        vec![
            ("u2", "b", Some(1)),
            ("u2", "a", Some(2)),
            ("u1", "a", Some(1)),
            ("u1", "b", Some(100_000_000)),
            ("u1", "gone", Some(2)),
            ("u3", "a", Some(100_000_000)),
            ("u3", "b", None),
        ]
    }

    #[test]
    fn groups_rows_and_keeps_stale_ids_apart() {
        let s = StoredBallots::from_rows(&ids(&["b", "a"]), rows());
        assert_eq!(s.candidates, ids(&["a", "b"]));
        assert_eq!(s.columns(), vec!["a", "b", "gone"]);
        assert_eq!(
            s.stale,
            vec![StaleCandidate {
                id: "gone".into(),
                ballots: 1,
                ranked_by: 1
            }]
        );
        assert_eq!(s.ballots_naming_stale, 1);
        assert_eq!(s.len(), 3);
        assert_eq!(s.ballots[0].uuid, "u1");
        assert_eq!(s.ballots[0].ranks, vec![Some(1), None, Some(2)]);
        let p = s.profile();
        assert_eq!(p.candidates(), &["a", "b"]);
        assert_eq!(p.num_ballots(), 3);
        assert_eq!(p.line(0).0.ranks(), &[Some(1), None]);
    }

    #[test]
    fn csv_is_elekto_format_deterministic_per_seed() {
        let s = StoredBallots::from_rows(&ids(&["b", "a"]), rows());
        let csv = s.to_elekto_csv("seed-1");
        assert_eq!(csv, s.to_elekto_csv("seed-1"));
        assert!(csv.starts_with("a,b,gone\n"));
        assert!(csv.ends_with('\n') && !csv.contains('\r'));
        let mut lines: Vec<&str> = csv.lines().skip(1).collect();
        lines.sort();
        assert_eq!(
            lines,
            vec![
                "1,No opinion,2",
                "2,1,No opinion",
                "No opinion,No opinion,No opinion"
            ]
        );
        // Some seed orders the lines differently: the order comes from the seed only.
        let orders: BTreeSet<String> = (0..20).map(|i| s.to_elekto_csv(&format!("s{i}"))).collect();
        assert!(orders.len() > 1);
        // Readable back (the stale column included).
        let p = parse_elekto_csv(&csv).unwrap();
        assert_eq!(p.candidates(), &["a", "b", "gone"]);
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let s = StoredBallots::from_rows(
            &ids(&["x,y", "q\"", "plain"]),
            vec![("u", "x,y", Some(1i64))],
        );
        let csv = s.to_elekto_csv("");
        assert_eq!(csv.lines().next().unwrap(), "plain,\"q\"\"\",\"x,y\"");
        assert_eq!(
            parse_elekto_csv(&csv).unwrap().candidates(),
            &["plain", "q\"", "x,y"]
        );
    }

    #[test]
    fn markdown_draft_has_everything() {
        let s = StoredBallots::from_rows(&ids(&["a", "b", "c"]), {
            let mut r = Vec::new();
            for (u, ranks) in [("1", [1, 1, 2]), ("2", [1, 1, 2])] {
                for (c, rank) in ["a", "b", "c"].iter().zip(ranks) {
                    r.push((u, *c, Some(rank as i64)));
                }
            }
            r
        });
        let o = count(&s.profile(), &CountOptions::new(Method::Schulze, 1)).unwrap();
        let mut names = HashMap::new();
        names.insert("a".to_owned(), "Alice A".to_owned());
        let csv = s.to_elekto_csv("z");
        let info = MarkdownInfo {
            title: "Test *election*",
            names,
            turnout: Some((2, Some(4))),
            ballots_file: Some(("ballots.csv", sha256_hex(csv.as_bytes()), Some("z"))),
            ..MarkdownInfo::default()
        };
        let md = results_markdown(&o, &info);
        assert!(md.starts_with("# Results: Test \\*election\\*\n"), "{md}");
        assert!(
            md.contains("**Tie:** 1 remaining seat(s) between Alice A (`a`), `b`"),
            "{md}"
        );
        assert!(md.contains("| 1 (tie) | Alice A (`a`) / `b` |"), "{md}");
        assert!(md.contains("| 3 | `c` |"), "{md}");
        assert!(md.contains("- Ballots counted: 2"), "{md}");
        assert!(
            md.contains("- Turnout: 2 of 4 eligible voters (50.0%)"),
            "{md}"
        );
        assert!(md.contains(&sha256_hex(csv.as_bytes())), "{md}");
        assert!(md.contains("No Condorcet winner; Smith set"), "{md}");
        assert!(!md.contains("Count sheet"), "{md}");
    }

    #[test]
    fn markdown_draft_has_the_scottish_count_sheet() {
        let mut p = Profile::new(ids(&["a", "b", "c"])).unwrap();
        for (ranks, w) in [
            ([Some(1), Some(2), None], 5),
            ([None, Some(1), None], 1),
            ([None, None, Some(1)], 2),
        ] {
            p.push_ranks(&ranks, w).unwrap();
        }
        let o = count(&p, &CountOptions::new(Method::StvScottish, 2)).unwrap();
        let md = results_markdown(
            &o,
            &MarkdownInfo {
                title: "t",
                ..MarkdownInfo::default()
            },
        );
        assert!(md.contains("## Count sheet"), "{md}");
        assert!(
            md.contains(
                "| Stage | Action | `a` | `b` | `c` | Non-transferable | Loss (truncation) |"
            ),
            "{md}"
        );
        // 8 valid papers, quota floor(8/3) + 1 = 3; a has 5, surplus 2 at 2/5 = 0.4 to b.
        assert!(md.contains("| 1 | first preferences | 5.00000 (elected) | 1.00000 | 2.00000 | 0.00000 | 0.00000 |"), "{md}");
        assert!(
            md.contains("| 2 | surplus of `a` | 3.00000 | 3.00000 (elected) | 2.00000 |"),
            "{md}"
        );
        assert!(
            md.contains("- Stage 2: transfer value(s) 0.40000; `a` -2.00000, `b` +2.00000"),
            "{md}"
        );
        assert!(md.contains("rule 47"), "{md}");
    }
}
