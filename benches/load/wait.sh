#!/usr/bin/env bash
# wait.sh — the load benchmark of Python handlers that WAIT: fasterapi's Python front
# against FastAPI (uvicorn, granian) and Robyn, same machine, same run, same client.
#
#   benches/load/wait.sh            install what is missing, run every server, write
#                                   out/wait/results.tsv
#   benches/load/wait.sh --smoke    fasterapi-py only, 1w-pinned, 1-second runs of every
#                                   route and of the mixed run; exit non-zero unless every
#                                   answer is 2xx without socket errors (not part of CI)
#   benches/load/wait_report.py     then: Markdown table (median req/s and p99 per server,
#                                   config and route, ratio fasterapi-py / fastapi-uvicorn)
#
# The apps (the same four routes, of the same kinds, in each):
#   fasterapi-py     examples/python/wait_app.py        (FasterAPI, app.run(workers=N))
#   fastapi-uvicorn  benches/peers/py/wait_fastapi.py   uvicorn, uvloop + httptools
#   fastapi-granian  benches/peers/py/wait_fastapi.py   granian --interface asgi, uvloop
#   robyn            benches/peers/py/wait_robyn.py     --processes N --workers 1
# Routes:  /wait     async def, await asyncio.sleep(0.01)
#          /gather   async def, await asyncio.gather(three asyncio.sleep(0.01))
#          /block    def, time.sleep(0.01) (fasterapi: no blocking= option, its default rule)
#          /trivial  def, returns {"message": "Hello, World!"}
#
# Setup (idempotent, shared with run.sh): installs wrk (apt) when missing, creates
# benches/load/out/venv with the Python peers (benches/peers/py/requirements.txt) when
# missing, and installs fasterapi into it (`pip install ./fasterapi-py`, a release build of
# a few minutes; SKIP_BUILD=1 keeps an installed one).
#
# Each server, in each config, in each repeat: start it in its own process group (setsid),
# wait until /trivial answers 200, warm up, then
#   - one wrk run per route: wrk -c64 -d${DURATION}s --timeout 5s --latency, on /wait,
#     /gather, /block and /trivial;
#   - the mixed run: wrk on /trivial with 8 connections while another wrk loads /wait with
#     56 connections, both for the same duration: does waiting traffic starve the rest?
#     (/trivial's req/s and p99 are the point; /wait's req/s is recorded too).
# Configs: 1w-pinned   1 worker/process, server on core 0 (taskset), every wrk on core 1, -t1
#          2w-unpinned 2 workers/processes, nothing pinned, wrk -t2
# Order: config 1 rep 1: all servers, rep 2: all servers, ...; so drift hits all alike.
# Before each measured run we wait (up to BG_WAIT s) while other processes keep the CPU
# busier than MAX_BG_BUSY %, after one request to /trivial has been answered (so that what
# the previous run left queued is done). Every wrk is wrapped in `timeout` (DURATION + 30 s).
# With the defaults (4 servers, 2 configs, 2 repeats, 10 s runs) this takes about 15 minutes.
#
# Settings (environment):
#   DURATION=10  seconds per measured run      REPS=2      repeats per config
#   ONLY="fasterapi-py fastapi-uvicorn fastapi-granian robyn"   servers (default: all four)
#   CONFIGS="1w-pinned 2w-unpinned"   CONNS=64   PATHS="/wait /gather /block /trivial"
#   MIX=1 (0: no mixed run)   MIX_TRIVIAL_CONNS=8   MIX_WAIT_CONNS=56
#   WARMUP=4 (s, split over the paths)   PORT=18480   OUT=benches/load/out/wait (results)
#   VENV=benches/load/out/venv   WAIT_APP=examples/python/wait_app.py   SKIP_BUILD=1 (keep
#   the installed fasterapi)   MAX_BG_BUSY=15  BG_WAIT=180   READY_TIMEOUT=30
# Output (under OUT): results.tsv (one row per wrk run: server, config, rep, path, conns,
# req_s, p50_ms, p99_ms, non2xx, sock_errors, run = solo|mixed, requests, bg_busy_pct, date;
# an earlier results.tsv is moved aside to results-<date>.tsv unless APPEND=1), meta.tsv
# (machine, tool and package versions, settings, commands), logs/ (raw wrk output, server logs).
# All traffic goes to 127.0.0.1. Servers (and wrk) are always stopped on exit (trap).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="$ROOT/benches/peers"
OUT="${OUT:-$HERE/out/wait}"
LOGDIR="$OUT/logs"
RESULTS="$OUT/results.tsv"
VENV="${VENV:-$HERE/out/venv}"
WAIT_APP="${WAIT_APP:-$ROOT/examples/python/wait_app.py}"

