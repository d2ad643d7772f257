#!/usr/bin/env bash
# Ballot-cast benchmark (issue 6 item 10). Not a test: it prints figures.
#
#   1. raw KDF time: `votebox bench-kdf` (Argon2i, t=8, 512 MiB, Elekto's parameters);
#   2. one cast end to end: POST /app/elections/bench/vote through a real server (SQLite,
#      demo login, loopback), timed by curl;
#   3. a burst: VOTERS (default 20) voters cast at once; wall time, per-cast times, and the
#      server's peak RSS (VmHWM from /proc/<pid>/status, plus sampled VmRSS) with the default
#      KDF semaphore (VOTEBOX_KDF_CONCURRENCY unset, unless you set it).
#
# Usage: benches/cast.sh [--debug]    (release build by default; needs git, curl)
# Environment: VOTERS=20 PORT=0 (0: pick a free port) KEEP=1 (keep the temp dir)
set -euo pipefail

cd "$(dirname "$0")/.."
PROFILE=release
[[ "${1:-}" == "--debug" ]] && PROFILE=debug
VOTERS=${VOTERS:-20}

echo "== building votebox ($PROFILE)"
if [[ $PROFILE == release ]]; then
    cargo build --release -q -p votebox
else
    cargo build -q -p votebox
fi
BIN=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/$PROFILE/votebox

TMP=$(mktemp -d -t votebox-bench.XXXXXX)
SERVER_PID=
cleanup() {
    [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [[ -n ${KEEP:-} ]] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== machine: $(nproc) cores, $(awk '/MemAvailable/ {printf "%d MiB available", $2/1024}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== raw KDF"
"$BIN" bench-kdf --runs 3 | sed 's/^/   /'

# ---- a meta repository with one running election and VOTERS+1 eligible voters --------------
META=$TMP/meta-src
mkdir -p "$META/elections/bench"
START=$(date -u -d '-1 day' '+%Y-%m-%d %H:%M:%S')
END=$(date -u -d '+1 day' '+%Y-%m-%d %H:%M:%S')
cat > "$META/elections/bench/election.yaml" <<EOF
name: Bench Election
organization: Bench
start_datetime: $START
end_datetime: $END
no_winners: 1
allow_no_opinion: True
show_candidate_fields:
election_officers:
  - officer
EOF
{
    echo "eligible_voters:"
    for i in $(seq 0 "$VOTERS"); do printf '  - voter%02d\n' "$i"; done
} > "$META/elections/bench/voters.yaml"
for c in ada bob cy; do
    printf -- '---\nname: %s\nID: %s\n---\n' "$c" "$c" > "$META/elections/bench/candidate-$c.md"
done
git -C "$META" -c init.defaultBranch=main init -q
git -C "$META" add -A
git -C "$META" -c user.name=bench -c user.email=bench@invalid -c commit.gpgsign=false commit -q -m bench

# ---- the server ----------------------------------------------------------------------------
PORT=${PORT:-0}
if [[ $PORT == 0 ]]; then
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18517)
fi
BASE=http://127.0.0.1:$PORT
(
    cd "$TMP"
    exec env -i PATH="$PATH" HOME="$TMP" \
        DATABASE_URL="sqlite://$TMP/bench.db" META_REPO="$META" META_PATH="$TMP/meta" \
        META_BRANCH=main ELECTION_DIR=elections APP_KEY=bench-key-0123456789abcdef \
        VOTEBOX_DEMO_LOGIN=1 RUST_LOG=warn \
        ${VOTEBOX_KDF_CONCURRENCY:+VOTEBOX_KDF_CONCURRENCY=$VOTEBOX_KDF_CONCURRENCY} \
        "$BIN" serve --migrate --host 127.0.0.1 --port "$PORT" --resync-interval 0 \
        > "$TMP/server.log" 2>&1
) &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -sf "$BASE/health" >/dev/null && break
    sleep 0.2
done
curl -sf "$BASE/health" >/dev/null || { echo "server did not start:"; cat "$TMP/server.log"; exit 1; }
PID=$SERVER_PID   # `exec env … votebox`: the subshell became the server

csrf() { grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//'; }

# login VOTER → cookie jar $TMP/VOTER.jar, ready to vote
login() {
    local jar=$TMP/$1.jar token
    token=$(curl -s -c "$jar" -b "$jar" "$BASE/login" | csrf)
    curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$token" \
        --data-urlencode "login=$1" "$BASE/demo/login"
}

# cast VOTER → prints "<http code> <seconds>"
cast() {
    local jar=$TMP/$1.jar token
    token=$(curl -s -c "$jar" -b "$jar" "$BASE/app/elections/bench" | csrf)
    curl -s -o /dev/null -c "$jar" -b "$jar" -w '%{http_code} %{time_total}\n' \
        --data-urlencode "csrf_token=$token" \
        --data-urlencode "candidate@ada=1" --data-urlencode "candidate@bob=2" \
        --data-urlencode "candidate@cy=100000000" \
        --data-urlencode "password=bench passphrase $1" "$BASE/app/elections/bench/vote"
}

rss() { awk -v k="$1:" '$1 == k {print int($2/1024)}' "/proc/$PID/status"; }

echo "== one cast end to end (server idle; RSS before: $(rss VmRSS) MiB)"
login voter00
read -r code secs < <(cast voter00)
echo "   HTTP $code in $secs s"
[[ $code == 302 ]] || { echo "cast failed"; tail -20 "$TMP/server.log"; exit 1; }
echo "   server peak RSS so far: $(rss VmHWM) MiB"

echo "== $VOTERS voters cast at once"
for i in $(seq 1 "$VOTERS"); do login "$(printf 'voter%02d' "$i")"; done
: > "$TMP/samples"
( while kill -0 "$PID" 2>/dev/null; do rss VmRSS >> "$TMP/samples"; sleep 0.1; done ) &
SAMPLER=$!
t0=$(date +%s.%N)
CASTS=()
for i in $(seq 1 "$VOTERS"); do
    cast "$(printf 'voter%02d' "$i")" > "$TMP/cast.$i" &
    CASTS+=($!)
done
wait "${CASTS[@]}"
t1=$(date +%s.%N)
kill "$SAMPLER" 2>/dev/null || true
ok=$(cat "$TMP"/cast.* | awk '$1 == 302' | wc -l)
echo "   $ok/$VOTERS casts answered 302; wall time $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s"
cat "$TMP"/cast.* | awk '{print $2}' | sort -n | awk '
    {a[NR]=$1; s+=$1}
    END {printf "   per cast: min %.2f s, median %.2f s, max %.2f s, mean %.2f s\n", a[1], a[int((NR+1)/2)], a[NR], s/NR}'
echo "   server RSS sampled during the burst: max $(sort -n "$TMP/samples" | tail -1) MiB"
echo "   server peak RSS (VmHWM, whole run): $(rss VmHWM) MiB"
