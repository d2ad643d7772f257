#!/usr/bin/env bash
# The container's start-up sequence without a container: migrate → sync → serve, with the
# image's defaults (data under ./data-local unless VOTEBOX_DATA_DIR is set, port 8080), the same
# binary subcommand the image runs (`votebox entrypoint`), and the same steps printed.
#
#   DB_CONNECTION=sqlite META_REPO=file:///path/to/meta.git ELECTION_DIR=elections \
#     scripts/entrypoint-local.sh [--host 127.0.0.1] [--port 8080]
#
# Binds 127.0.0.1 unless --host is given (the image binds 0.0.0.0). Stops on Ctrl-C/SIGTERM
# (exit 0 after requests in flight finish). Uses $VOTEBOX_BIN, else builds target/release/votebox.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [ -n "${VOTEBOX_BIN:-}" ]; then
  bin=$VOTEBOX_BIN
else
  target=${CARGO_TARGET_DIR:-$root/target}
  (cd "$root" && cargo build --release --locked -q -p votebox)
  bin=$target/release/votebox
fi

data=${VOTEBOX_DATA_DIR:-$PWD/data-local}
mkdir -p "$data"
# The image's defaults (Dockerfile ENV); anything already set wins.
export VOTEBOX_DATA_DIR=$data
export DB_PATH=${DB_PATH:-$data/elekto.db}
export META_PATH=${META_PATH:-$data/meta}
export APP_PORT=${APP_PORT:-8080}
export LOG_FORMAT=${LOG_FORMAT:-human}

: "${DB_CONNECTION:?set DB_CONNECTION (sqlite, postgresql or mysql) as for the image}"
: "${META_REPO:?set META_REPO (git URL or file:// path of the meta repository)}"
: "${ELECTION_DIR:?set ELECTION_DIR (e.g. elections)}"

host_args=(--host 127.0.0.1)
for a in "$@"; do
  if [ "$a" = "--host" ]; then host_args=(); fi
done
# exec: votebox gets the signals directly, as under tini in the image.
exec "$bin" entrypoint "${host_args[@]}" "$@"