SERVERS="fasterapi-py fastapi-uvicorn fastapi-granian robyn"
ONLY="${ONLY:-$SERVERS}"
CONFIGS="${CONFIGS:-1w-pinned 2w-unpinned}"
DURATION="${DURATION:-10}"
REPS="${REPS:-2}"
CONNS="${CONNS:-64}"
PATHS="${PATHS:-/wait /gather /block /trivial}"
MIX="${MIX:-1}"
MIX_TRIVIAL_CONNS="${MIX_TRIVIAL_CONNS:-8}"
MIX_WAIT_CONNS="${MIX_WAIT_CONNS:-56}"
WARMUP="${WARMUP:-4}"
PORT="${PORT:-18480}"
SKIP_BUILD="${SKIP_BUILD:-0}"
MAX_BG_BUSY="${MAX_BG_BUSY:-15}"
BG_WAIT="${BG_WAIT:-180}"
READY_TIMEOUT="${READY_TIMEOUT:-30}"
SMOKE=0

log() { echo "[wait $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib.sh
source "$HERE/lib.sh"

# --- the server we run (at most one at a time), the background wrk, and their cleanup ----
# (stop_server, start_server, wait_ready and the CPU accounting come from lib.sh)
# wrk runs in the background and we `wait` for it, so that a signal to this script is
# handled at once (bash runs traps only between foreground commands)
WRK_PIDS=()
stop_wrk() {
    local p
    for p in "${WRK_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true   # `timeout` passes it on to its wrk
        wait "$p" 2>/dev/null || true
    done
    WRK_PIDS=()
}
cleanup() { stop_wrk; stop_server; }
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM


wait_quiet() {  # sets BG; waits while other processes keep the CPU busy
    if (( SMOKE )); then BG=NA; return 0; fi
    BG=$(cpu_busy_pct)
    local waited=0
    while (( BG > MAX_BG_BUSY && waited < BG_WAIT )); do
        log "background CPU ${BG}% (> ${MAX_BG_BUSY}%), load $(cut -d' ' -f1-3 /proc/loadavg): waiting"
        sleep 2; waited=$((waited + 3)); BG=$(cpu_busy_pct)
    done
    (( BG <= MAX_BG_BUSY )) || log "WARNING: measuring with ${BG}% background CPU"
}

CLK_TCK="$(getconf CLK_TCK)"
us_per_req() {  # TICKS REQUESTS -> server CPU µs per request
    awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n + 0 > 0) printf "%.1f", t / hz * 1e6 / n; else print "NA" }'
}

# --- arguments ---------------------------------------------------------------------------
if [[ "${1:-}" == "--smoke" ]]; then
    SMOKE=1
    ONLY=fasterapi-py CONFIGS=1w-pinned REPS=1 DURATION=1 WARMUP=0
    OUT="$HERE/out/wait-smoke"; LOGDIR="$OUT/logs"; RESULTS="$OUT/results.tsv"
    shift
fi
[[ $# -eq 0 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

# --- setup -------------------------------------------------------------------------------
mkdir -p "$OUT" "$LOGDIR"
has() { [[ " $ONLY " == *" $1 "* ]]; }
for s in $ONLY; do
    case "$s" in
        fasterapi-py|fastapi-uvicorn|fastapi-granian|robyn) ;;
        *) die "unknown server '$s' (known: $SERVERS)" ;;
    esac
