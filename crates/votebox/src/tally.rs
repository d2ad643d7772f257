//! `votebox tally FILE`: count a ballots file offline (no database, no server, no network).
//!
//! Input: Elekto's `ballots.csv`, BLT, PrefLib (`.soc` `.soi` `.toc` `.toi`) or ABIF, detected
//! from the content. Output (stdout): `text` (for people), `json` (for scripts: the whole count,
//! with `ranking` = tiers of IDs best first, `winners`, `ties_at_last_seat`, `pairwise`, …) or
//! `markdown` (a `results.md` draft quoting the file's SHA-256). A bad file is a usage error
//! (exit status 2) naming the line and column. For large files, progress goes to stderr when it
//! is a terminal.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Read as _};
use std::path::Path;
use std::time::Duration;

use votebox_core::count::formats::{ParsedBallots, parse_auto_as};
use votebox_core::count::{CountOptions, Method, Outcome, TieBreak, count};
use votebox_core::results::{
    MarkdownInfo, is_condorcet_method, method_label, results_markdown, sha256_hex, tier_labels,
    unranked_label,
};

use crate::cli::{TallyArgs, TallyFormat};
use crate::config::ConfigError;
use crate::error::Error;

/// Files at least this big show progress on a terminal.
const PROGRESS_BYTES: u64 = 4 * 1024 * 1024;

/// Progress on stderr (a spinner with the current step), only for a terminal and big input.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(size: u64) -> Progress {
        if size < PROGRESS_BYTES || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress(Some(bar))
    }

    fn step(&self, msg: String) {
        if let Some(b) = &self.0 {
            b.set_message(msg);
        }
    }

    fn done(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

fn usage(file: &Path, problem: impl Into<String>) -> Error {
    Error::Config(ConfigError::new(file.display().to_string(), problem))
}

fn read_input(file: &Path) -> std::io::Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        Ok(buf)
    } else {
        std::fs::read(file)
    }
}

