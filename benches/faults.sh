#!/usr/bin/env bash
# Database fault tests (issue 7, item 5): for PostgreSQL and MariaDB, a private server of the
# test's own (initdb / mariadb-install-db in a temp dir, a free 127.0.0.1 port; the shared
# servers are never touched) is stopped for DB_OUTAGE_SECONDS (10) while FAULT_VOTERS (40) voters
# cast ballots with the real KDF and readers read, then started again. Checks: a clear 503 page
# for what needs the database during the outage, readiness 503 then 200 with no restart of
# votebox, public pages still 200, no 5xx but 503, every ballot stored exactly once.
# The meta and webhook faults run in plain `cargo test` (tests/it/faults.rs).
#
#   bash benches/faults.sh
#   ENGINES=postgres FAULT_VOTERS=20 bash benches/faults.sh
# (LOAD_CONCURRENCY, default 16, bounds the voters casting at a time, as in benches/load.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/votebox-target}
engines=${ENGINES:-postgres mariadb}
cargo test --release -q -p votebox --test it --no-run
for engine in $engines; do
  cargo test --release -q -p votebox --test it -- --ignored --exact --nocapture "load::db_restart_${engine}"
done
