#!/bin/sh
# Cost of one ballot mix (issue 12 item 2) at 10,000 votes × 5 candidates on each engine:
# re-writing 50,000 ballot rows and 10,000 voter rows in random order in one transaction, then
# the flush (PostgreSQL VACUUM FULL, MariaDB ALTER TABLE … FORCE, SQLite WAL checkpoint).
# Usage: benches/mix.sh [VOTES [sqlite|postgres|mysql]…]
set -eu
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then set -- 10000; fi
exec cargo run --quiet --release -p votebox-db --example bench_mix -- "$@"
