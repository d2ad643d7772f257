//! Helper of `benches/stv.sh` and `benches/readers.sh` (issue 15 items 3-4): writes large
//! ballot files, and times the readers and the Meek count on them.
//!
//! ```text
//! cargo run --release -p votebox-core --example bench_stv -- gen KIND FILE BALLOTS CANDIDATES SEATS
//! cargo run --release -p votebox-core --example bench_stv -- read FILE
//! cargo run --release -p votebox-core --example bench_stv -- meek FILE SEATS
//! cargo run --release -p votebox-core --example bench_stv -- convert FILE blt|preflib|abif OUT
//! cargo run --release -p votebox-core --example bench_stv -- gen-csv FILE BALLOTS CANDIDATES
//! ```
//!
//! `gen-csv` writes the Elekto CSV that `benches/count.sh` and `benches/readers.sh` count
//! (deterministic: fixed seed).
//!
//! `gen` writes a BLT file in the dialect both votebox and stv-rs read (Droop's `[nick …]`
//! line, ballots by nickname, `=` between equally ranked candidates), one line per voter:
//!
//! * `uniform`: every voter ranks every candidate, in a uniformly random order;
//! * `realistic`: candidates have a popularity (a few clear favourites), every voter ranks by
//!   popularity plus personal noise, stops after a few preferences (on average about 6), and
//!   about 5% of voters rank two neighbours equally.
//!
//! Deterministic (fixed seed). `read` times `parse_auto` on a file; `meek` times the count;
//! `convert` writes the ballots of any file in another format, one line per stored line (so
//! an Elekto CSV becomes a BLT, PrefLib or ABIF file of as many lines, each of weight 1).

use std::io::{BufWriter, Write as _};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use votebox_core::count::formats::parse_auto;
use votebox_core::count::{CountOptions, Method, count};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["gen", kind, file, n, m, seats] => generate(
            kind,
            file,
            n.parse().expect("BALLOTS is a number"),
            m.parse().expect("CANDIDATES is a number"),
            seats.parse().expect("SEATS is a number"),
        ),
        ["read", file] => {
            read(file);
        }
        ["meek", file, seats] => meek(file, seats.parse().expect("SEATS is a number")),
        ["convert", file, format, out] => convert(file, format, out),
        ["gen-csv", file, n, m] => generate_csv(
            file,
            n.parse().expect("BALLOTS is a number"),
            m.parse().expect("CANDIDATES is a number"),
        ),
        _ => {
            eprintln!(
                "usage: bench_stv gen uniform|realistic FILE BALLOTS CANDIDATES SEATS | read FILE | meek FILE SEATS | convert FILE blt|preflib|abif OUT"
            );
            std::process::exit(2);
        }
    }
}

fn generate(kind: &str, file: &str, n: usize, m: usize, seats: usize) {
    let realistic = match kind {
        "uniform" => false,
        "realistic" => true,
        other => panic!("unknown kind {other} (uniform or realistic)"),
    };
    let mut rng = StdRng::seed_from_u64(20_261_204);
    // Popularity falls off quickly: a few favourites, a long tail.
    let popularity: Vec<f64> = (0..m).map(|i| 3.0 / (1.0 + i as f64).sqrt()).collect();
    let nick = |c: usize| format!("c{:02}", c + 1);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(file).expect("create"));
    writeln!(out, "{m} {seats}").expect("write");
    let nicks: Vec<String> = (0..m).map(nick).collect();
    writeln!(out, "[nick {}]", nicks.join(" ")).expect("write");
    let mut order: Vec<usize> = (0..m).collect();
    let mut scored: Vec<(f64, usize)> = Vec::with_capacity(m);
    let mut line = String::with_capacity(8 * m);
    for _ in 0..n {
        let (len, tie_at) = if realistic {
            scored.clear();
            scored.extend((0..m).map(|c| (popularity[c] + rng.random::<f64>() * 2.0, c)));
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            order.clear();
            order.extend(scored.iter().map(|&(_, c)| c));
            // Geometric length, mean about 6, at least 1.
            let mut len = 1;
            while len < m && rng.random_ratio(5, 6) {
                len += 1;
            }
            let tie_at = if len > 1 && rng.random_ratio(1, 20) {
                rng.random_range(1..len)
            } else {
                usize::MAX
            };
            (len, tie_at)
        } else {
            order.shuffle(&mut rng);
            (m, usize::MAX)
        };
        line.clear();
        line.push('1');
        for (pos, &c) in order[..len].iter().enumerate() {
            line.push(if pos == tie_at { '=' } else { ' ' });
            line.push_str(&nicks[c]);
        }
        line.push_str(" 0\n");
        out.write_all(line.as_bytes()).expect("write");
    }
    writeln!(out, "0").expect("write");
    for c in 0..m {
        writeln!(out, "\"Candidate {}\"", c + 1).expect("write");
    }
    writeln!(out, "\"{kind} {n} x {m}\"").expect("write");
    out.flush().expect("flush");
    eprintln!("wrote {n} {kind} ballots x {m} candidates ({seats} seats) to {file}");
}

fn read(file: &str) -> votebox_core::count::formats::ParsedBallots {
    let t = Instant::now();
    let text = std::fs::read_to_string(file).expect("read");
    let read = t.elapsed();
    let t = Instant::now();
    let parsed = parse_auto(&text).expect("parse");
    let parse = t.elapsed();
    println!(
        "{}: {} ballots in {} lines x {} candidates; read {:.3} s, parse {:.3} s ({:.0} MB/s)",
        parsed.format,
        parsed.profile.num_ballots(),
        parsed.profile.num_lines(),
        parsed.profile.num_candidates(),
        read.as_secs_f64(),
        parse.as_secs_f64(),
        text.len() as f64 / 1e6 / parse.as_secs_f64()
    );
    parsed
}

