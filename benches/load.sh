#!/usr/bin/env bash
# Load test (issue 7, item 4), per engine: the real votebox binary (release) on loopback, 500
# voters logging in through the fake GitHub OAuth provider and casting with the real KDF
# (Elekto's Argon2i cost: ~10–15 min per engine on 2 cores, expected), while 8 readers hammer the
# public pages. Prints per engine: casting time, p50/p99/max page latency during casting, cast
# latency, peak kdf_queue_depth, peak RSS, status counts; fails on any 5xx, any voter error, or a
# ballot not stored exactly once (counted in the database and in ballots_cast_total).
#
#   bash benches/load.sh                      # sqlite postgres mysql, 500 voters each
#   ENGINES="postgres" LOAD_VOTERS=100 bash benches/load.sh
#
# Knobs: LOAD_VOTERS (500), LOAD_CONCURRENCY (16 voters casting at a time), LOAD_READERS (8), LOAD_READ_PAUSE_MS (10: each reader's pause between
# requests; 0 = flat out, which starves the KDF on 2 cores), LOAD_DEADLINE_SECONDS (2400 per engine, then it
# fails), ENGINES. PostgreSQL and MariaDB must be up on 127.0.0.1 (bash .ci/run starts them).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/votebox-target}
engines=${ENGINES:-sqlite postgres mysql}
cargo test --release -q -p votebox --test it --no-run
for engine in $engines; do
  cargo test --release -q -p votebox --test it -- --ignored --exact --nocapture "load::load_${engine}"
done
