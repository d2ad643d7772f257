//! Helper of `benches/count.sh` (issue 4 item 7): times the counting core on a large Elekto
//! `ballots.csv` (written by `votebox-core`'s `bench_stv gen-csv`).
//!
//! ```text
//! cargo run --release -p votebox --example bench_count -- core FILE
//! ```
//!
//! `core`: parses the file (timed), then times the counting core on the parsed profile:
//! pairwise matrix, strongest paths, and the whole Schulze count (median of 5 runs each).

use std::time::{Duration, Instant};

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
        ["core", file] => core(file),
        _ => {
            eprintln!("usage: bench_count core FILE");
            std::process::exit(2);
        }
    }
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
