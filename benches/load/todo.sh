#!/usr/bin/env bash
# todo.sh — the todo example (examples/todo.rs) against the same app written with axum
# (benches/peers/rust/axum-todo) and actix-web (actix-todo: POST /todos and GET /todos/{id}
# only), each with its framework's CORS on, same run, same client: server CPU per request
# on GET /todos/1 and POST /todos (a JSON body parsed into a struct, the created item
# answered, 201).
#
#   benches/load/todo.sh          -> benches/load/out/todo/results.tsv (+ a line per run)
#
# Each server in turn, REPS times interleaved (rep 1: every server, rep 2: ...): started
# with one worker pinned to core 0 (taskset), the client (wrk -t1, CONNS connections) on
# core 1; one todo created so that GET /todos/1 finds it; per path a 1 s warm-up, then a
# DURATION-second wrk run whose server CPU (utime+stime of the server's process group,
# from /proc) is divided by the requests served. POST /todos adds an item per request
# to every server alike. INSTR=1 adds callgrind instruction counts per request (N
# requests, callgrind.sh + fixed_client.py; deterministic, user space only).
# Settings: DURATION=5 REPS=3 CONNS=64 ONLY="fasterapi axum actix" PORT=18480 N=20000
#   INSTR=0 SKIP_BUILD=1 (reuse binaries) OUT=benches/load/out
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-$HERE/out}/todo"
DURATION="${DURATION:-5}"
REPS="${REPS:-3}"
CONNS="${CONNS:-64}"
ONLY="${ONLY:-fasterapi axum actix}"
PORT="${PORT:-18480}"
N="${N:-20000}"
INSTR="${INSTR:-0}"
READY_TIMEOUT="${READY_TIMEOUT:-30}"
CLK_TCK="$(getconf CLK_TCK)"
TARGET_DIR="${CARGO_TARGET_DIR:+$(cd "$ROOT" && realpath -m "$CARGO_TARGET_DIR")}"
PEER_BIN="${TARGET_DIR:-$ROOT/benches/peers/rust/target}/release"
TODO_BIN="${TARGET_DIR:-$ROOT/target}/release/examples/todo"
BODY='{"title":"Buy milk and eggs for the week","completed":false}'

log() { echo "[todo $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib.sh
source "$HERE/lib.sh"
trap stop_server EXIT
trap 'log "interrupted"; exit 130' INT TERM

ensure_wrk
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl > /dev/null; }
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && cargo build --release --locked --example todo)
    cargo build --release --locked --manifest-path "$ROOT/benches/peers/rust/Cargo.toml" \
        -p peer-axum-todo -p peer-actix-todo
fi

command_of() {
    case "$1" in
        fasterapi) echo "$TODO_BIN --port {PORT} --threads 1" ;;
        axum) echo "$PEER_BIN/peer-axum-todo --port {PORT} --workers 1" ;;
        actix) echo "$PEER_BIN/peer-actix-todo --port {PORT} --workers 1" ;;
        *) die "unknown server $1" ;;
    esac
}

mkdir -p "$OUT/logs"
TSV="$OUT/results.tsv"
printf 'name\trep\tpath\tconns\trequests\treq_s\tp99_ms\tnon2xx\tserver_cpu_us_per_req\tbg_busy_pct\n' > "$TSV"

measure() {  # NAME REP LABEL -- wrk args...
    local name="$1" rep="$2" label="$3"; shift 4
    local out="$OUT/logs/${name}_${rep}_${label//\//_}.txt" s0 s1 bg
    bg="$(cpu_busy_pct)"
    timeout 10 taskset -c 1 wrk -t1 -c"$CONNS" -d1s "$@" > /dev/null 2>&1 || true
    s0="$(server_ticks)"
    timeout $((DURATION + 30)) taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency "$@" > "$out" 2>&1 \
        || log "wrk exit $? on $name $label"
    s1="$(server_ticks)"
    local requests rps p50 p99 bad sock us
    read -r requests rps p50 p99 bad sock < <(parse_wrk "$out")
    us="$(echo "($s1 - $s0) * 1000000 / $CLK_TCK / $requests" | bc -l)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\n' "$name" "$rep" "$label" "$CONNS" "$requests" "$rps" "$p99" "$bad" "$us" "$bg" >> "$TSV"
    log "$name rep$rep $label: $rps req/s, p99 $p99 ms, non-2xx $bad, server $(printf %.2f "$us") µs/req (machine busy before: $bg%)"
}

for rep in $(seq 1 "$REPS"); do
    for name in $ONLY; do
        read -r -a cmd <<< "$(command_of "$name")"
        start_server "$OUT/logs/${name}_server.log" taskset -c 0 -- "${cmd[@]}"
        wait_ready /todos || die "$name did not start (see $OUT/logs/${name}_server.log)"
        curl -s -o /dev/null --max-time 5 -H 'content-type: application/json' -d "$BODY" "http://127.0.0.1:$PORT/todos" \
            || die "$name did not answer POST /todos"
        [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/todos/1")" == 200 ]] \
            || die "$name: GET /todos/1 is not 200"
        measure "$name" "$rep" "GET/todos/1" -- "http://127.0.0.1:$PORT/todos/1"
        measure "$name" "$rep" "POST/todos" -- -s "$HERE/post_todo.lua" "http://127.0.0.1:$PORT/todos"
        stop_server
    done
done

if [[ "$INSTR" == 1 ]]; then
    ITSV="$OUT/instructions.tsv"
    printf 'name\tpath\trequests\tinstr_per_req\n' > "$ITSV"
    for name in $ONLY; do
        read -r -a cmd <<< "$(command_of "$name")"
        # POST /todos only: a fresh server under callgrind has no todo for GET /todos/1.
        BODY="$BODY" PORT="$PORT" "$HERE/callgrind.sh" "$name-POST" /todos "$N" -- "${cmd[@]}" | tee -a "$ITSV"
    done
fi
log "wrote $TSV"
