//! Helper of `benches/count.sh` (issue 4 item 7): writes a large Elekto `ballots.csv`, and
//! times the counting core on it.
//!
//! ```text
//! cargo run --release -p votebox --example bench_count -- gen FILE BALLOTS CANDIDATES
//! cargo run --release -p votebox --example bench_count -- core FILE
//! ```
//!
//! `gen`: every voter scores each candidate as the candidate's popularity plus personal noise
//! and ranks by score; about 10% leave their last few candidates at "No opinion" and about 5%
//! give two candidates the same rank (deterministic: fixed seed).
//!
//! `core`: parses the file (timed), then times the counting core on the parsed profile:
//! pairwise matrix, strongest paths, and the whole Schulze count (median of 5 runs each).

use std::io::{BufWriter, Write as _};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use votebox_core::count::{
    CountOptions, Method, Strength, Unranked, count, pairwise_matrix, parse_elekto_csv,
    strongest_paths,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen", file, n, m] => generate(
            file,
            n.parse().expect("BALLOTS is a number"),
            m.parse().expect("CANDIDATES is a number"),
        ),
        ["core", file] => core(file),
        _ => {
            eprintln!("usage: bench_count gen FILE BALLOTS CANDIDATES | bench_count core FILE");
            std::process::exit(2);
        }
    }
}

fn generate(file: &str, n: usize, m: usize) {
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

fn median(mut f: impl FnMut() -> Duration) -> Duration {
    let mut runs: Vec<Duration> = (0..5).map(|_| f()).collect();
    runs.sort();
    runs[2]
}

fn core(file: &str) {
    let t = Instant::now();
    let text = std::fs::read_to_string(file).expect("read");
    let read = t.elapsed();
    let t = Instant::now();
    let profile = parse_elekto_csv(&text).expect("parse");
    let parse = t.elapsed();
    println!(
        "input: {} ballots x {} candidates; read {:.3} s, parse {:.3} s",
        profile.num_ballots(),
        profile.num_candidates(),
        read.as_secs_f64(),
        parse.as_secs_f64()
    );
    let pairwise = median(|| {
        let t = Instant::now();
        std::hint::black_box(pairwise_matrix(&profile, Unranked::NoOpinion));
        t.elapsed()
    });
    let d = pairwise_matrix(&profile, Unranked::NoOpinion);
    let paths = median(|| {
        let t = Instant::now();
        std::hint::black_box(strongest_paths(&d, Strength::WinningVotes));
        t.elapsed()
    });
    let schulze = median(|| {
        let t = Instant::now();
        std::hint::black_box(count(&profile, &CountOptions::new(Method::Schulze, 5)).unwrap());
        t.elapsed()
    });
    println!(
        "core (median of 5): pairwise matrix {:.3} s, strongest paths {:.6} s, whole Schulze count {:.3} s",
        pairwise.as_secs_f64(),
        paths.as_secs_f64(),
        schulze.as_secs_f64()
    );
    let t = Instant::now();
    let stv = count(&profile, &CountOptions::new(Method::StvMeek, 5)).unwrap();
    println!(
        "core: whole STV (Meek) count, 5 seats: {:.3} s (winners {})",
        t.elapsed().as_secs_f64(),
        stv.winners.join(", ")
    );
}
