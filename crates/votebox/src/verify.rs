//! `votebox verify BOARD`: recount a downloaded ballot board, offline, and check a published
//! `results.md` draft or a receipt against it (no database, server or network).
//!
//! Exit status: 0 when everything checked holds; 1 when the draft differs from the recount or
//! the receipt is not on the board (each difference is printed); 2 when a file cannot be read
//! or the board is malformed (the message names the line).

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use anyhow::anyhow;
use votebox_core::count::Outcome;
use votebox_core::results::{method_label, tier_labels, unranked_label};
use votebox_core::verify::{Board, Receipt, check_draft};

use crate::cli::VerifyArgs;
use crate::config::ConfigError;
use crate::error::Error;

fn usage(file: &Path, problem: impl Into<String>) -> Error {
    Error::Config(ConfigError::new(file.display().to_string(), problem))
}

/// A text file, or standard input for `-`.
fn read_text(file: &Path) -> Result<String, Error> {
    let mut bytes = Vec::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(file).map(|b| bytes = b)
    };
    read.map_err(|e| usage(file, format!("cannot be read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        usage(file, format!("line {line}: not UTF-8 text"))
    })
}

/// Runs `votebox verify`, printing the recount and every check on stdout.
pub fn run(args: &VerifyArgs) -> Result<(), Error> {
    let text = read_text(&args.board)?;
    let mut board = Board::parse(&text).map_err(|e| usage(&args.board, e.to_string()))?;
    drop(text);
    let sha256 = board.sha256();
    apply_overrides(&mut board, args);
    let outcome = board
        .count()
        .map_err(|e| usage(&args.board, format!("cannot be counted: {e}")))?;
    print!("{}", report(&board, &sha256, &outcome, &args.board));

    let mut failures = Vec::new();
    if let Some(code) = &args.receipt {
        let receipt: Receipt = code
            .parse()
            .map_err(|e| Error::Config(ConfigError::new("--receipt", format!("{e}"))))?;
        match board.find(&receipt) {
            Some(entry) => println!(
                "\nReceipt {receipt} is on the board: {}",
                board.ranking(entry)
            ),
            None => {
                println!("\nReceipt {receipt} is NOT on the board.");
                failures.push(format!("receipt {receipt} is not on the board"));
            }
        }
    }
    if let Some(file) = &args.results {
        let md = read_text(file)?;
        let differences = check_draft(&md, &board, &outcome);
        if differences.is_empty() {
            println!(
                "\n{}: winners, ranking, ballot count and board SHA-256 match the recount.",
                file.display()
            );
        } else {
            println!("\n{}: {} difference(s):", file.display(), differences.len());
            for d in &differences {
                println!("  {d}");
            }
            failures.push(format!(
                "{} differs from the recount in {} place(s)",
                file.display(),
                differences.len()
            ));
        }
    }
    match failures.is_empty() {
        true => Ok(()),
        false => Err(Error::Failed(anyhow!(failures.join("; ")))),
    }
}

/// The counting options given on the command line replace the board's.
fn apply_overrides(board: &mut Board, args: &VerifyArgs) {
    if let Some(m) = args.method {
        board.method = m;
    }
    if let Some(u) = args.unranked {
        board.unranked = u;
    }
    if let Some(s) = args.seats {
        board.seats = s;
    }
    if let Some(seed) = &args.tie_break_seed {
        board.tie_break_seed = Some(seed.clone());
    }
}

/// The recount, for people.
fn report(board: &Board, sha256: &str, o: &Outcome, file: &Path) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Board:      {} ({} ballots)",
        file.display(),
        board.len()
    );
    let _ = writeln!(s, "SHA-256:    {sha256}");
    let _ = writeln!(s, "Election:   {}", board.election);
    let _ = writeln!(s, "Method:     {} ({})", method_label(o.method), o.method);
    let _ = writeln!(s, "Unranked:   {}", unranked_label(o.unranked));
    let _ = writeln!(s, "Seats:      {}", o.seats);
    if let Some(tb) = &o.tie_break {
        let _ = writeln!(
            s,
            "Tie-break:  seed {:?}, order {} ({})",
            tb.seed.as_deref().unwrap_or(""),
            tb.order.join(" > "),
            if tb.used { "used" } else { "not needed" }
        );
    }
    if !board.not_counted.is_empty() {
        let _ = writeln!(
            s,
            "Not counted: {} (no longer candidates)",
            board.not_counted.join(", ")
        );
    }
    let _ = writeln!(s, "\nRanking (rank = 1 + candidates ranked above):");
    for (label, tier) in tier_labels(o).iter().zip(&o.ranking) {
        let tie = if tier.len() > 1 { "  (tie)" } else { "" };
        let _ = writeln!(s, "  {label:>3}  {}{tie}", tier.join(", "));
    }
    let _ = writeln!(s, "\nWinners:    {}", o.winners.join(", "));
    if !o.ties_at_last_seat.is_empty() {
        let _ = writeln!(
            s,
            "TIE:        {} seat(s) left for {} (not decided)",
            o.seats.saturating_sub(o.winners.len()),
            o.ties_at_last_seat.join(", ")
        );
    }
    s
}
