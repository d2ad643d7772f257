#!/usr/bin/env bash
# Page-serving benchmark (not a test): serves the kubernetes+community meta corpus from a real
# git repository on loopback and drives three pages with wrk at 8 connections.
# Prints requests/s and p50/p99 latency per page, plus idle RSS.
#   bash benches/pages.sh            # 10 s per page
#   DURATION=5s bash benches/pages.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$root/../shared/fixtures/meta/kubernetes+community}
duration=${DURATION:-10s}
port=${PORT:-18099}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v git >/dev/null || apt-get install -y -qq git >/dev/null

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/votebox-target}
cargo build --release -q -p votebox
bin=$CARGO_TARGET_DIR/release/votebox

work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# The corpus as a real git repository, served over file://.
cp -r "$corpus" "$work/src"
git -C "$work/src" init -q -b main
git -C "$work/src" add -A
git -C "$work/src" -c user.name=bench -c user.email=bench@localhost commit -qm corpus
git clone -q --bare "$work/src" "$work/meta.git"

export DB_CONNECTION=sqlite DB_PATH="$work/votebox.db" META_REPO="file://$work/meta.git" \
  META_PATH="$work/mirror" META_BRANCH=main ELECTION_DIR=elections APP_PORT=$port \
  APP_KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
  VOTEBOX_DEMO_LOGIN=true RUST_LOG=warn
"$bin" migrate >/dev/null
"$bin" serve --resync-interval 0 >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

# A logged-in session for the candidate page (login-gated as in Elekto), through the demo login.
jar="$work/cookies"
page=$(curl -fs -c "$jar" -b "$jar" "http://127.0.0.1:$port/login")
csrf=$(printf '%s' "$page" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$csrf" --data-urlencode "login=dims" \
  "http://127.0.0.1:$port/demo/login"
cookie=$(awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}' "$jar"; awk '/^#HttpOnly_/ {printf "%s=%s; ", $6, $7}' "$jar")

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$pid/status"; }
echo "idle RSS after start: $(rss)"
run() {
  local label=$1 path=$2
  local out
  out=$(wrk -t 2 -c 8 -d "$duration" --latency -H "Cookie: $cookie" "http://127.0.0.1:$port$path")
  local rps p50 p99 non2xx
  rps=$(printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(printf '%s\n' "$out" | awk '$1=="50%" {print $2}')
  p99=$(printf '%s\n' "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(printf '%s\n' "$out" | awk '/Non-2xx/ {print $NF}')
  printf '%-22s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$label" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
curl -fs -o /dev/null -H "Cookie: $cookie" "http://127.0.0.1:$port/app/elections/steering---2023/candidates/pohly" \
  || { echo "candidate page not reachable; see $work/server.log"; exit 1; }
run "elections list" /elections
run "one election" /elections/steering---2023
run "one candidate" /app/elections/steering---2023/candidates/pohly
sleep 2
echo "idle RSS after load: $(rss)"
