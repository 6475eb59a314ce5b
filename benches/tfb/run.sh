#!/usr/bin/env bash
# run.sh — TechEmpower's seven test types for fasterapi and its peers, against a real
# PostgreSQL, on this machine, in one command:
#
#   benches/tfb/run.sh           database up, build/install, verify every server, timed runs,
#                                out/tfb/results.tsv, then the tables and charts (report.py)
#   benches/tfb/run.sh --smoke   fasterapi's servers only, 1-second runs (after 1 s of warm-up): every server must
#                                pass the verifier and answer every timed request 2xx (CI runs
#                                it with VENV=.venv SKIP_BUILD=1: the test command's build);
#                                also runs fasterapi-pg's tests against the database
#
# Servers (ONLY picks some): Rust handlers — fasterapi-rs, actix, axum, minihttp
# (benches/tfb/rust, a Cargo workspace of its own; minihttp is TechEmpower's may-minihttp entry
# on may_postgres, vendored there as that driver is published on GitHub only); Python handlers — fasterapi-py (async def + asyncpg: the
# FastAPI file with the imports changed), fasterapi-py-sync (def + psycopg 3), fasterapi-py-pg
# (async def + fasterapi.pg, the framework's own driver), fastapi-uvicorn,
# fastapi-granian (the FastAPI app, asyncpg), robyn (asyncpg).
# Each server is first run through verify.py; one that fails is reported (out/tfb/verify/) and
# not timed. Then, per repeat, the servers take turns (each started afresh, warmed up, then
# every test type timed back to back, stopped), so drift hits them all alike.
# Test types and their URLs: json /json, plaintext /plaintext (pipelined 16 deep, as
# TechEmpower runs it), db /db, queries /queries?queries=20, fortunes /fortunes,
# updates /updates?queries=20, cached /cached-queries?count=100.
# Scaled to this 2-core machine: every server runs 2 workers/threads; the server, PostgreSQL
# and wrk share both cores (nothing is pinned: the database needs CPU too); wrk -t1 at CONNS
# connections (TechEmpower: 16-512 for the database tests on large machines).
#
# Settings (environment): ONLY="..." TESTS="json plaintext db queries fortunes updates cached"
#   DURATION=10 REPS=2 CONNS=64 WARMUP=2 PORT=18680 TFB_POOL=CONNS/2 (Python database
#   connections per process: one per request in flight, as the 2 processes share CONNS;
#   fewer, and requests queue for a connection while others wait on the database)
#   VENV=benches/load/out/venv SKIP_BUILD=1 (keep the installed fasterapi)
#   OUT=benches/tfb/out/tfb DB_PORT=5433 DB_DIR=benches/tfb/out/pg (db.sh's) READY_TIMEOUT=60
#   TFB_TARGET_DIR=benches/tfb/rust/target (the Rust servers' build)
# Besides req/s and latency, each timed run records the CPU time (utime+stime from /proc)
# of the server's processes and of PostgreSQL's (the postmaster and every process it
# started: the backends serving the server, WAL writer, checkpointer, autovacuum), so the
# tables give both per request: on the database tests PostgreSQL's share is most of it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOAD="$ROOT/benches/load"
PEERS="$ROOT/benches/peers"
OUT="${OUT:-$HERE/out/tfb}"
VENV="${VENV:-$LOAD/out/venv}"
# The bench workspace's target dir (its own, whatever CARGO_TARGET_DIR says for the project's)
TFB_TARGET="${TFB_TARGET_DIR:-$HERE/rust/target}"
RUST_BIN="$TFB_TARGET/release"

RUST_SERVERS="fasterapi-rs actix axum minihttp"
PY_SERVERS="fasterapi-py fasterapi-py-sync fasterapi-py-pg fastapi-uvicorn fastapi-granian robyn"
ONLY="${ONLY:-$RUST_SERVERS $PY_SERVERS}"
TESTS="${TESTS:-json plaintext db queries fortunes updates cached}"
DURATION="${DURATION:-10}"
REPS="${REPS:-2}"
CONNS="${CONNS:-64}"
WARMUP="${WARMUP:-2}"
PORT="${PORT:-18680}"
SKIP_BUILD="${SKIP_BUILD:-0}"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
export TFB_POOL="${TFB_POOL:-$(( CONNS / 2 ))}"
SMOKE=0

