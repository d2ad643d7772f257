#!/usr/bin/env bash
# Side-by-side page benchmark against Python Elekto (not a test), eval-style: both servers serve
# the same meta (the kubernetes+community corpus as a bare git repository over file://) from the
# same kind of database (SQLite, one file each), the same user is logged in on both, and wrk drives
# each page with a NEW connection per request (`Connection: close`) at the same concurrency, one
# server at a time. Prints, per page, the best req/s of RUNS runs for each server and the ratio.
#
#   bash benches/vs_elekto.sh                  # 10 s per page and server, best of 3
#   DURATION=5s RUNS=1 bash benches/vs_elekto.sh
#   VOTEBOX_BIN=/path/to/votebox bash benches/vs_elekto.sh   # a binary built elsewhere
#
# Elekto is run from its source at ELEKTO_COMMIT (HEAD = 0.7.0 behaviour), checked out of
# ELEKTO_GIT (default: the mirror the `fetch` tool makes of github:elekto-io/elekto) into
# ELEKTO_CACHE, outside the repository; its Python dependencies are the pinned runtime subset of
# its requirements.txt, installed from PyPI into a venv there (Python 3.11). It is served by
# gunicorn with ELEKTO_WORKERS sync worker processes (default 1; its container runs uWSGI with 8,
# which on this 2-core machine can at most use the same 2 cores). Logging in on Elekto: a `user`
# row with a token, and a Flask session cookie carrying that token, signed with Elekto's
# SECRET_KEY (APP_KEY) by Flask's own session serializer. On votebox: the demo login.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$root/../shared/fixtures/meta/kubernetes+community}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-8}
runs=${RUNS:-3}
vb_port=${PORT:-18099}
el_port=${ELEKTO_PORT:-18098}
election=${ELECTION:-steering---2023}
candidate=${CANDIDATE:-pohly}
login=${LOGIN:-dims}
python=${PYTHON:-python3.11}
elekto_git=${ELEKTO_GIT:-/work/.mirror/elekto-io+elekto/repo}
elekto_commit=${ELEKTO_COMMIT:-77a08068da521b7ff0becbd5c6f7a879265ecfce}
elekto_cache=${ELEKTO_CACHE:-$HOME/.cache/votebox-vs-elekto}
elekto_workers=${ELEKTO_WORKERS:-1}
app_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v git >/dev/null || apt-get install -y -qq git >/dev/null

# --- Elekto: source and venv (cached) ---------------------------------------------------------
src=$elekto_cache/src-$elekto_commit
if [ ! -d "$src" ]; then
  [ -d "$elekto_git" ] || { echo "no Elekto git at $elekto_git (set ELEKTO_GIT)"; exit 1; }
  git clone -q "$elekto_git" "$src.tmp"
  git -C "$src.tmp" checkout -q "$elekto_commit"
  mv "$src.tmp" "$src"
fi
venv=$elekto_cache/venv
if [ ! -f "$venv/.installed" ]; then
  "$python" -m venv "$venv"
  # requirements.txt at that commit, without the test and non-SQLite driver packages (pandas is
  # imported by the app);
  # gunicorn as the server.
  "$venv/bin/pip" install -q authlib==1.4.0 blinker==1.9.0 certifi==2024.12.14 cffi==1.17.1 \
    charset-normalizer==3.4.1 click==8.1.8 cryptography==44.0.0 flask==3.1.0 flask-wtf==1.2.2 \
    greenlet==3.1.1 idna==3.10 itsdangerous==2.2.0 jinja2==3.1.5 markdown2==2.5.2 \
    markupsafe==3.0.2 pycparser==2.22 pynacl==1.5.0 python-dateutil==2.9.0.post0 \
    python-dotenv==1.0.1 pytz==2024.2 pyyaml==6.0.2 requests==2.32.3 six==1.17.0 \
    sqlalchemy==1.4.49 urllib3==2.3.0 werkzeug==3.1.3 wtforms==3.2.1 numpy==2.2.2 pandas==2.2.3 \
    tzdata==2025.1 gunicorn==23.0.0
  touch "$venv/.installed"
fi

# --- votebox -----------------------------------------------------------------------------------
# VOTEBOX_BIN: an already built release binary (e.g. of another commit, for before/after).
if [ -n "${VOTEBOX_BIN:-}" ]; then
  bin=$VOTEBOX_BIN
else
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/votebox-target}
  cargo build --release -q -j 2 -p votebox
  bin=$CARGO_TARGET_DIR/release/votebox
fi

work=$(mktemp -d)
trap 'kill "${vb_pid:-}" "${el_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# The corpus as a real git repository, served over file:// to both.
cp -r "$corpus" "$work/src"
git -C "$work/src" init -q -b main
git -C "$work/src" add -A
git -C "$work/src" -c user.name=bench -c user.email=bench@localhost commit -qm corpus
git clone -q --bare "$work/src" "$work/meta.git"
common=(META_REPO="file://$work/meta.git" META_BRANCH=main ELECTION_DIR=elections
  APP_KEY=$app_key DB_CONNECTION=sqlite)

wait_up() {
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.1; done
  echo "server on port $1 did not start; logs in $work"; exit 1
}

