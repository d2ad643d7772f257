//! `votebox audit verify`: checks audit chains offline, from an exported log (JSON lines) or
//! from the database, where the ballots are also compared with those recorded when voting
//! closed. One line per election on stdout; the first broken link is named. Format and rules:
//! `votebox_core::audit`.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use votebox_core::audit::{self, BallotsDigest, Entry, Head, ballots_digest, parse_json_lines};
use votebox_core::verify::Board;
use votebox_db::Db;

use crate::cli::AuditVerifyArgs;
use crate::config::ConfigError;
use crate::error::Error;

/// What was found wrong with one election.
#[derive(Debug, Default)]
struct Findings {
    problems: Vec<String>,
}

/// `SEQ:HASH`.
fn parse_head(text: &str) -> Result<Head, ConfigError> {
    let bad = || ConfigError::new("--head", format!("expected SEQ:HASH, got {text:?}"));
    let (seq, hash) = text.split_once(':').ok_or_else(bad)?;
    let seq: i64 = seq.trim().parse().map_err(|_| bad())?;
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(Head { seq, hash })
}

/// Verifies one chain and prints its line; returns what is wrong.
fn check_chain(key: &str, entries: &[Entry], anchor: Option<&Head>) -> Findings {
    let mut f = Findings::default();
    match audit::verify(key, entries) {
        Ok(head) => {
            let head_text = head.as_ref().map_or("none".to_owned(), Head::to_string);
            println!(
                "{key}: {} entries, chain intact, head {head_text}",
                entries.len()
            );
        }
        Err(broken) => {
            println!("{key}: BROKEN: {broken}");
            f.problems.push(format!("{key}: {broken}"));
        }
    }
    if let Some(anchor) = anchor {
        match entries.iter().find(|e| e.seq == anchor.seq) {
            Some(e) if e.hash == anchor.hash => {
                println!("{key}: holds the quoted head {anchor}");
            }
            Some(e) => {
                let problem = format!(
                    "{key}: entry {} has hash {}, not the quoted {} (the chain was rewritten)",
                    anchor.seq, e.hash, anchor.hash
                );
                println!("{key}: NOT ANCHORED: {problem}");
                f.problems.push(problem);
            }
            None => {
                let problem = format!(
                    "{key}: no entry {} (the quoted head): entries were removed from the end",
                    anchor.seq
                );
                println!("{key}: NOT ANCHORED: {problem}");
                f.problems.push(problem);
            }
        }
    }
    f
}

/// Compares the ballots stored now with those the last `voting_closed` recorded.
fn check_ballots(key: &str, entries: &[Entry], now: &BallotsDigest) -> Findings {
    let mut f = Findings::default();
    let Some(close) = audit::last_close(entries) else {
        println!("{key}: voting not recorded as closed; ballots not compared");
        return f;
    };
    match close.recorded_ballots() {
        Some(then) if then == *now => println!(
            "{key}: ballots match those recorded at close (entry {}: {} ballots, SHA-256 {})",
            close.seq, then.ballots, then.sha256
        ),
        Some(then) => {
            let problem = format!(
                "{key}: ballots changed after the close: entry {} recorded {} ballots, SHA-256 {}; \
                 the database now holds {} ballots, SHA-256 {}",
                close.seq, then.ballots, then.sha256, now.ballots, now.sha256
            );
            println!("{key}: BALLOTS CHANGED: {problem}");
            f.problems.push(problem);
        }
        None => {
            let problem = format!("{key}: entry {} records no ballots", close.seq);
            println!("{key}: BROKEN: {problem}");
            f.problems.push(problem);
        }
    }
    f
}

/// Reads `--board`: (election key, SHA-256 of its canonical CSV).
fn read_board(args: &AuditVerifyArgs) -> Result<Option<(String, String)>, Error> {
    let Some(path) = &args.board else {
        return Ok(None);
    };
    let usage = |problem: String| ConfigError::new(path.display().to_string(), problem);
    let text = std::fs::read_to_string(path).map_err(|e| usage(format!("cannot be read: {e}")))?;
    let board = Board::parse(&text).map_err(|e| usage(e.to_string()))?;
    Ok(Some((board.election.clone(), board.sha256())))
}