log() { echo "[tfb $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=../load/lib.sh
source "$LOAD/lib.sh"
cleanup() { stop_server; "$HERE/db.sh" stop; }
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

if [[ "${1:-}" == "--smoke" ]]; then
    # A second of warm-up: the cached-queries test's first requests each read all of World
    # to fill the cache (64 at once, one per connection, take more than a second on 2 cores).
    SMOKE=1 REPS=1 DURATION=1 WARMUP=1
    ONLY="${SMOKE_ONLY:-fasterapi-rs fasterapi-py fasterapi-py-sync fasterapi-py-pg}"
    OUT="$HERE/out/tfb-smoke"
    shift
fi
[[ $# -eq 0 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
mkdir -p "$OUT/logs" "$OUT/verify"
RESULTS="$OUT/results.tsv"
has() { [[ " $ONLY " == *" $1 "* ]]; }
for s in $ONLY; do
    [[ " $RUST_SERVERS $PY_SERVERS " == *" $s "* ]] || die "unknown server '$s' (known: $RUST_SERVERS $PY_SERVERS)"
done

path_of() {
    case "$1" in
        json) echo /json ;; plaintext) echo /plaintext ;; db) echo /db ;;
        queries) echo "/queries?queries=20" ;; fortunes) echo /fortunes ;;
        updates) echo "/updates?queries=20" ;; cached) echo "/cached-queries?count=100" ;;
        *) die "unknown test type '$1'" ;;
    esac
}
for t in $TESTS; do path_of "$t" > /dev/null; done
# tests_of SERVER: the test types it is timed on (and verified for)
tests_of() {
    echo "$TESTS"
}
verify_names() {  # the verifier's names of a server's test types
    local t out=(); for t in $(tests_of "$1"); do out+=("${t/cached/cached-queries}"); done
    local IFS=,; echo "${out[*]}"
}

# server_cmd NAME: sets CMD ({PORT} = the port)
server_cmd() {
    local V="$VENV/bin" PY="$PEERS/py"
    case "$1" in
        fasterapi-rs|actix|axum|minihttp)
                           CMD=("$RUST_BIN/tfb-$1" --port "{PORT}" --workers 2) ;;
        fasterapi-py)      CMD=("$V/python" "$HERE/py/tfb_fasterapi.py" --port "{PORT}" --workers 2) ;;
        fasterapi-py-sync) CMD=("$V/python" "$HERE/py/tfb_fasterapi_sync.py" --port "{PORT}" --workers 2) ;;
        fasterapi-py-pg)   CMD=("$V/python" "$HERE/py/tfb_fasterapi_pg.py" --port "{PORT}" --workers 2) ;;
        fastapi-uvicorn)   CMD=("$V/uvicorn" --app-dir "$PY" tfb_fastapi:app --host 127.0.0.1
                                --port "{PORT}" --workers 2 --loop uvloop --http httptools
                                --no-access-log --log-level warning) ;;
        fastapi-granian)   CMD=("$V/granian" --interface asgi --host 127.0.0.1 --port "{PORT}"
                                --workers 2 --runtime-threads 1 --http 1 --no-ws --loop uvloop
                                --log-level warning --working-dir "$PY" tfb_fastapi:app) ;;
        robyn)             CMD=("$V/python" "$PY/tfb_robyn.py" --processes 2 --workers 1
                                --log-level WARNING --disable-openapi) ;;
    esac
}

# --- database, builds, installs ------------------------------------------------------------
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl > /dev/null; }
ensure_wrk
eval "$("$HERE/db.sh" start)"
export DB_HOST DB_PORT DB_USER DB_PASSWORD DB_NAME

db_ticks() {  # utime+stime of PostgreSQL's postmaster and of every process it started
    local pm f line t=0
    local -a a
    pm=$(head -1 "$DB_DATA/postmaster.pid" 2>/dev/null) || { echo 0; return; }
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null < "$f" || continue
        read -r -a a <<< "${line##*) }"
        if [[ "$f" == "/proc/$pm/stat" || "${a[1]}" == "$pm" ]]; then
            t=$((t + a[11] + a[12]))
        fi
    done
    echo "$t"
}

