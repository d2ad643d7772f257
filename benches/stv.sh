#!/usr/bin/env bash
# Meek STV speed against stv-rs, side by side (issue 15 item 3). Not a test: it prints figures.
#
# Generates four BLT files (1,000,000 and 10,000 ballots x 20 candidates, 5 seats; `uniform`:
# uniformly random full rankings; `realistic`: a few favourites, truncated after ~6
# preferences on average, ~5% of ballots with two candidates ranked equally), in Droop's BLT
# dialect (`[nick …]`, ballots by nickname) that both programs read. Then, on each file, runs
#   * votebox:  `votebox tally FILE --method stv-meek --seats 5 --format json` (end to end:
#     read, parse, count, pairwise matrix, JSON);
#   * stv-rs:   `stv-rs --arithmetic fixed9 --input FILE meek --parallel=MODE` for every MODE
#     in $STV_RS_PARALLEL (default: no rayon custom), its fastest arithmetic; the fastest
#     mode is the one compared.
# and prints min and median wall time of $RUNS runs (default 3), peak RSS (/usr/bin/time -v)
# and whether the two elected the same candidates.
#
# stv-rs is installed from crates.io (pinned $STV_RS_VERSION) into $STV_RS_ROOT, outside the
# repository (default ~/.cache/votebox-bench-tools/stv-rs-VERSION); nothing of it is kept here.
#
# Equal ranks: stv-rs reads `a=b` and, without `--equalize` (whose arithmetic is slower), counts
# them with Droop.py's rule; votebox splits a ballot equally among equally ranked candidates
# (see crates/votebox-core/src/count/stv_meek.rs). The winners are compared all the same.
#
#   bash benches/stv.sh
#   RUNS=5 SIZES="10000" KINDS="uniform" bash benches/stv.sh
# Load matters: the figures are wall clock; the script prints the load average with them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
sizes=${SIZES:-"1000000 10000"}
kinds=${KINDS:-"uniform realistic"}
modes=${STV_RS_PARALLEL:-"no rayon custom"}
version=${STV_RS_VERSION:-0.5.1}
stv_root=${STV_RS_ROOT:-$HOME/.cache/votebox-bench-tools/stv-rs-$version}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}}
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --release -q -p votebox --bin votebox
cargo build --release -q -p votebox-core --example bench_stv
bin=$CARGO_TARGET_DIR/release/votebox
helper=$CARGO_TARGET_DIR/release/examples/bench_stv
stv_rs=$stv_root/bin/stv-rs
if [ ! -x "$stv_rs" ]; then
  CARGO_TARGET_DIR=$stv_root/target cargo install -q stv-rs --version "$version" --locked --root "$stv_root"
fi

# run LABEL CMD… : RUNS timed runs; sets $min $median (seconds) and $rss (MB, largest run).
run() {
  local label=$1; shift
  local times=() peak=0 log
  log=$(mktemp)
  for _ in $(seq "$runs"); do
    /usr/bin/time -v "$@" >"$log.out" 2>"$log"
    times+=("$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" |
      awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')")
    local kb
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    (( kb > peak )) && peak=$kb
  done
  mapfile -t sorted < <(printf '%s\n' "${times[@]}" | sort -g)
  min=${sorted[0]}
  median=${sorted[$(( (runs - 1) / 2 ))]}
  rss=$(( peak / 1024 ))
  cp "$log.out" "$label.out"
  rm -f "$log" "$log.out"
}

printf '%-28s %-22s %9s %9s %8s\n' file program min_s median_s peak_MB
for n in $sizes; do
  for kind in $kinds; do
    file=$dir/votebox-stv-$kind-${n}x20.blt
    [ -s "$file" ] || "$helper" gen "$kind" "$file" "$n" 20 5 2>/dev/null
    name=$(basename "$file" .blt)
    out=$(mktemp -d)
    run "$out/votebox" "$bin" tally "$file" --method stv-meek --seats 5 --format json
    printf '%-28s %-22s %9s %9s %8s\n' "$name" "votebox stv-meek" "$min" "$median" "$rss"
    vb_min=$min
    jq -r '.winners[]' "$out/votebox.out" | sort >"$out/votebox.winners"
    best=
    for mode in $modes; do
      run "$out/stv-rs-$mode" "$stv_rs" --arithmetic fixed9 --input "$file" meek --parallel="$mode"
      printf '%-28s %-22s %9s %9s %8s\n' "$name" "stv-rs fixed9 $mode" "$min" "$median" "$rss"
      if [ -z "$best" ] || awk -v a="$min" -v b="$best_min" 'BEGIN { exit !(a < b) }'; then
        best=$mode best_min=$min
      fi
    done
    sed -n 's/^Action: Elect: //p' "$out/stv-rs-$best.out" | sort >"$out/stv-rs.winners"
    if cmp -s "$out/votebox.winners" "$out/stv-rs.winners"; then same=yes; else same=NO; fi
    printf '%-28s votebox %.2fx faster than stv-rs (%s), same winners: %s (%s)\n' "$name" \
      "$(awk -v a="$best_min" -v b="$vb_min" 'BEGIN { print (b > 0 ? a / b : 0) }')" "$best" \
      "$same" "$(paste -sd, "$out/votebox.winners")"
    rm -rf "$out"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