/// Compares a board's SHA-256 with the one the chain recorded at close.
fn check_board(key: &str, entries: &[Entry], board_sha256: &str) -> Findings {
    let mut f = Findings::default();
    let recorded = audit::last_close(entries).and_then(Entry::recorded_board_sha256);
    match recorded {
        Some(then) if then == board_sha256 => {
            println!("{key}: the board is the one recorded at close (SHA-256 {then})");
        }
        Some(then) => {
            let problem = format!(
                "{key}: the board's SHA-256 is {board_sha256}, not {then} as recorded at close"
            );
            println!("{key}: BOARD CHANGED: {problem}");
            f.problems.push(problem);
        }
        None => {
            let problem = format!("{key}: the chain records no board at close");
            println!("{key}: NO BOARD: {problem}");
            f.problems.push(problem);
        }
    }
    f
}

fn outcome(problems: Vec<String>, elections: usize) -> Result<(), Error> {
    if elections == 0 {
        return Err(Error::Failed(anyhow!("no audit chain to verify")));
    }
    match problems.len() {
        0 => Ok(()),
        n => Err(Error::Failed(anyhow!(
            "audit verification failed ({n} problem(s)): {}",
            problems.join("; ")
        ))),
    }
}

/// `votebox audit verify FILE`.
pub fn verify_file(args: &AuditVerifyArgs) -> Result<(), Error> {
    let file = args.file.as_deref().unwrap_or(Path::new("-"));
    let anchor = args.head.as_deref().map(parse_head).transpose()?;
    let usage = |problem: String| ConfigError::new(file.display().to_string(), problem);
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| usage(format!("cannot be read: {e}")))?;
    let lines = parse_json_lines(&text).map_err(|e| usage(e.to_string()))?;
    let board = read_board(args)?;
    // Chains in the order their first line appears; each chain's entries in file order.
    let mut chains: Vec<(String, Vec<Entry>)> = Vec::new();
    for (key, entry) in lines {
        if args.election.as_ref().is_some_and(|k| *k != key) {
            continue;
        }
        match chains.iter_mut().find(|(k, _)| *k == key) {
            Some((_, entries)) => entries.push(entry),
            None => chains.push((key, vec![entry])),
        }
    }
    let mut problems = Vec::new();
    for (key, entries) in &chains {
        problems.extend(check_chain(key, entries, anchor.as_ref()).problems);
        if let Some((board_key, sha)) = &board
            && board_key == key
        {
            problems.extend(check_board(key, entries, sha).problems);
        }
    }
    if let Some((board_key, _)) = &board
        && !chains.iter().any(|(k, _)| k == board_key)
    {
        problems.push(format!(
            "the board is of {board_key:?}, which the log does not hold"
        ));
    }
    outcome(problems, chains.len())
}

/// `votebox audit verify [--database URL]`: every election in the database (or `--election`).
pub async fn verify_database(db: &Db, args: &AuditVerifyArgs) -> Result<(), Error> {
    let anchor = args.head.as_deref().map(parse_head).transpose()?;
    let board = read_board(args)?;
    let rows = votebox_db::elections::list(db)
        .await
        .context("cannot list the elections")?;
    let mut problems = Vec::new();
    let mut checked = 0;
    for row in rows {
        if args.election.as_ref().is_some_and(|k| *k != row.key) {
            continue;
        }
        checked += 1;
        let entries = votebox_db::audit::entries(db, row.id)
            .await
            .with_context(|| format!("cannot read the audit chain of {}", row.key))?;
        problems.extend(check_chain(&row.key, &entries, anchor.as_ref()).problems);
        let ballots = votebox_db::ballots::all_for_election(db, row.id)
            .await
            .with_context(|| format!("cannot read the ballots of {}", row.key))?;
        let now = ballots_digest(
            ballots
                .iter()
                .map(|(v, c, r)| (v.as_str(), c.as_str(), r.map(i64::from))),
        );
        problems.extend(check_ballots(&row.key, &entries, &now).problems);
        if let Some((board_key, sha)) = &board
            && *board_key == row.key
        {
            problems.extend(check_board(&row.key, &entries, sha).problems);
        }
    }
    if checked == 0
        && let Some(key) = &args.election
    {
        return Err(Error::Failed(anyhow!(
            "no election {key:?} in the database"
        )));
    }
    outcome(problems, checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse() {
        let h = parse_head(&format!("12:{}", "A".repeat(64))).unwrap();
        assert_eq!((h.seq, h.hash), (12, "a".repeat(64)));
        assert!(parse_head("12").is_err());
        assert!(parse_head("x:00").is_err());
        assert!(parse_head(&format!("1:{}", "g".repeat(64))).is_err());
    }
}
