#!/usr/bin/env bash
# app.sh — a realistic FastAPI app under load: fasterapi's Python front against FastAPI on
# uvicorn (and Granian), the same app file, same run, same client.
#
#   benches/load/app.sh           install what is missing, run, write out/app/results.tsv
#                                 and print the ratio table (app_report.py)
#   benches/load/app.sh --smoke   fasterapi only, 1-second runs; non-zero exit unless every
#                                 answer is 2xx (also checks the app answers what it should)
#
# The app: benches/peers/py/realistic_app.py, written for FastAPI. fasterapi serves a copy
# with the imports changed by `sed s/fastapi/fasterapi/` (OUT/realistic_app_fasterapi.py),
# nothing else.
# Runs, per server and repeat (servers alternate within each repeat, so drift hits all):
#   rotate       wrk -s app.lua: each connection cycles through eight routes (path and
#                query parameters, nested JSON, a pydantic body, a dict body with query
#                parameters, async def, Request, a Depends chain, a response_model)
#   /me/profile  a two-level Depends chain and a response_model
#   /bare        a bare route returning a small dict (the CPU baseline)
# 1 worker/process, server pinned to core 0, wrk to core 1, -t1 -c64. Server CPU per request
# from the server's process group's utime+stime over the run.
#
# Settings (environment): DURATION=10 REPS=3 CONNS=64 ONLY="fasterapi-py fastapi-uvicorn"
#   (also: fastapi-granian) RUNS="rotate /me/profile /bare" PORT=18580 WARMUP=2
#   VENV=benches/load/out/venv SKIP_BUILD=1 (keep the installed fasterapi) OUT=benches/load/out/app
#   MAX_BG_BUSY=15 BG_WAIT=180 READY_TIMEOUT=30
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="$ROOT/benches/peers"
OUT="${OUT:-$HERE/out/app}"
LOGDIR="$OUT/logs"
RESULTS="$OUT/results.tsv"
VENV="${VENV:-$HERE/out/venv}"
APP="$PEERS/py/realistic_app.py"

SERVERS="fasterapi-py fastapi-uvicorn fastapi-granian"
ONLY="${ONLY:-fasterapi-py fastapi-uvicorn}"
DURATION="${DURATION:-10}"
REPS="${REPS:-3}"
CONNS="${CONNS:-64}"
RUNS="${RUNS:-rotate /me/profile /bare}"
WARMUP="${WARMUP:-2}"
PORT="${PORT:-18580}"
SKIP_BUILD="${SKIP_BUILD:-0}"
MAX_BG_BUSY="${MAX_BG_BUSY:-15}"
BG_WAIT="${BG_WAIT:-180}"
READY_TIMEOUT="${READY_TIMEOUT:-30}"
SMOKE=0

log() { echo "[app $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib.sh
source "$HERE/lib.sh"
trap stop_server EXIT
trap 'log "interrupted"; exit 130' INT TERM

if [[ "${1:-}" == "--smoke" ]]; then
    SMOKE=1 ONLY=fasterapi-py REPS=1 DURATION=1 WARMUP=0
    OUT="$HERE/out/app-smoke"; LOGDIR="$OUT/logs"; RESULTS="$OUT/results.tsv"
    shift
fi
[[ $# -eq 0 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

mkdir -p "$OUT" "$LOGDIR"
for s in $ONLY; do [[ " $SERVERS " == *" $s "* ]] || die "unknown server '$s' (known: $SERVERS)"; done
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl > /dev/null; }
for t in taskset setsid timeout python3; do command -v "$t" >/dev/null || die "missing tool: $t"; done
ensure_wrk
ensure_py_venv "fastapi uvicorn granian uvloop httptools"
if (( SMOKE )); then
    tries=0
    until port_free || (( ++tries >= 20 )); do PORT=$((PORT + 1)); done
fi

# The fasterapi copy: the imports changed, nothing else; serve it with app.run().
FAPP="$OUT/realistic_app_fasterapi.py"
fasterapi_copy "$APP" "$FAPP" '    app.run(port=int(sys.argv[1]), workers=1)'

server_cmd() {  # NAME -> CMD
    local V="$VENV/bin"
    case "$1" in
        fasterapi-py)    CMD=("$V/python" "$FAPP" "{PORT}") ;;
        fastapi-uvicorn) CMD=("$V/uvicorn" --app-dir "$PEERS/py" realistic_app:app --host 127.0.0.1
                              --port "{PORT}" --workers 1 --loop uvloop --http httptools
                              --log-level warning --no-access-log) ;;
        fastapi-granian) CMD=("$V/granian" --interface asgi --host 127.0.0.1 --port "{PORT}"
                              --workers 1 --runtime-threads 1 --http 1 --no-ws --loop uvloop
                              --log-level warning --working-dir "$PEERS/py" realistic_app:app) ;;
    esac
}