/// Runs `votebox tally`, printing the result on stdout.
pub fn run(args: &TallyArgs) -> Result<(), Error> {
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let progress = Progress::new(size);
    progress.step(format!(
        "reading {} ({:.1} MB)",
        args.file.display(),
        size as f64 / 1e6
    ));
    let bytes =
        read_input(&args.file).map_err(|e| usage(&args.file, format!("cannot be read: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&valid[start..]).chars().count() + 1;
        usage(
            &args.file,
            format!("line {line}, column {column}: not UTF-8 text"),
        )
    })?;
    progress.step("parsing ballots".to_owned());
    // The file's SHA-256 (quoted in the output) is computed while the ballots are parsed.
    let (sha, parsed) = std::thread::scope(|scope| {
        let sha = scope.spawn(|| sha256_hex(&bytes));
        let parsed = parse_auto_as(text, args.method.ballot_kind());
        let sha = sha.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (sha, parsed)
    });
    let parsed = parsed.map_err(|e| usage(&args.file, e.to_string()))?;
    drop(bytes);
    let seats = args.seats.or(parsed.seats).unwrap_or(1);
    let mut opts = CountOptions::new(args.method, seats).with_unranked(args.unranked);
    if let Some(seed) = &args.tie_break_seed {
        opts = opts.with_tie_break(TieBreak::from_seed(seed));
    }
    progress.step(format!(
        "counting {} ballots with {}",
        parsed.profile.num_ballots(),
        args.method
    ));
    let outcome = count(&parsed.profile, &opts).map_err(|e| usage(&args.file, e.to_string()))?;
    progress.done();
    let out = match args.format {
        TallyFormat::Json => json(&outcome, &parsed, &args.file, &sha),
        TallyFormat::Markdown => markdown(&outcome, &parsed, &args.file, &sha),
        TallyFormat::Text => text_report(&outcome, &parsed, &args.file),
    };
    print!("{out}");
    Ok(())
}

fn file_name(file: &Path) -> String {
    file.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stdin".to_owned())
}

fn json(o: &Outcome, p: &ParsedBallots, file: &Path, sha: &str) -> String {
    let mut v = serde_json::to_value(o).expect("an outcome always serialises");
    if let Some(map) = v.as_object_mut() {
        let names: serde_json::Map<String, serde_json::Value> = p
            .profile
            .candidates()
            .iter()
            .zip(&p.names)
            .map(|(id, n)| (id.clone(), serde_json::Value::String(n.clone())))
            .collect();
        map.insert("names".to_owned(), names.into());
        map.insert(
            "input".to_owned(),
            serde_json::json!({
                "file": file.display().to_string(),
                "format": p.format.as_str(),
                "sha256": sha,
                "title": p.title,
            }),
        );
    }
    let mut s = serde_json::to_string_pretty(&v).expect("JSON values always serialise");
    s.push('\n');
    s
}

fn markdown(o: &Outcome, p: &ParsedBallots, file: &Path, sha: &str) -> String {
    let name = file_name(file);
    let title = p.title.clone().unwrap_or_else(|| name.clone());
    let info = MarkdownInfo {
        title: &title,
        names: p
            .profile
            .candidates()
            .iter()
            .cloned()
            .zip(p.names.iter().cloned())
            .collect(),
        turnout: None,
        ballots_file: Some((&name, sha.to_owned(), None)),
        stale: &[],
        board_sha256: None,
        notes: vec![format!(
            "Counted offline with `votebox tally` {} (format {}).",
            env!("CARGO_PKG_VERSION"),
            p.format
        )],
    };
    results_markdown(o, &info)
}

fn text_report(o: &Outcome, p: &ParsedBallots, file: &Path) -> String {
    let ids = p.profile.candidates();
    let name_of = |id: &str| -> String {
        match ids.iter().position(|c| c == id).map(|i| &p.names[i]) {
            Some(n) if n != id => format!("{id} ({n})"),
            _ => id.to_owned(),
        }
    };
    let mut s = String::new();
    let _ = writeln!(s, "File:       {} ({})", file.display(), p.format);
    if let Some(t) = &p.title {
        let _ = writeln!(s, "Title:      {t}");
    }
    let _ = writeln!(s, "Method:     {} ({})", method_label(o.method), o.method);
    if o.method == Method::Star {
        let _ = writeln!(s, "Ballots:    scores 0 to 5 stars (a blank is 0 stars)");
    } else {
        let _ = writeln!(s, "Unranked:   {}", unranked_label(o.unranked));
    }
    let _ = writeln!(s, "Ballots:    {}", o.ballots);
    let _ = writeln!(s, "Candidates: {}", ids.len());
    let _ = writeln!(s, "Seats:      {}", o.seats);
    let _ = writeln!(s, "\nRanking (rank = 1 + candidates ranked above):");
    for (label, tier) in tier_labels(o).iter().zip(&o.ranking) {
        let names: Vec<String> = tier.iter().map(|c| name_of(c)).collect();
        let tie = if tier.len() > 1 { "  (tie)" } else { "" };
        let _ = writeln!(s, "  {label:>3}  {}{tie}", names.join(", "));
    }
    let winners: Vec<String> = o.winners.iter().map(|c| name_of(c)).collect();
    let _ = writeln!(s, "\nWinners:    {}", winners.join(", "));
    if !o.ties_at_last_seat.is_empty() {
        let tied: Vec<String> = o.ties_at_last_seat.iter().map(|c| name_of(c)).collect();
        let _ = writeln!(
            s,
            "TIE:        {} seat(s) left for {} (not decided; see --tie-break-seed)",
            o.seats.saturating_sub(o.winners.len()),
            tied.join(", ")
        );
    }
    if is_condorcet_method(o.method) {
        let _ = writeln!(
            s,
            "Condorcet winner: {}",
            o.condorcet_winner
                .as_deref()
                .map_or("none".to_owned(), name_of)
        );
        let _ = writeln!(s, "Smith set:  {}", o.smith_set.join(", "));
        if let Some(d) = &o.pairwise
            && ids.len() <= 30
        {
            let _ = writeln!(s, "\nPairwise (ballots ranking row over column):");
            let w = ids.iter().map(|c| c.chars().count()).max().unwrap_or(1);
            let cw = d
                .to_rows()
                .iter()
                .flatten()
                .map(|v| v.to_string().len())
                .max()
                .unwrap_or(1)
                .max(3);
            let _ = write!(s, "  {:w$}", "");
            for i in 0..ids.len() {
                let _ = write!(s, " {:>cw$}", format!("#{}", i + 1));
            }
            s.push('\n');
            for (x, id) in ids.iter().enumerate() {
                let _ = write!(s, "  {id:w$}");
                for y in 0..ids.len() {
                    if x == y {
                        let _ = write!(s, " {:>cw$}", "-");
                    } else {
                        let _ = write!(s, " {:>cw$}", d.get(x, y));
                    }
                }
                let _ = writeln!(s, "   #{}", x + 1);
            }
        }
    }
    for seat in &o.star {
        let _ = writeln!(
            s,
            "\nSTAR seat {}: scoring round (total stars, five-star ratings):",
            seat.seat
        );
        for t in &seat.totals {
            let mark = if seat.finalists.contains(&t.candidate) {
                "  finalist"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "  {:>8}  {:>6}  {}{mark}",
                t.stars,
                t.five_stars,
                name_of(&t.candidate)
            );
        }
        if let Some(r) = &seat.runoff {
            let _ = writeln!(
                s,
                "  Runoff: {} preferred on {}, {} preferred on {}, no preference {}",
                name_of(&r.first),
                r.prefer_first,
                name_of(&r.second),
                r.prefer_second,
                r.no_preference
            );
        }
        for step in &seat.steps {
            let _ = writeln!(s, "  {step}");
        }
        let _ = writeln!(
            s,
            "  Elected: {}",
            seat.winner
                .as_deref()
                .map_or("undecided (tie)".to_owned(), name_of)
        );
    }
    for t in &o.ties {
        let _ = writeln!(
            s,
            "Tie: {:?} {:?} between {}",
            t.kind,
            t.resolution,
            t.candidates.join(", ")
        );
    }
    if let Some(tb) = &o.tie_break {
        let _ = writeln!(
            s,
            "Tie-break: seed {:?}, order {}, {}",
            tb.seed.as_deref().unwrap_or(""),
            tb.order.join(" > "),
            if tb.used { "used" } else { "not needed" }
        );
    }
    for l in &o.log {
        let _ = writeln!(s, "Note: {l}");
    }
    s
}