done
for cfg in $CONFIGS; do
    case "$cfg" in 1w-pinned|2w-unpinned) ;; *) die "unknown config '$cfg' (known: 1w-pinned 2w-unpinned)" ;; esac
done
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl > /dev/null; }
for t in taskset setsid timeout python3; do command -v "$t" >/dev/null || die "missing tool: $t"; done
ensure_wrk
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import fastapi, uvicorn, granian, robyn, uvloop, httptools' 2>/dev/null; then
    log "creating $VENV (Python peers; the report tooling of run.sh too, so that both share it)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$PEERS/py/requirements.txt" -r "$HERE/requirements.txt"
fi
if has fasterapi-py; then
    if [[ "$SKIP_BUILD" != 1 ]] || ! "$VENV/bin/python" -c 'import fasterapi' 2>/dev/null; then
        log "installing the fasterapi Python package into $VENV (maturin, release build)"
        "$VENV/bin/pip" install -q --force-reinstall --no-deps "$ROOT/fasterapi-py"
    fi
fi
if (( SMOKE )); then
    # the machine may be shared with other benchmarks: take the first free port of 20
    tries=0
    until port_free || (( ++tries >= 20 )); do PORT=$((PORT + 1)); done
fi

# server_cmd NAME WORKERS: sets CMD, the server's command line ({PORT} = the port)
server_cmd() {
    local w="$2" V="$VENV/bin" PY="$PEERS/py"
    case "$1" in
        fasterapi-py)    CMD=("$V/python" "$WAIT_APP" --port "{PORT}" --workers "$w") ;;
        robyn)           CMD=("$V/python" "$PY/wait_robyn.py" --processes "$w" --workers 1
                              --log-level WARNING --disable-openapi) ;;
        fastapi-uvicorn) CMD=("$V/uvicorn" --app-dir "$PY" wait_fastapi:app --host 127.0.0.1
                              --port "{PORT}" --workers "$w" --loop uvloop --http httptools
                              --log-level warning --no-access-log) ;;
        fastapi-granian) CMD=("$V/granian" --interface asgi --host 127.0.0.1 --port "{PORT}"
                              --workers "$w" --runtime-threads 1 --http 1 --no-ws --loop uvloop
                              --log-level warning --working-dir "$PY" wait_fastapi:app) ;;
    esac
}

# --- metadata ----------------------------------------------------------------------------
{
    printf 'key\tvalue\n'
    printf 'nproc\t%s\n' "$(nproc)"
    printf 'cpu_model\t%s\n' "$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    printf 'kernel\t%s\n' "$(uname -srm)"
    printf 'wrk\t%s\n' "$(wrk -v 2>&1 | head -1 | sed 's/ *Copyright.*//')"
    printf 'python\t%s\n' "$("$VENV/bin/python" -V 2>&1)"
    printf 'fasterapi\tgit %s\n' "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    for p in fasterapi robyn granian fastapi uvicorn starlette uvloop httptools; do
        v="$("$VENV/bin/pip" show "$p" 2>/dev/null | sed -n 's/^Version: //p')"
        printf 'pkg_%s\t%s\n' "$p" "${v:-not installed}"
    done
    printf 'settings\tDURATION=%s REPS=%s CONFIGS="%s" CONNS="%s" PATHS="%s" MIX=%s MIX_TRIVIAL_CONNS=%s MIX_WAIT_CONNS=%s WARMUP=%s SMOKE=%s\n' \
        "$DURATION" "$REPS" "$CONFIGS" "$CONNS" "$PATHS" "$MIX" "$MIX_TRIVIAL_CONNS" "$MIX_WAIT_CONNS" "$WARMUP" "$SMOKE"
    printf 'wrk_cmd\t[taskset -c 1] wrk -t{1|2} -c{CONNS} -d%ss --timeout 5s --latency http://127.0.0.1:PORT/PATH\n' "$DURATION"
    printf 'mixed_cmd\t[taskset -c 1] wrk -t{1|2} -c%s ... /wait &  [taskset -c 1] wrk -t{1|2} -c%s ... /trivial\n' "$MIX_WAIT_CONNS" "$MIX_TRIVIAL_CONNS"
    for cfg in $CONFIGS; do
        case "$cfg" in 1w-pinned) w=1 pin_txt="taskset -c 0 " ;; *) w=2 pin_txt="" ;; esac
        for s in $ONLY; do
            server_cmd "$s" "$w"
            printf 'cmd_%s_%s\tPORT={PORT} %s%s\n' "$s" "$cfg" "$pin_txt" "$(sed "s|$ROOT/||g" <<< "${CMD[*]}")"
        done
    done
    printf 'date\t%s\n' "$(date -u +%FT%TZ)"
} > "$OUT/meta.tsv"

