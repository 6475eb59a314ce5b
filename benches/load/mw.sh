#!/usr/bin/env bash
# mw.sh — middleware under load: fasterapi's Python front against FastAPI on uvicorn, the
# same app file, same run, same client.
#
#   benches/load/mw.sh           install what is missing, run, write out/mw/results.tsv and
#                                print the ratio table (app_report.py)
#   benches/load/mw.sh --smoke   fasterapi only, 1-second runs; non-zero exit unless every
#                                answer is 2xx (also checks the apps answer what they should)
#
# The apps: benches/peers/py/middleware_apps.py, written for FastAPI. fasterapi serves a copy
# with the imports changed by `sed s/fastapi/fasterapi/` (OUT/middleware_apps_fasterapi.py),
# nothing else. Runs, per server and repeat (servers alternate within each repeat):
#   cors/preflight  cors_app: OPTIONS /items with Origin, Access-Control-Request-Method and
#                   -Headers (preflight.lua), answered 200 by CORSMiddleware
#   cors/items      cors_app: GET /items with an allowed Origin (a CORS-wrapped GET)
#   mw/items        mw_app: GET /items behind one @app.middleware("http") function
# 1 worker/process, server pinned to core 0, wrk to core 1, -t1 -c64. Server CPU per request
# from the server's process group's utime+stime over the run.
#
# Settings (environment): DURATION=10 REPS=3 CONNS=64 ONLY="fasterapi-py fastapi-uvicorn"
#   RUNS="cors/preflight cors/items mw/items" PORT=18680 WARMUP=2 VENV=benches/load/out/venv
#   SKIP_BUILD=1 (keep the installed fasterapi) OUT=benches/load/out/mw MAX_BG_BUSY=15
#   BG_WAIT=180 READY_TIMEOUT=30
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="$ROOT/benches/peers"
OUT="${OUT:-$HERE/out/mw}"
LOGDIR="$OUT/logs"
RESULTS="$OUT/results.tsv"
VENV="${VENV:-$HERE/out/venv}"
APP="$PEERS/py/middleware_apps.py"

SERVERS="fasterapi-py fastapi-uvicorn"
ONLY="${ONLY:-fasterapi-py fastapi-uvicorn}"
DURATION="${DURATION:-10}"
REPS="${REPS:-3}"
CONNS="${CONNS:-64}"
RUNS="${RUNS:-cors/preflight cors/items mw/items}"
WARMUP="${WARMUP:-2}"
PORT="${PORT:-18680}"
SKIP_BUILD="${SKIP_BUILD:-0}"
MAX_BG_BUSY="${MAX_BG_BUSY:-15}"
BG_WAIT="${BG_WAIT:-180}"
READY_TIMEOUT="${READY_TIMEOUT:-30}"
SMOKE=0
ORIGIN="https://app.example"

log() { echo "[mw $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib.sh
source "$HERE/lib.sh"
trap stop_server EXIT
trap 'log "interrupted"; exit 130' INT TERM

if [[ "${1:-}" == "--smoke" ]]; then
    SMOKE=1 ONLY=fasterapi-py REPS=1 DURATION=1 WARMUP=0
    OUT="$HERE/out/mw-smoke"; LOGDIR="$OUT/logs"; RESULTS="$OUT/results.tsv"
    shift
fi
[[ $# -eq 0 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

mkdir -p "$OUT" "$LOGDIR"
for s in $ONLY; do [[ " $SERVERS " == *" $s "* ]] || die "unknown server '$s' (known: $SERVERS)"; done
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl > /dev/null; }
for t in taskset setsid timeout python3; do command -v "$t" >/dev/null || die "missing tool: $t"; done
ensure_wrk
ensure_py_venv "fastapi uvicorn uvloop httptools"
if (( SMOKE )); then
    tries=0
    until port_free || (( ++tries >= 20 )); do PORT=$((PORT + 1)); done
fi

# The fasterapi copy: the imports changed, nothing else; `python FILE APP PORT` serves APP.
FAPP="$OUT/middleware_apps_fasterapi.py"
fasterapi_copy "$APP" "$FAPP" '    globals()[sys.argv[1]].run(port=int(sys.argv[2]), workers=1)'

server_cmd() {  # SERVER APP -> CMD
    local V="$VENV/bin"
    case "$1" in
        fasterapi-py)    CMD=("$V/python" "$FAPP" "$2" "{PORT}") ;;
        fastapi-uvicorn) CMD=("$V/uvicorn" --app-dir "$PEERS/py" "middleware_apps:$2" --host 127.0.0.1
                              --port "{PORT}" --workers 1 --loop uvloop --http httptools
                              --log-level warning --no-access-log) ;;
    esac
}