fn meek(file: &str, seats: usize) {
    let parsed = read(file);
    let t = Instant::now();
    let o = count(&parsed.profile, &CountOptions::new(Method::StvMeek, seats)).expect("count");
    println!(
        "meek: {:.3} s, {} rounds, winners {}",
        t.elapsed().as_secs_f64(),
        o.rounds.len(),
        o.winners.join(", ")
    );
}

fn convert(file: &str, format: &str, out_file: &str) {
    let text = std::fs::read_to_string(file).expect("read");
    let parsed = parse_auto(&text).expect("parse");
    drop(text);
    let p = &parsed.profile;
    let m = p.num_candidates();
    let mut out =
        BufWriter::with_capacity(1 << 20, std::fs::File::create(out_file).expect("create"));
    match format {
        "blt" => writeln!(out, "{m} 1"),
        "preflib" => writeln!(
            out,
            "# FILE NAME: {out_file}\n# DATA TYPE: toi\n# NUMBER ALTERNATIVES: {m}"
        )
        .and_then(|()| {
            p.candidates()
                .iter()
                .enumerate()
                .try_for_each(|(i, c)| writeln!(out, "# ALTERNATIVE NAME {}: {c}", i + 1))
        }),
        "abif" => p
            .candidates()
            .iter()
            .enumerate()
            .try_for_each(|(i, c)| writeln!(out, "=c{i}:[{c}]")),
        other => panic!("unknown format {other} (blt, preflib or abif)"),
    }
    .expect("write");
    let mut line = String::new();
    for i in 0..p.num_lines() {
        let (ballot, weight) = p.line(i);
        // Tiers: candidates by rank, best first.
        let mut ranked: Vec<(u32, usize)> = ballot
            .ranks()
            .iter()
            .enumerate()
            .filter_map(|(c, r)| r.map(|r| (r, c)))
            .collect();
        ranked.sort_unstable();
        let mut tiers: Vec<Vec<usize>> = Vec::new();
        let mut prev = None;
        for (r, c) in ranked {
            if prev == Some(r) {
                tiers.last_mut().expect("a tier").push(c);
            } else {
                tiers.push(vec![c]);
                prev = Some(r);
            }
        }
        line.clear();
        let join = |t: &[usize], f: &dyn Fn(usize) -> String, sep: &str| {
            t.iter().map(|&c| f(c)).collect::<Vec<_>>().join(sep)
        };
        match format {
            "blt" => {
                line.push_str(&weight.to_string());
                for t in &tiers {
                    line.push(' ');
                    line.push_str(&join(t, &|c| (c + 1).to_string(), "="));
                }
                line.push_str(" 0");
            }
            "preflib" => {
                let t: Vec<String> = tiers
                    .iter()
                    .map(|t| match t.len() {
                        1 => (t[0] + 1).to_string(),
                        _ => format!("{{{}}}", join(t, &|c| (c + 1).to_string(), ",")),
                    })
                    .collect();
                line.push_str(&format!("{weight}: {}", t.join(",")));
            }
            _ => {
                let t: Vec<String> = tiers
                    .iter()
                    .map(|t| join(t, &|c| format!("c{c}"), "="))
                    .collect();
                line.push_str(&format!("{weight}:{}", t.join(">")));
            }
        }
        writeln!(out, "{line}").expect("write");
    }
    if format == "blt" {
        writeln!(out, "0").expect("write");
        for c in p.candidates() {
            writeln!(out, "\"{c}\"").expect("write");
        }
    }
    out.flush().expect("flush");
    eprintln!(
        "wrote {} lines of {file} as {format} to {out_file}",
        p.num_lines()
    );
}

/// Every voter scores each candidate as the candidate's popularity plus personal noise and
/// ranks by score; about 10% leave their last few candidates at "No opinion" and about 5%
/// give two candidates the same rank.
fn generate_csv(file: &str, n: usize, m: usize) {
    let mut rng = StdRng::seed_from_u64(20_251_004);
    let popularity: Vec<f64> = (0..m).map(|i| 1.0 - i as f64 / m as f64).collect();
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(file).expect("create"));
    let header: Vec<String> = (1..=m).map(|i| format!("candidate-{i:02}")).collect();
    writeln!(out, "{}", header.join(",")).expect("write");
    let mut order: Vec<(f64, usize)> = Vec::with_capacity(m);
    let mut ranks = vec![0usize; m];
    let mut line = String::with_capacity(8 * m);
    for _ in 0..n {
        order.clear();
        order.extend((0..m).map(|c| (popularity[c] + rng.random::<f64>() * 1.5, c)));
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut rank = 0;
        let tie_at = if rng.random_ratio(1, 20) {
            rng.random_range(1..m)
        } else {
            usize::MAX
        };
        for (pos, &(_, c)) in order.iter().enumerate() {
            if pos != tie_at {
                rank += 1;
            }
            ranks[c] = rank;
        }
        let ranked = if rng.random_ratio(1, 10) {
            rng.random_range(1..=m)
        } else {
            m
        };
        line.clear();
        for (c, r) in ranks.iter().enumerate() {
            if c > 0 {
                line.push(',');
            }
            if *r > ranked {
                line.push_str("No opinion");
            } else {
                line.push_str(&r.to_string());
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).expect("write");
    }
    out.flush().expect("flush");
    eprintln!("wrote {n} ballots x {m} candidates to {file}");
}