if [[ -f "$RESULTS" && "${APPEND:-0}" != 1 ]]; then
    mv "$RESULTS" "$OUT/results-$(date +%Y%m%d-%H%M%S).tsv"
    log "previous results moved aside to $OUT/results-<date>.tsv (APPEND=1 adds to them instead)"
fi
[[ -f "$RESULTS" ]] || printf 'server\tconfig\trep\tpath\tconns\treq_s\tp50_ms\tp99_ms\tnon2xx\tsock_errors\trun\trequests\tbg_busy_pct\tdate\tserver_cpu_us_per_req\n' > "$RESULTS"
row() {  # the fields of one results line, in header order
    local IFS=$'\t'; echo "$*" >> "$RESULTS"
}

FAIL=0
# record NAME CONFIG REP PATH CONNS RUN OUTFILE [SERVER_TICKS]: parse one wrk output, write
# its row (server CPU per request when the run's server ticks are given: solo runs)
record() {
    local name="$1" cfg="$2" rep="$3" path="$4" c="$5" run="$6" out="$7" ticks="${8:-}"
    local requests rps p50 p99 bad sock us=NA
    read -r requests rps p50 p99 bad sock < <(parse_wrk "$out")
    [[ -n "$ticks" ]] && us=$(us_per_req "$ticks" "$requests")
    row "$name" "$cfg" "$rep" "$path" "$c" "$rps" "$p50" "$p99" "$bad" "$sock" "$run" "$requests" "$BG" "$(date -Iseconds)" "$us"
    log "$name $cfg rep$rep $run $path c$c: $rps req/s p50 ${p50} p99 ${p99} ms, non-2xx $bad, sock $sock, server ${us} µs/req"
    if [[ "$requests" == NA || "$requests" == 0 || "$bad" != 0 || "$sock" != none ]]; then
        FAIL=1
        (( SMOKE )) && cat "$out" >&2
    fi
    return 0
}

# --- measured runs -----------------------------------------------------------------------
settle() {  # let the server finish what the previous run left queued: one answer on /trivial
    curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$PORT/trivial" || true
}
wrk_cmd() {  # CONNS PATH -> WRK (the command line)
    WRK=(timeout $((DURATION + 30)) "${LG_PIN[@]}" wrk -t"$WRK_THREADS" -c"$1" -d"${DURATION}s"
         --timeout 5s --latency "http://127.0.0.1:$PORT$2")
}
run_solo() {  # NAME CONFIG REP PATH CONNS
    local name="$1" cfg="$2" rep="$3" path="$4" c="$5"
    local out="$LOGDIR/${name}_${cfg}_rep${rep}_solo_c${c}_$(tr '/' '_' <<< "$path").txt"
    settle
    wait_quiet
    wrk_cmd "$c" "$path"
    local rc=0 t0 t1
    t0=$(server_ticks)
    "${WRK[@]}" > "$out" 2>&1 &
    WRK_PIDS=($!)
    wait "${WRK_PIDS[0]}" || rc=$?
    t1=$(server_ticks)
    WRK_PIDS=()
    (( rc == 0 )) || log "wrk exit $rc on $path (see $out)"
    record "$name" "$cfg" "$rep" "$path" "$c" solo "$out" $((t1 - t0))
}
run_mixed() {  # NAME CONFIG REP: /wait with MIX_WAIT_CONNS while /trivial with MIX_TRIVIAL_CONNS
    local name="$1" cfg="$2" rep="$3"
    local base="$LOGDIR/${name}_${cfg}_rep${rep}_mixed"
    local out_w="${base}_c${MIX_WAIT_CONNS}__wait.txt" out_t="${base}_c${MIX_TRIVIAL_CONNS}__trivial.txt" rc=0
    settle
    wait_quiet
    wrk_cmd "$MIX_WAIT_CONNS" /wait
    "${WRK[@]}" > "$out_w" 2>&1 &
    WRK_PIDS=($!)
    wrk_cmd "$MIX_TRIVIAL_CONNS" /trivial
    "${WRK[@]}" > "$out_t" 2>&1 &
    WRK_PIDS+=($!)
    wait "${WRK_PIDS[1]}" || rc=$?
    (( rc == 0 )) || log "wrk exit $rc on mixed /trivial (see $out_t)"
    rc=0
    wait "${WRK_PIDS[0]}" || rc=$?
    (( rc == 0 )) || log "wrk exit $rc on mixed /wait (see $out_w)"
    WRK_PIDS=()
    record "$name" "$cfg" "$rep" /trivial "$MIX_TRIVIAL_CONNS" mixed "$out_t"
    record "$name" "$cfg" "$rep" /wait "$MIX_WAIT_CONNS" mixed "$out_w"
}