# What each route must answer (checked on every server before it is timed).
check_app() {
    local b="http://127.0.0.1:$PORT" auth="Authorization: Bearer token-7" got ok=1
    expect() {  # DESCRIPTION EXPECTED GOT
        if [[ "$3" != *"$2"* ]]; then log "!!! $1: expected '$2' in: $3"; ok=0; fi
    }
    expect "/items/42" '"item_id":42' "$(curl -s -H "$auth" "$b/items/42?q=hello&limit=5" | tr -d ' ')"
    expect "limit le=100" '422' "$(curl -s -o /dev/null -w '%{http_code}' "$b/items/42?limit=1000")"
    expect "orders" '"sku":"sku-2-2"' "$(curl -s "$b/users/7/orders" | tr -d ' ')"
    got="$(curl -s -H 'Content-Type: application/json' -d '{"name":"lamp","price":"x"}' -o /dev/null -w '%{http_code}' "$b/items")"
    expect "POST /items bad price" 422 "$got"
    expect "POST /items" '"lines":[{"sku":"a-1","qty":2,"price":3.5}]' \
        "$(curl -s -H 'Content-Type: application/json' -d '{"name":"lamp","price":2,"lines":[{"sku":"a-1","qty":2,"price":3.5}]}' "$b/items" | tr -d ' ')"
    expect "POST /search" '"page":2' "$(curl -s -H 'Content-Type: application/json' -d '{"a":1}' "$b/search?page=2" | tr -d ' ')"
    expect "async" '"square":144' "$(curl -s "$b/async/12" | tr -d ' ')"
    expect "whoami" '"path":"/whoami"' "$(curl -s "$b/whoami" | tr -d ' ')"
    expect "/me no token" 422 "$(curl -s -o /dev/null -w '%{http_code}' "$b/me")"
    expect "/me bad token" 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$b/me")"
    expect "/me" '"name":"user7"' "$(curl -s -H "$auth" "$b/me" | tr -d ' ')"
    got="$(curl -s "$b/users/7" | tr -d ' ')"
    expect "/users/7" '"email":"user7@example.com"' "$got"
    [[ "$got" != *password* ]] || { log "!!! /users/7 leaks the password hash: $got"; ok=0; }
    got="$(curl -s -H "$auth" "$b/me/profile" | tr -d ' ')"
    expect "/me/profile" '"roles":["reader"]' "$got"
    [[ "$got" != *password* ]] || { log "!!! /me/profile leaks the password hash: $got"; ok=0; }
    (( ok ))
}

new_results

wrk_args() {  # RUN -> WRK_ARGS
    if [[ "$1" == rotate ]]; then WRK_ARGS=(-s "$HERE/app.lua" "http://127.0.0.1:$PORT")
    else WRK_ARGS=(-H "Authorization: Bearer token-7" "http://127.0.0.1:$PORT$1"); fi
}

FAIL=0
for rep in $(seq 1 "$REPS"); do
    for s in $ONLY; do
        server_cmd "$s"
        srvlog="$LOGDIR/${s}_rep${rep}_server.log"
        log "=== $s rep$rep"
        start_server "$srvlog" taskset -c 0 -- "${CMD[@]}"
        if ! wait_ready /bare; then
            log "!!! $s did not answer 200 on /bare (log: $srvlog)"; tail -5 "$srvlog" >&2; FAIL=1; stop_server; continue
        fi
        if ! check_app; then log "!!! $s answers wrongly: not timed"; FAIL=1; stop_server; continue; fi
        for run in $RUNS; do
            wrk_args "$run"
            timed_run "$s" "$rep" "$run" "$LOGDIR/${s}_rep${rep}_$(tr '/' '_' <<< "$run").txt"
        done
        stop_server
    done
done
python3 "$HERE/app_report.py" "$RESULTS" || true
exit "$FAIL"