# What each app must answer (checked on every server before it is timed).
check_app() {  # APP
    local b="http://127.0.0.1:$PORT" got ok=1
    expect() {  # DESCRIPTION EXPECTED GOT
        if [[ "$3" != *"$2"* ]]; then log "!!! $1: expected '$2' in: $3"; ok=0; fi
    }
    if [[ "$1" == cors_app ]]; then
        got="$(curl -s -i -X OPTIONS -H "Origin: $ORIGIN" -H 'Access-Control-Request-Method: POST' \
            -H 'Access-Control-Request-Headers: x-token' "$b/items" | tr -d '\r' | tr 'A-Z' 'a-z')"
        expect "preflight status" "200 ok" "$got"
        expect "preflight origin" "access-control-allow-origin: $ORIGIN" "$got"
        expect "preflight methods" "access-control-allow-methods: get, post" "$got"
        got="$(curl -s -i -X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: GET' "$b/items" | tr -d '\r')"
        expect "refused preflight" "Disallowed CORS origin" "$got"
        got="$(curl -s -i -H "Origin: $ORIGIN" "$b/items" | tr -d '\r' | tr 'A-Z' 'a-z')"
        expect "GET origin" "access-control-allow-origin: $ORIGIN" "$got"
        expect "GET credentials" "access-control-allow-credentials: true" "$got"
        expect "GET vary" "vary: origin" "$got"
        expect "GET body" '{"items":[1,2,3]}' "$(tr -d ' ' <<< "$got")"
    else
        got="$(curl -s -i "$b/items" | tr -d '\r' | tr 'A-Z' 'a-z')"
        expect "middleware header" "x-served-by: middleware" "$got"
        expect "body" '{"items":[1,2,3]}' "$(tr -d ' ' <<< "$got")"
    fi
    (( ok ))
}

new_results

wrk_args() {  # RUN -> WRK_ARGS
    case "$1" in
        cors/preflight) WRK_ARGS=(-s "$HERE/preflight.lua" "http://127.0.0.1:$PORT/items") ;;
        cors/items)     WRK_ARGS=(-H "Origin: $ORIGIN" "http://127.0.0.1:$PORT/items") ;;
        mw/items)       WRK_ARGS=("http://127.0.0.1:$PORT/items") ;;
        *) die "unknown run '$1'" ;;
    esac
}

FAIL=0
for rep in $(seq 1 "$REPS"); do
    for app in cors_app mw_app; do
        runs=""
        for run in $RUNS; do [[ "${run%%/*}_app" == "$app" ]] && runs+=" $run"; done
        [[ -n "$runs" ]] || continue
        for s in $ONLY; do
            server_cmd "$s" "$app"
            srvlog="$LOGDIR/${s}_${app}_rep${rep}_server.log"
            log "=== $s $app rep$rep"
            start_server "$srvlog" taskset -c 0 -- "${CMD[@]}"
            if ! wait_ready /items; then
                log "!!! $s did not answer 200 on /items (log: $srvlog)"; tail -5 "$srvlog" >&2; FAIL=1; stop_server; continue
            fi
            if ! check_app "$app"; then log "!!! $s answers wrongly: not timed"; FAIL=1; stop_server; continue; fi
            for run in $runs; do
                wrk_args "$run"
                timed_run "$s" "$rep" "$run" "$LOGDIR/${s}_rep${rep}_$(tr '/' '_' <<< "$run").txt"
            done
            stop_server
        done
    done
done
python3 "$HERE/app_report.py" "$RESULTS" || true
exit "$FAIL"