# bench_server NAME CONFIG REP WORKERS
bench_server() {
    local name="$1" cfg="$2" rep="$3" w="$4" p c
    server_cmd "$name" "$w"
    local srvlog="$LOGDIR/${name}_${cfg}_rep${rep}_server.log"
    log "=== $name $cfg rep$rep: ${SRV_PIN[*]} ${CMD[*]}"
    WORKERS="$w" start_server "$srvlog" "${SRV_PIN[@]}" -- "${CMD[@]}"
    if ! wait_ready /trivial; then
        log "!!! $name did not answer 200 on /trivial; skipped (log: $srvlog)"; tail -5 "$srvlog" >&2
        FAIL=1; stop_server; return 0
    fi
    for p in $PATHS; do
        log "GET $p -> $(curl -s --max-time 6 -w ' [%{http_code} %{content_type} %{time_total}s]' "http://127.0.0.1:$PORT$p" | head -c 120)"
    done
    if (( WARMUP > 0 )); then
        local per=$(( WARMUP / $(wc -w <<< "$PATHS") ))
        (( per >= 1 )) || per=1
        for p in $PATHS; do
            timeout $((per + 10)) "${LG_PIN[@]}" wrk -t"$WRK_THREADS" -c"${CONNS%% *}" -d"${per}s" \
                --timeout 5s "http://127.0.0.1:$PORT$p" > /dev/null 2>&1 || true
        done
    fi
    for c in $CONNS; do
        for p in $PATHS; do run_solo "$name" "$cfg" "$rep" "$p" "$c"; done
    done
    if (( MIX == 1 )); then run_mixed "$name" "$cfg" "$rep"; fi
    if ! kill -0 "$SRV_PID" 2>/dev/null; then
        log "WARNING: $name died during the run"; tail -5 "$srvlog" >&2; FAIL=1
    fi
    stop_server
}

# --- the run: config x rep x server, servers alternating ---------------------------------
for cfg in $CONFIGS; do
    case "$cfg" in
        1w-pinned)   w=1; SRV_PIN=(taskset -c 0); LG_PIN=(taskset -c 1); WRK_THREADS=1 ;;
        2w-unpinned) w=2; SRV_PIN=();             LG_PIN=();             WRK_THREADS=2 ;;
    esac
    for rep in $(seq 1 "$REPS"); do
        for s in $ONLY; do
            bench_server "$s" "$cfg" "$rep" "$w"
            sleep 1
        done
    done
done
if (( SMOKE )); then
    (( FAIL == 0 )) || die "smoke failed (non-2xx, socket errors, no answer or a dead server; see $LOGDIR)"
    log "smoke ok"
    exit 0
fi
(( FAIL == 0 )) || log "WARNING: some runs had non-2xx answers, socket errors or no answers (see the rows)"
log "done: $RESULTS (then: python3 $HERE/wait_report.py --out $OUT)"
