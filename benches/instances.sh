#!/usr/bin/env bash
# Sizing benchmark (issue 16 items 1 and 4): the real votebox binary (release) as 1, 2 and 3
# instances behind HAProxy (deploy/haproxy/votebox.cfg, round-robin, no stickiness) on one
# PostgreSQL or MariaDB database. Per instance count: BENCH_VOTERS voters (default 500) log in
# through the fake GitHub OAuth provider and cast with the real KDF (Argon2i, 512 MiB, as Elekto:
# it is what bounds ballots per second, one core per KDF), then wrk loads two pages through the
# balancer. Prints ballots/s, cast latency, page requests/s, idle and peak RSS per instance;
# fails on any 5xx, any voter error, or a ballot not stored exactly once. Then (KILL_RUN=1, the
# default) the full version of the CI test balancer::balancer_<engine>: BENCH_VOTERS voters
# through 3 instances while readers load pages, one instance killed with SIGKILL after a third
# of them and restarted, then a webhook through the balancer; it prints the same figures, when
# the instance was killed and served again, and fails on a 5xx other than the retry page of a
# cast the kill cut short.
#
#   bash benches/instances.sh                              # postgres, 500 voters, 1 2 3 instances
#   ENGINES="postgres mysql" BENCH_VOTERS=100 bash benches/instances.sh
#
# Knobs: KILL_RUN (1), BENCH_VOTERS (500), BENCH_INSTANCES ("1 2 3"), BENCH_CONCURRENCY (16 voters casting at
# a time), BALANCER_KDF_CONCURRENCY (1 KDF at a time per instance), BENCH_WRK_SECONDS (10),
# ENGINES (postgres). On 2 idle cores 250 voters take about 9 minutes on 1 instance and 5½ on
# 2 or 3 (figures: benches/instances.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/votebox-target}
for tool in haproxy wrk; do
  command -v "$tool" >/dev/null || apt-get install -y -qq "$tool" >/dev/null
done
engines=${ENGINES:-postgres}
cargo test --release -q -p votebox --test it --no-run
for engine in $engines; do
  cargo test --release -q -p votebox --test it -- --ignored --exact --nocapture "balancer::bench_${engine}"
  if [ "${KILL_RUN:-1}" = 1 ]; then
    BALANCER_VOTERS=${BENCH_VOTERS:-500} \
      cargo test --release -q -p votebox --test it -- --exact --nocapture "balancer::balancer_${engine}"
  fi
done
