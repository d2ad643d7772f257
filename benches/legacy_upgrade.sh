#!/usr/bin/env bash
# Legacy-upgrade benchmark (not a test): an Elekto 0.5 (schema 1) database with 1,000 elections,
# 20,000 users and 200,000 ballot rows (40,000 votes) on SQLite, PostgreSQL and MariaDB, upgraded
# by the release `votebox migrate`. Prints, per engine, the upgrade's wall time and the votebox
# process's peak resident memory (target: under 60 s on each engine).
#   bash benches/legacy_upgrade.sh
#   ENGINES=sqlite,postgres BALLOTS=50000 bash benches/legacy_upgrade.sh
# Needs the servers of `bash .ci/run` (PostgreSQL and MariaDB on 127.0.0.1), psql and mariadb
# (to load Elekto 0.5.1's tables from shared/fixtures/legacy-db) and GNU time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --release -q -p votebox
cargo run --release -q -p votebox-db --example legacy_upgrade -- \
  --votebox "$CARGO_TARGET_DIR/release/votebox" \
  --engines "${ENGINES:-sqlite,postgres,mysql}" \
  --elections "${ELECTIONS:-1000}" --users "${USERS:-20000}" --ballots "${BALLOTS:-200000}"
