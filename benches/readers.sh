#!/usr/bin/env bash
# Ballot readers: speed and memory (issue 15 item 4). Not a test: it prints figures.
#
# The Elekto CSV of benches/count.sh (1,000,000 ballots x 20 candidates, ~58 MB; the same
# file, shared in $BENCH_DIR) and the same ballots written as BLT, PrefLib (toi) and ABIF, one
# line per ballot. For each file, `bench_stv read` parses it ($RUNS times, default 5): parse throughput in MB/s (min and median
# time) and the peak RSS of the whole process (file text + profile), against the targets
# >= 200 MB/s and peak < 3x the input. Then `votebox tally FILE.csv --method schulze`, end
# to end (read, SHA-256, parse, count, JSON; target < 0.25 s), min and median of $RUNS runs.
# Every line ends with the 1-minute load average when it was measured (the machine is shared:
# wall-clock figures under load are pessimistic; peak memory does not depend on the load).
#
#   bash benches/readers.sh
#   BALLOTS=100000 RUNS=3 bash benches/readers.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ballots=${BALLOTS:-1000000}
candidates=${CANDIDATES:-20}
runs=${RUNS:-5}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}}
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --release -q -p votebox --bin votebox
cargo build --release -q -p votebox-core --example bench_stv
bin=$CARGO_TARGET_DIR/release/votebox
helper=$CARGO_TARGET_DIR/release/examples/bench_stv
csv=$dir/votebox-bench-${ballots}x${candidates}.csv
[ -s "$csv" ] || "$helper" gen-csv "$csv" "$ballots" "$candidates" 2>/dev/null
for f in blt preflib abif; do
  [ -s "${csv%.csv}.$f" ] || "$helper" convert "$csv" "$f" "${csv%.csv}.$f" 2>/dev/null
done

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
minimum() { sort -g | head -1; }

load() { cut -d' ' -f1 /proc/loadavg; }

printf '%-10s %8s %12s %12s %10s %10s\n' reader input_MB min_s median_s best_MB/s peak_MB
for f in "$csv" "${csv%.csv}.blt" "${csv%.csv}.preflib" "${csv%.csv}.abif"; do
  bytes=$(stat -c %s "$f")
  times=$(mktemp)
  peak=0
  at_load=$(load)
  for _ in $(seq "$runs"); do
    log=$(mktemp)
    /usr/bin/time -v "$helper" read "$f" >"$log.out" 2>"$log"
    sed -n 's/.*parse \([0-9.]*\) s.*/\1/p' "$log.out" >>"$times"
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    (( kb > peak )) && peak=$kb
    format=$(cut -d: -f1 "$log.out")
    rm -f "$log" "$log.out"
  done
  min=$(minimum <"$times")
  med=$(median <"$times")
  printf '%-10s %8.1f %12s %12s %10.0f %10.0f   (peak %.2fx input; load %s)\n' "$format" \
    "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" "$min" "$med" \
    "$(awk -v b="$bytes" -v t="$min" 'BEGIN { print b / 1e6 / t }')" \
    "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" \
    "$(awk -v k="$peak" -v b="$bytes" 'BEGIN { print k * 1024 / b }')" "$at_load"
  rm -f "$times"
done

times=$(mktemp)
peak=0
at_load=$(load)
for _ in $(seq "$runs"); do
  log=$(mktemp)
  /usr/bin/time -f '%e %M' "$bin" tally "$csv" --method schulze --format json >/dev/null 2>"$log"
  tail -1 "$log" | cut -d' ' -f1 >>"$times"
  kb=$(tail -1 "$log" | cut -d' ' -f2)
  (( kb > peak )) && peak=$kb
  rm -f "$log"
done
printf 'votebox tally %s --method schulze: end to end min %s s, median %s s, peak %d MB (%.2fx input; load %s)\n' \
  "$(basename "$csv")" "$(minimum <"$times")" "$(median <"$times")" "$(( peak / 1024 ))" \
  "$(awk -v k="$peak" -v b="$(stat -c %s "$csv")" 'BEGIN { print k * 1024 / b }')" "$at_load"
rm -f "$times"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
