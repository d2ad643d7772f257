//! Sizing the ballot KDF limit from the machine, and the hidden `votebox bench-kdf` command.
//!
//! Each cast, view or revoke runs one Argon2i with 512 MiB (Elekto's parameters). The web layer
//! allows `VOTEBOX_KDF_CONCURRENCY` of them at once; unset, [`default_concurrency`] picks
//! `max(1, min(cores, available memory / 768 MiB))`, where available memory is `MemAvailable`
//! from `/proc/meminfo`, capped by the cgroup v2 limit (`memory.max - memory.current`) when the
//! process runs in a container with one.

use std::time::Instant;

use crate::cli::BenchKdfArgs;
use crate::error::Error;

/// `max(1, min(cores, available memory / 768 MiB))`; see the module docs.
pub fn default_concurrency() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = available_memory().unwrap_or(0);
    let n = votebox_web::kdf_concurrency_for(cores, memory);
    tracing::debug!(
        cores,
        available_memory_mib = memory / (1024 * 1024),
        kdf_concurrency = n,
        "ballot KDF concurrency (set VOTEBOX_KDF_CONCURRENCY to override)"
    );
    n
}

/// Bytes of memory available to this process, if it can be read.
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok();
    let host = meminfo.as_deref().and_then(mem_available);
    let cgroup = cgroup_headroom();
    match (host, cgroup) {
        (Some(h), Some(c)) => Some(h.min(c)),
        (h, c) => h.or(c),
    }
}

/// `MemAvailable` of a `/proc/meminfo` text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix("MemAvailable:")?;
        let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    })
}

/// `memory.max - memory.current` of this process's cgroup v2, when a limit is set.
fn cgroup_headroom() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let max: u64 = std::fs::read_to_string(dir.join("memory.max"))
        .ok()?
        .trim()
        .parse()
        .ok()?; // "max" (no limit) does not parse
    let current: u64 = std::fs::read_to_string(dir.join("memory.current"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    Some(max.saturating_sub(current))
}

/// `votebox bench-kdf`: times the ballot KDF (Argon2i, t=8, 512 MiB, as Elekto) with every
/// implementation built in, and prints the figures.
pub fn bench(args: &BenchKdfArgs) -> Result<(), Error> {
    use votebox_core::crypto::{self, Argon2i};
    let runs = args.runs.max(1);
    let salt = crypto::random_salt();
    for &implementation in Argon2i::BUILT_IN {
        let default = if implementation == Argon2i::DEFAULT {
            " (used for ballots)"
        } else {
            ""
        };
        println!("{}{default}:", implementation.name());
        let mut times = Vec::with_capacity(runs);
        for i in 1..=runs {
            let start = Instant::now();
            let key = crypto::derive_key_with(implementation, b"votebox bench passphrase", &salt)
                .map_err(|e| Error::Failed(anyhow::anyhow!("KDF failed: {e}")))?;
            let secs = start.elapsed().as_secs_f64();
            drop(key);
            println!("  kdf run {i}: {secs:.3} s");
            times.push(secs);
        }
        let best = times.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!("  kdf best: {best:.3} s");
        println!("  kdf mean: {mean:.3} s");
    }
    println!(
        "kdf concurrency default here: {} (cores {}, available memory {} MiB)",
        default_concurrency(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        available_memory().unwrap_or(0) / (1024 * 1024)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mem_available() {
        let text = "MemTotal:       24588036 kB\nMemFree:        16000000 kB\nMemAvailable:   23068672 kB\n";
        assert_eq!(mem_available(text), Some(23_068_672 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn default_is_at_least_one() {
        assert!(default_concurrency() >= 1);
    }
}
