#!/usr/bin/env bash
# Counting benchmark (not a test; issue 4 item 7): a ballots.csv of 1,000,000 ballots x 20
# candidates on disk, counted by the release `votebox tally` with Schulze and with STV (Meek,
# 5 seats). Prints end-to-end wall time and peak memory (/usr/bin/time -v) of each run, then
# the counting core alone (pairwise matrix, strongest paths, whole count) from
# `examples/bench_count.rs`. Targets: Schulze end to end < 1 s, core (matrix + paths) < 0.3 s.
#   bash benches/count.sh
#   BALLOTS=100000 CANDIDATES=10 bash benches/count.sh
# The generated file is kept in $BENCH_DIR (default: the system temp dir) and reused.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ballots=${BALLOTS:-1000000}
candidates=${CANDIDATES:-20}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}}
file=$dir/votebox-bench-${ballots}x${candidates}.csv
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --release -q -p votebox --bin votebox --example bench_count
cargo build --release -q -p votebox-core --example bench_stv
bin=$CARGO_TARGET_DIR/release/votebox
helper=$CARGO_TARGET_DIR/release/examples/bench_count

if [ ! -s "$file" ]; then
  "$CARGO_TARGET_DIR/release/examples/bench_stv" gen-csv "$file" "$ballots" "$candidates"
fi
printf 'input: %s (%s MB)\n' "$file" "$(( $(stat -c %s "$file") / 1000000 ))"

run() {
  local label=$1; shift
  local log
  log=$(mktemp)
  "$bin" tally "$file" "$@" --format json >/dev/null 2>"$log.err" &&
    /usr/bin/time -v "$bin" tally "$file" "$@" --format json 2>"$log" >/dev/null
  local wall rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
  printf '%-22s end to end %s (m:ss), peak memory %s MB\n' "$label" "$wall" "$(( rss / 1024 ))"
  rm -f "$log" "$log.err"
}

run "schulze" --method schulze
run "stv-meek, 5 seats" --method stv-meek --seats 5
"$helper" core "$file"