# Elekto: migrate, sync (clone + pull), serve; as its entrypoint.sh, with gunicorn.
(
  cd "$src"
  export "${common[@]}" DB_PATH="$work/elekto.db" META_PATH="$work/elekto-meta" APP_PORT=$el_port
  "$venv/bin/python" console --migrate >"$work/elekto.log" 2>&1 || { cat "$work/elekto.log"; exit 1; }
  "$venv/bin/python" console --sync >>"$work/elekto.log" 2>&1 || { cat "$work/elekto.log"; exit 1; }
)
(
  cd "$src"
  export "${common[@]}" DB_PATH="$work/elekto.db" META_PATH="$work/elekto-meta"
  exec "$venv/bin/gunicorn" --workers "$elekto_workers" --bind "127.0.0.1:$el_port" \
    --log-level warning elekto:APP >>"$work/elekto.log" 2>&1
) &
el_pid=$!

# votebox: migrate, serve (the server syncs the meta itself).
(
  export "${common[@]}" DB_PATH="$work/votebox.db" META_PATH="$work/votebox-meta" \
    APP_PORT=$vb_port VOTEBOX_DEMO_LOGIN=true RUST_LOG=warn
  "$bin" migrate >/dev/null
  exec "$bin" serve --resync-interval 0 >"$work/votebox.log" 2>&1
) &
vb_pid=$!
wait_up "$el_port"
wait_up "$vb_port"

# Elekto login: a user row holding a token valid for a day, and Flask's signed session cookie.
token=bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
"$venv/bin/python" - "$work/elekto.db" "$login" "$token" <<'EOF'
import sqlite3, sys
from datetime import datetime, timedelta
db, login, token = sys.argv[1:]
expires = (datetime.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
with sqlite3.connect(db) as c:
    c.execute("INSERT INTO user (username, name, token, token_expires_at, created_at, updated_at)"
              " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
              (login, login, token, expires))
EOF
el_session=$("$venv/bin/python" - "$app_key" "$token" <<'EOF'
import sys
from flask import Flask
app = Flask("bench")
app.secret_key = sys.argv[1]
serializer = app.session_interface.get_signing_serializer(app)
print(serializer.dumps({"authentication": sys.argv[2], "_permanent": True}))
EOF
)
el_cookie="session=$el_session"

# votebox login, through the demo login.
jar="$work/cookies"
page=$(curl -fs -c "$jar" -b "$jar" "http://127.0.0.1:$vb_port/login")
csrf=$(printf '%s' "$page" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf_token=$csrf" \
  --data-urlencode "login=$login" "http://127.0.0.1:$vb_port/demo/login"
vb_cookie=$(awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}' "$jar"
  awk '/^#HttpOnly_/ {printf "%s=%s; ", $6, $7}' "$jar")

pages=("elections list|/elections"
  "election (logged in)|/app/elections/$election"
  "candidate (logged in)|/app/elections/$election/candidates/$candidate"
  "election (public)|/elections/$election")

# Every page must really be served (Elekto answers errors and login redirects oddly: check the
# status, that no login redirect happened, and that the page names the election or the user).
check() {
  local port=$1 cookie=$2 path=$3 body code
  code=$(curl -s -o "$work/page" -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$port$path")
  body=$(cat "$work/page")
  [ "$code" = 200 ] || { echo "GET $path on port $port: $code; logs in $work"; exit 1; }
  if printf '%s' "$body" | grep -qiE 'Error While rendering|Server Error|Not Found|Sign in with'; then
    echo "GET $path on port $port is an error or login page; logs in $work"; exit 1
  fi
}
for p in "${pages[@]}"; do
  check "$el_port" "$el_cookie" "${p#*|}"
  check "$vb_port" "$vb_cookie" "${p#*|}"
done
curl -fs -H "Cookie: $el_cookie" "http://127.0.0.1:$el_port/app/elections/$election" | grep -q "$login" \
  || { echo "Elekto does not see $login logged in"; exit 1; }
curl -fs -H "Cookie: $vb_cookie" "http://127.0.0.1:$vb_port/app/elections/$election" | grep -q "$login" \
  || { echo "votebox does not see $login logged in"; exit 1; }

# req/s of one wrk run; non-2xx answers or socket errors abort the bench.
rps() {
  local port=$1 cookie=$2 path=$3 out
  out=$(wrk -t 2 -c "$connections" -d "$duration" -H 'Connection: close' -H "Cookie: $cookie" \
    "http://127.0.0.1:$port$path")
  if printf '%s\n' "$out" | grep -qE 'Non-2xx|Socket errors: .*(read|write|timeout) [1-9]'; then
    printf '%s\n' "$out" >&2
    echo "errors on port $port $path" >&2
  fi
  printf '%s\n' "$out" | awk '/Requests\/sec/ {print $2}'
}
best() { printf '%s\n' "$@" | sort -g | tail -1; }

echo "wrk -t 2 -c $connections -d $duration -H 'Connection: close', best of $runs runs per page and server"
echo "Elekto $elekto_commit: gunicorn, $elekto_workers sync worker(s); votebox: ${VOTEBOX_BIN:-$(git -C "$root" rev-parse --short HEAD)}; SQLite; nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-24s %14s %14s %8s\n' page "Elekto req/s" "votebox req/s" ratio
for p in "${pages[@]}"; do
  label=${p%%|*} path=${p#*|}
  el=() vb=()
  for _ in $(seq "$runs"); do
    el+=("$(rps "$el_port" "$el_cookie" "$path")")
    vb+=("$(rps "$vb_port" "$vb_cookie" "$path")")
  done
  e=$(best "${el[@]}") v=$(best "${vb[@]}")
  printf '%-24s %14s %14s %7.0fx\n' "$label" "$e" "$v" "$(awk -v v="$v" -v e="$e" 'BEGIN {print v / e}')"
done