rust_wanted=()
for s in fasterapi-rs actix axum minihttp; do has "$s" && rust_wanted+=("$s"); done
if (( ${#rust_wanted[@]} )); then
    log "building ${rust_wanted[*]} (cargo, release)"
    pkgs=(); for s in "${rust_wanted[@]}"; do pkgs+=(-p "tfb-$s"); done
    # Not --locked: fasterapi is a path dependency, and the lock file follows its dependencies
    # (the peers' versions stay as locked).
    cargo build --release -q --manifest-path "$HERE/rust/Cargo.toml" --target-dir "$TFB_TARGET" "${pkgs[@]}"
    if (( SMOKE )) && has fasterapi-rs; then
        log "testing fasterapi-pg (fasterapi's PostgreSQL client) against the database"
        cargo test --release -q --manifest-path "$ROOT/Cargo.toml" -p fasterapi-pg -- --include-ignored
    fi
fi
py_wanted=0
py_mods="asyncpg, psycopg_pool, jinja2"
for s in $PY_SERVERS; do has "$s" && py_wanted=1; done
has fastapi-uvicorn && py_mods+=", fastapi, uvicorn, uvloop, httptools"
has fastapi-granian && py_mods+=", fastapi, granian, uvloop"
has robyn && py_mods+=", robyn, orjson"
if (( py_wanted )); then
    if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import $py_mods" 2>/dev/null; then
        log "installing the Python drivers (and peers) into $VENV"
        [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
        reqs=(-r "$HERE/requirements.txt")
        [[ "$py_mods" == *fastapi* || "$py_mods" == *robyn* ]] && reqs+=(-r "$PEERS/py/requirements.txt" -r "$LOAD/requirements.txt")
        "$VENV/bin/pip" install -q "${reqs[@]}"
    fi
    if { has fasterapi-py || has fasterapi-py-sync || has fasterapi-py-pg; } && { [[ "$SKIP_BUILD" != 1 ]] || ! "$VENV/bin/python" -c 'import fasterapi' 2>/dev/null; }; then
        log "installing the fasterapi Python package into $VENV (release build)"
        "$VENV/bin/pip" install -q --force-reinstall --no-deps "$ROOT/fasterapi-py"
    fi
fi

# --- verification --------------------------------------------------------------------------
start() {  # start NAME: the server, ready on /json
    server_cmd "$1"
    WORKERS=2 start_server "$OUT/logs/$1.log" -- "${CMD[@]}"
    wait_ready /json || {
        { echo "$1 did not come up:"; tail -5 "$OUT/logs/$1.log"; } > "$OUT/verify/$1.txt"
        stop_server; return 1
    }
}
verified=()
for s in $ONLY; do
    log "verifying $s"
    if start "$s" && "$VENV/bin/python" "$HERE/verify.py" "http://127.0.0.1:$PORT" \
            --tests "$(verify_names "$s")" --json "$OUT/verify/$s.json" > "$OUT/verify/$s.txt" 2>&1; then
        verified+=("$s")
    else
        log "$s FAILED verification (not timed):"; sed 's/^/    /' "$OUT/verify/$s.txt" >&2 || true
    fi
    stop_server
done
(( ${#verified[@]} )) || die "no server passed verification"

# --- timed runs ----------------------------------------------------------------------------
printf 'server\ttest\trep\trequests\treq_s\tp50_ms\tp99_ms\tnon2xx\tsock_errors\tsrv_cpu_s\tdb_cpu_s\n' > "$RESULTS"
{
    printf 'key\tvalue\n'
    printf 'nproc\t%s\n' "$(nproc)"
    printf 'cpu_model\t%s\n' "$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    printf 'postgres\t%s\n' "$("$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/postgres" --version)"
    printf 'settings\tDURATION=%s REPS=%s CONNS=%s TESTS="%s" TFB_POOL=%s\n' "$DURATION" "$REPS" "$CONNS" "$TESTS" "$TFB_POOL"
    printf 'verified\t%s\n' "${verified[*]}"
    printf 'failed\t%s\n' "$(for s in $ONLY; do [[ " ${verified[*]} " == *" $s "* ]] || printf '%s ' "$s"; done)"
    printf 'date\t%s\n' "$(date -u +%FT%TZ)"
} > "$OUT/meta.tsv"
failed_any=0
for rep in $(seq 1 "$REPS"); do
    # rotate the order each repeat
    order=("${verified[@]:$(( (rep - 1) % ${#verified[@]} ))}" "${verified[@]:0:$(( (rep - 1) % ${#verified[@]} ))}")
    for s in "${order[@]}"; do
        start "$s" || { failed_any=1; continue; }
        if (( WARMUP > 0 )); then
            for t in $(tests_of "$s"); do wrk -t1 -c"$CONNS" -d"${WARMUP}s" "http://127.0.0.1:$PORT$(path_of "$t")" > /dev/null 2>&1 || true; done
        fi
        for t in $(tests_of "$s"); do
            url="http://127.0.0.1:$PORT$(path_of "$t")"
            f="$OUT/logs/wrk-$s-$t-$rep.txt"
            pipe=(); [[ "$t" == plaintext ]] && pipe=(-s "$LOAD/pipeline.lua")
            t0=$(server_ticks); d0=$(db_ticks)
            if [[ "$t" == plaintext ]]; then
                wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency "${pipe[@]}" "$url" -- 16 > "$f" 2>&1 || true
            else
                wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency "$url" > "$f" 2>&1 || true
            fi
            t1=$(server_ticks); d1=$(db_ticks)
            read -r req rps p50 p99 bad sock <<< "$(parse_wrk "$f")"
            cpu=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
            dbcpu=$(awk -v t="$((d1 - d0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$t" "$rep" "$req" "$rps" "$p50" "$p99" "$bad" "$sock" "$cpu" "$dbcpu" >> "$RESULTS"
            log "$s $t rep $rep: $rps req/s (non-2xx $bad, socket errors $sock)"
            if [[ "$bad" != 0 || "$rps" == NA ]]; then failed_any=1; fi
        done
        stop_server
    done
done

if (( SMOKE )); then
    for s in $ONLY; do [[ " ${verified[*]} " == *" $s "* ]] || die "smoke: $s failed verification"; done
    (( failed_any == 0 )) || die "smoke: a server failed to answer or answered non-2xx (see $RESULTS)"
    log "smoke OK: ${verified[*]} verified and answered every test type"
    exit 0
fi
"$VENV/bin/python" "$HERE/report.py" "$OUT"
