#!/usr/bin/env bash
# run.sh — the load benchmark: fasterapi against its peers, same machine, same run, same client.
#
#   benches/load/run.sh            build everything, run every server, write out/results.tsv
#   benches/load/run.sh --smoke    CI: build the hello example only, 1-second wrk run on each
#                                  path; exit non-zero unless every answer is 2xx without
#                                  socket errors (port: first free from SMOKE_PORT=18380)
#   benches/load/report.py         then: Markdown tables + benches/results.svg from the results
#
# Setup (idempotent): installs wrk (apt) and oha (cargo install, into out/tools) when missing,
# builds fasterapi's hello example and the Rust peers (benches/peers/rust), and creates
# out/venv with the Python peers (benches/peers/py/requirements.txt) and matplotlib. The
# Python fasterapi server (examples/python/bench_app.py) runs when that file exists, after
# `pip install ./fasterapi-py` into out/venv; otherwise it is skipped with a note.
#
# Each server, in each config, in each repeat: start it in its own process group, warm up,
# then one wrk run per {/plaintext, /json, /users/42, /plaintext pipelined x16} x {64, 256}
# connections, and one oha run (/json, c64) per server in the first config's first repeat.
# Configs: 1w-pinned   1 worker, server on core 0 (taskset), client on core 1, wrk -t1
#          2w-unpinned 2 workers, nothing pinned, wrk -t2
# Order: config 1 rep 1: all servers, rep 2: all servers, ...; so drift hits all alike.
# With the defaults (9 servers, 2 configs, 2 repeats, 10 s runs) this takes about an hour.
# Before each measured run we wait (up to BG_WAIT s) while other processes keep the CPU
# busier than MAX_BG_BUSY %; a run during which other processes used more than FOREIGN_MAX %
# of the machine is measured again (up to RETRIES times; the last try is kept and flagged).
#
# Settings (environment):
#   DURATION=10  seconds per measured run      REPS=2      repeats per config
#   ONLY="fasterapi floor ..."  servers (default: all, see SERVERS below; also floor-shared:
#              the floor with all threads on one epoll set, see benches/peers/rust/floor;
#              fasterapi-metrics: the hello example with Prometheus metrics on)
#   CONFIGS="1w-pinned 2w-unpinned"            CONNS="64 256"   PIPE_DEPTH=16
#   PATHS="/plaintext /json /users/42"         WARMUP=3 (s, split over the paths)
#   OHA=1 (0: no oha runs)   PORT=18080   OUT=benches/load/out (results)   SKIP_BUILD=1 (reuse
#   binaries)   VENV=benches/load/out/venv   BENCH_APP=examples/python/bench_app.py
#   MAX_BG_BUSY=15  BG_WAIT=180  FOREIGN_MAX=8  RETRIES=2
# Output (under OUT): results.tsv (one row per run, header names the columns; an earlier
# results.tsv is moved aside to results-<date>.tsv unless APPEND=1), meta.tsv
# (machine, tool versions, settings), versions.tsv, commands.tsv, logs/ (raw wrk/oha output).
# All traffic goes to 127.0.0.1. Servers are always stopped on exit (trap).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="$ROOT/benches/peers"
OUT="${OUT:-$HERE/out}"
LOGDIR="$OUT/logs"
RESULTS="$OUT/results.tsv"
VENV="${VENV:-$HERE/out/venv}"
TOOLS="$HERE/out/tools"
# binaries land in CARGO_TARGET_DIR when it is set, else in each workspace's target/
TARGET_DIR="${CARGO_TARGET_DIR:+$(cd "$ROOT" && realpath -m "$CARGO_TARGET_DIR")}"
PEER_BIN="${TARGET_DIR:-$PEERS/rust/target}/release"
HELLO="${TARGET_DIR:-$ROOT/target}/release/examples/hello"
BENCH_APP="${BENCH_APP:-$ROOT/examples/python/bench_app.py}"

SERVERS="fasterapi floor minihttp actix axum fasterapi-py robyn rsgi-granian fastapi-uvicorn"
ONLY="${ONLY:-$SERVERS}"
CONFIGS="${CONFIGS:-1w-pinned 2w-unpinned}"
DURATION="${DURATION:-10}"
REPS="${REPS:-2}"
CONNS="${CONNS:-64 256}"
PATHS="${PATHS:-/plaintext /json /users/42}"
PIPE_DEPTH="${PIPE_DEPTH:-16}"
WARMUP="${WARMUP:-3}"
OHA="${OHA:-1}"
PORT="${PORT:-18080}"
SKIP_BUILD="${SKIP_BUILD:-0}"
MAX_BG_BUSY="${MAX_BG_BUSY:-15}"
BG_WAIT="${BG_WAIT:-180}"
FOREIGN_MAX="${FOREIGN_MAX:-8}"
RETRIES="${RETRIES:-2}"
READY_TIMEOUT="${READY_TIMEOUT:-30}"
CLK_TCK="$(getconf CLK_TCK)"

log() { echo "[run $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib.sh
source "$HERE/lib.sh"

# --- the server we run (at most one at a time) and its cleanup --------------------------
trap stop_server EXIT
trap 'log "interrupted"; exit 130' INT TERM

# --- tools -----------------------------------------------------------------------------
OHA_BIN=""
ensure_oha() {
    OHA_BIN="$(command -v oha || true)"
    [[ -n "$OHA_BIN" ]] && return 0
    OHA_BIN="$TOOLS/bin/oha"
    [[ -x "$OHA_BIN" ]] && return 0
    log "installing oha (cargo install --locked, a few minutes)"
    mkdir -p "$TOOLS"
    cargo install oha --locked --root "$TOOLS" > "$TOOLS/install.log" 2>&1 \
        || die "cargo install oha failed, see $TOOLS/install.log"
}


# --- smoke (CI) --------------------------------------------------------------------------
smoke() {
    command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl > /dev/null; }
    ensure_wrk
    mkdir -p "$LOGDIR"
    (cd "$ROOT" && cargo build --release --locked --example hello)
    # CI may share the machine with other benchmarks: take the first free port of 20
    PORT="${SMOKE_PORT:-18380}"
    local tries=0
    until port_free || (( ++tries >= 20 )); do PORT=$((PORT + 1)); done
    start_server "$LOGDIR/smoke_server.log" -- "$HELLO" --port "{PORT}" --threads 1
    wait_ready /plaintext || { tail -20 "$LOGDIR/smoke_server.log" >&2; die "hello did not answer"; }
    local fail=0 p depth label out requests rps p50 p99 bad sock
    for p in /plaintext /json /users/42 "/plaintext|p16"; do
        label="$p"; depth=0; p="${p%%|*}"
        [[ "$label" == *"|p"* ]] && depth="${label##*|p}"
        local -a script=()
        (( depth > 0 )) && script=(-s "$HERE/pipeline.lua")
        out="$LOGDIR/smoke_$(tr '/|' '__' <<< "$label").txt"
        timeout 30 wrk -t1 -c16 -d1s --latency "${script[@]}" "http://127.0.0.1:$PORT$p" \
            ${script[0]:+-- "$depth"} > "$out" 2>&1 || { log "wrk failed on $label"; fail=1; continue; }
        read -r requests rps p50 p99 bad sock < <(parse_wrk "$out")
        log "smoke $label: $requests requests, $rps req/s, p99 ${p99} ms, non-2xx $bad, socket errors $sock"
        if [[ "$requests" == NA || "$requests" -eq 0 || "$bad" != 0 || "$sock" != none ]]; then
            fail=1; cat "$out" >&2
        fi
    done
    kill -0 "$SRV_PID" 2>/dev/null || { log "hello died"; fail=1; }
    stop_server
    (( fail == 0 )) || die "smoke failed"
    log "smoke ok"
}

if [[ "${1:-}" == "--smoke" ]]; then
    smoke
    exit 0
fi
[[ $# -eq 0 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

# --- setup -------------------------------------------------------------------------------
mkdir -p "$OUT" "$LOGDIR"
has() { [[ " $ONLY " == *" $1 "* ]]; }
for s in $ONLY; do
    case "$s" in
        floor|floor-shared|minihttp|actix|axum|fasterapi|fasterapi-metrics) ;;
        fasterapi-py|robyn|rsgi-granian|fastapi-uvicorn|fastapi-granian) ;;
        *) die "unknown server '$s' (known: $SERVERS floor-shared fastapi-granian)" ;;
    esac
done
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl > /dev/null; }
for t in taskset setsid timeout python3; do command -v "$t" >/dev/null || die "missing tool: $t"; done
ensure_wrk
[[ "$OHA" == 1 ]] && ensure_oha
if [[ "$SKIP_BUILD" != 1 ]]; then
    { has fasterapi || has fasterapi-metrics; } && { log "building fasterapi's hello example"; (cd "$ROOT" && cargo build --release --locked --example hello); }
    pkgs=()
    for s in $ONLY; do case "$s" in floor|minihttp|actix|axum) pkgs+=(-p "peer-$s") ;; floor-shared) pkgs+=(-p peer-floor) ;; esac; done
    if (( ${#pkgs[@]} )); then
        log "building the Rust peers (${pkgs[*]})"
        cargo build --release --locked --manifest-path "$PEERS/rust/Cargo.toml" "${pkgs[@]}"
    fi
fi
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    log "creating $VENV (Python peers + matplotlib)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$PEERS/py/requirements.txt" -r "$HERE/requirements.txt"
fi
if has fasterapi-py; then
    if [[ -f "$BENCH_APP" ]]; then
        if [[ "$SKIP_BUILD" != 1 ]] || ! "$VENV/bin/python" -c 'import fasterapi' 2>/dev/null; then
            log "installing the fasterapi Python package into $VENV (maturin, release build)"
            "$VENV/bin/pip" install -q --force-reinstall --no-deps "$ROOT/fasterapi-py"
        fi
    else
        log "NOTE: $BENCH_APP does not exist yet: skipping fasterapi-py"
        kept=""
        for s in $ONLY; do [[ "$s" == fasterapi-py ]] || kept="$kept $s"; done
        ONLY="${kept# }"
    fi
fi

# server_cmd NAME WORKERS: sets CMD, the server's command line ({PORT} = the port)
server_cmd() {
    local w="$2" V="$VENV/bin" PY="$PEERS/py"
    case "$1" in
        fasterapi)       CMD=("$HELLO" --port "{PORT}" --threads "$w") ;;
        fasterapi-metrics) CMD=("$HELLO" --port "{PORT}" --threads "$w" --metrics) ;;
        fasterapi-py)    CMD=("$V/python" "$BENCH_APP" --port "{PORT}" --workers "$w") ;;
        floor)           CMD=("$PEER_BIN/peer-floor" --port "{PORT}" --workers "$w") ;;
        floor-shared)    CMD=("$PEER_BIN/peer-floor" --port "{PORT}" --workers "$w" --shared) ;;
        minihttp|actix|axum) CMD=("$PEER_BIN/peer-$1" --port "{PORT}" --workers "$w") ;;
        robyn)           CMD=("$V/python" "$PY/robyn_app.py" --processes "$w" --workers 1
                              --log-level WARNING --disable-openapi) ;;
        fastapi-uvicorn) CMD=("$V/uvicorn" --app-dir "$PY" fastapi_app:app --host 127.0.0.1
                              --port "{PORT}" --workers "$w" --loop uvloop --http httptools
                              --no-access-log --log-level warning) ;;
        fastapi-granian) CMD=("$V/granian" --interface asgi --host 127.0.0.1 --port "{PORT}"
                              --workers "$w" --runtime-threads 1 --http 1 --no-ws --loop uvloop
                              --log-level warning --working-dir "$PY" fastapi_app:app) ;;
        rsgi-granian)    CMD=("$V/granian" --interface rsgi --host 127.0.0.1 --port "{PORT}"
                              --workers "$w" --runtime-threads 1 --http 1 --no-ws --loop uvloop
                              --log-level warning --working-dir "$PY" rsgi_app:app) ;;
    esac
}

# --- metadata: machine, tools, versions, commands ----------------------------------------
{
    printf 'key\tvalue\n'
    printf 'nproc\t%s\n' "$(nproc)"
    printf 'cpu_model\t%s\n' "$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    printf 'kernel\t%s\n' "$(uname -srm)"
    printf 'wrk\t%s\n' "$(wrk -v 2>&1 | head -1 | sed 's/ *Copyright.*//')"
    [[ -n "$OHA_BIN" ]] && printf 'oha\t%s\n' "$("$OHA_BIN" --version 2>&1 | head -1)"
    printf 'rustc\t%s\n' "$(rustc -V)"
    printf 'python\t%s\n' "$("$VENV/bin/python" -V 2>&1)"
    printf 'settings\tDURATION=%s REPS=%s CONFIGS="%s" CONNS="%s" PATHS="%s" PIPE_DEPTH=%s WARMUP=%s OHA=%s\n' \
        "$DURATION" "$REPS" "$CONFIGS" "$CONNS" "$PATHS" "$PIPE_DEPTH" "$WARMUP" "$OHA"
    printf 'command\tONLY="%s" benches/load/run.sh\n' "$(xargs <<< "$ONLY")"
    printf 'wrk_cmd\t[taskset -c 1] wrk -t{1|2} -c{CONNS} -d%ss --timeout 5s --latency [-s benches/load/pipeline.lua URL -- %s] http://127.0.0.1:PORT/PATH\n' "$DURATION" "$PIPE_DEPTH"
    [[ -n "$OHA_BIN" ]] && printf 'oha_cmd\t[taskset -c 1] oha --no-tui --output-format json -z %ss -c 64 http://127.0.0.1:PORT/json\n' "$DURATION"
    printf 'date\t%s\n' "$(date -u +%FT%TZ)"
} > "$OUT/meta.tsv"
{
    printf 'framework\tversion\n'
    printf 'fasterapi\t%s (git %s)\n' "$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)" \
        "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    for c in may_minihttp actix-web axum hyper tokio may mio; do
        v="$(awk -v n="$c" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$PEERS/rust/Cargo.lock")"
        printf '%s\t%s\n' "$c" "${v:-?}"
    done
    for p in robyn granian fastapi uvicorn starlette uvloop httptools; do
        v="$("$VENV/bin/pip" show "$p" 2>/dev/null | sed -n 's/^Version: //p')"
        printf '%s\t%s\n' "$p" "${v:-not installed}"
    done
} > "$OUT/versions.tsv"
[[ "${APPEND:-0}" == 1 && -f "$OUT/commands.tsv" ]] || printf 'name\tconfig\tcommand\n' > "$OUT/commands.tsv"
for cfg in $CONFIGS; do
    case "$cfg" in 1w-pinned) w=1 pin_txt="taskset -c 0 " ;; 2w-unpinned) w=2 pin_txt="" ;; *) die "unknown config $cfg" ;; esac
    for s in $ONLY; do
        server_cmd "$s" "$w"
        printf '%s\t%s\tPORT={PORT} WORKERS=%s %s%s\n' "$s" "$cfg" "$w" "$pin_txt" "$(sed "s|$ROOT/||g" <<< "${CMD[*]}")" >> "$OUT/commands.tsv"
    done
done

# --- CPU accounting (clock ticks from /proc) ---------------------------------------------
wait_quiet() {  # sets BG; waits while other processes keep the CPU busy
    BG=$(cpu_busy_pct)
    local waited=0
    while (( BG > MAX_BG_BUSY && waited < BG_WAIT )); do
        log "background CPU ${BG}% (> ${MAX_BG_BUSY}%), load $(cut -d' ' -f1-3 /proc/loadavg): waiting"
        sleep 2; waited=$((waited + 3)); BG=$(cpu_busy_pct)
    done
    (( BG <= MAX_BG_BUSY )) || log "WARNING: measuring with ${BG}% background CPU"
}
machine_ticks() {  # "busy total"
    local u n s i w q sq st
    read -r _ u n s i w q sq st _ < /proc/stat
    echo "$((u+n+s+q+sq+st)) $((u+n+s+i+w+q+sq+st))"
}
child_ticks() {  # cutime+cstime of this shell: the load generators it has waited for
    local line; local -a a
    read -r line < "/proc/$$/stat"; read -r -a a <<< "${line##*) }"
    echo $((a[13] + a[14]))
}
acct_start() { read -r M0B M0T < <(machine_ticks); S0=$(server_ticks); C0=$(child_ticks); }
acct_end() {  # sets SRV_T (server ticks), SRVCPU LGCPU FOREIGN (% of the machine over the run)
    local m1b m1t s1 c1
    read -r m1b m1t < <(machine_ticks); s1=$(server_ticks); c1=$(child_ticks)
    local dt=$((m1t - M0T)) dbusy=$((m1b - M0B))
    (( dt > 0 )) || dt=1
    SRV_T=$((s1 - S0))
    local dc=$((c1 - C0)) df=$((dbusy - SRV_T - (c1 - C0)))
    (( df > 0 )) || df=0
    FOREIGN=$((100 * df / dt)); SRVCPU=$((100 * SRV_T / dt)); LGCPU=$((100 * dc / dt))
}
us_per_req() {  # TICKS REQUESTS -> server CPU µs per request
    awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n + 0 > 0) printf "%.2f", t / hz * 1e6 / n; else print "NA" }'
}

if [[ -f "$RESULTS" && "${APPEND:-0}" != 1 ]]; then
    mv "$RESULTS" "$OUT/results-$(date +%Y%m%d-%H%M%S).tsv"
    log "previous results moved aside to $OUT/results-<date>.tsv (APPEND=1 adds to them instead)"
fi
[[ -f "$RESULTS" ]] || printf 'name\tconfig\trep\ttool\tpath\tconns\trequests\treq_s\tp50_ms\tp99_ms\tnon2xx\tsock_errors\tserver_cpu_us_per_req\tserver_cpu_pct\tlg_cpu_pct\tforeign_cpu_pct\tbg_busy_pct\ttries\tdate\n' > "$RESULTS"
row() {  # the fields of one results line, in header order
    local IFS=$'\t'; echo "$*" >> "$RESULTS"
}

# --- one measured run --------------------------------------------------------------------
run_wrk() {  # NAME CONFIG REP PATH CONNS DEPTH
    local name="$1" cfg="$2" rep="$3" path="$4" c="$5" depth="$6" label="$4" try=0
    local -a script=()
    if (( depth > 0 )); then script=(-s "$HERE/pipeline.lua"); label="$path|p$depth"; fi
    local out="$LOGDIR/${name}_${cfg}_rep${rep}_wrk_c${c}_$(tr '/|' '__' <<< "$label").txt"
    while (( try <= RETRIES )); do
        try=$((try + 1))
        wait_quiet
        acct_start
        timeout $((DURATION + 30)) "${LG_PIN[@]}" wrk -t"$WRK_THREADS" -c"$c" -d"${DURATION}s" --timeout 5s --latency \
            "${script[@]}" "http://127.0.0.1:$PORT$path" ${script[0]:+-- "$depth"} > "$out" 2>&1 \
            || log "wrk exit $? on $label (see $out)"
        acct_end
        (( FOREIGN > FOREIGN_MAX && try <= RETRIES )) || break
        log "$name $label c$c: other processes used ${FOREIGN}% of the machine (> ${FOREIGN_MAX}%): again"
        cp "$out" "$out.discarded$try"
    done
    local requests rps p50 p99 bad sock
    read -r requests rps p50 p99 bad sock < <(parse_wrk "$out")
    # wrk times only one response per pipelined batch: its percentiles mean nothing there
    if (( depth > 0 )); then p50=NA; p99=NA; fi
    local us; us=$(us_per_req "$SRV_T" "$requests")
    row "$name" "$cfg" "$rep" wrk "$label" "$c" "$requests" "$rps" "$p50" "$p99" "$bad" "$sock" \
        "$us" "$SRVCPU" "$LGCPU" "$FOREIGN" "$BG" "$try" "$(date -Iseconds)"
    log "$name $cfg rep$rep wrk $label c$c: $rps req/s p50 ${p50} p99 ${p99} ms, non-2xx $bad, sock $sock, server ${us} µs/req (cpu: server ${SRVCPU}% wrk ${LGCPU}% other ${FOREIGN}%)"
}
run_oha() {  # NAME CONFIG REP PATH CONNS
    local name="$1" cfg="$2" rep="$3" path="$4" c="$5"
    local out="$LOGDIR/${name}_${cfg}_rep${rep}_oha_c${c}_$(tr '/' '_' <<< "$path").json"
    wait_quiet
    acct_start
    timeout $((DURATION + 30)) "${LG_PIN[@]}" "$OHA_BIN" --no-tui --output-format json -z "${DURATION}s" -c "$c" \
        "http://127.0.0.1:$PORT$path" > "$out" 2> "$out.err" || log "oha exit $? on $path (see $out.err)"
    acct_end
    local requests rps p50 p99 bad
    read -r requests rps p50 p99 bad < <(python3 - "$out" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print("NA NA NA NA NA"); sys.exit()
s, p = d.get("summary", {}), d.get("latencyPercentiles", {})
codes = d.get("statusCodeDistribution", {})
ms = lambda x: "NA" if x is None else "%.3f" % (x * 1000)
print(sum(codes.values()), "%.2f" % s.get("requestsPerSec", 0), ms(p.get("p50")), ms(p.get("p99")),
      sum(v for k, v in codes.items() if not str(k).startswith("2")))
PY
)
    local us; us=$(us_per_req "$SRV_T" "$requests")
    row "$name" "$cfg" "$rep" oha "$path" "$c" "$requests" "$rps" "$p50" "$p99" "$bad" see-json \
        "$us" "$SRVCPU" "$LGCPU" "$FOREIGN" "$BG" 1 "$(date -Iseconds)"
    log "$name $cfg rep$rep oha $path c$c: $rps req/s p50 ${p50} p99 ${p99} ms, non-2xx $bad, server ${us} µs/req"
}

# bench_server NAME CONFIG REP WORKERS DO_OHA
bench_server() {
    local name="$1" cfg="$2" rep="$3" w="$4" do_oha="$5" p c first
    server_cmd "$name" "$w"
    local srvlog="$LOGDIR/${name}_${cfg}_rep${rep}_server.log"
    log "=== $name $cfg rep$rep: ${SRV_PIN[*]} ${CMD[*]}"
    WORKERS="$w" start_server "$srvlog" "${SRV_PIN[@]}" -- "${CMD[@]}"
    first="${PATHS%% *}"
    if ! wait_ready "$first"; then
        log "!!! $name did not answer 200 on $first; skipped (log: $srvlog)"; tail -5 "$srvlog" >&2
        stop_server; return 0
    fi
    for p in $PATHS; do
        log "GET $p -> $(curl -s --max-time 2 -w ' [%{http_code} %{content_type}]' "http://127.0.0.1:$PORT$p" | head -c 120)"
    done
    local per=$(( WARMUP / $(wc -w <<< "$PATHS") ))
    (( per >= 1 )) || per=1
    for p in $PATHS; do
        timeout $((per + 10)) "${LG_PIN[@]}" wrk -t"$WRK_THREADS" -c64 -d"${per}s" "http://127.0.0.1:$PORT$p" > /dev/null 2>&1 || true
    done
    for c in $CONNS; do
        for p in $PATHS; do run_wrk "$name" "$cfg" "$rep" "$p" "$c" 0; done
        if (( PIPE_DEPTH > 0 )); then run_wrk "$name" "$cfg" "$rep" /plaintext "$c" "$PIPE_DEPTH"; fi
    done
    if [[ "$do_oha" == 1 && -n "$OHA_BIN" ]]; then run_oha "$name" "$cfg" "$rep" /json 64; fi
    kill -0 "$SRV_PID" 2>/dev/null || { log "WARNING: $name died during the run"; tail -5 "$srvlog" >&2; }
    stop_server
}

# --- the run: config x rep x server, servers alternating ---------------------------------
first_cfg="${CONFIGS%% *}"
for cfg in $CONFIGS; do
    case "$cfg" in
        1w-pinned)   w=1; SRV_PIN=(taskset -c 0); LG_PIN=(taskset -c 1); WRK_THREADS=1 ;;
        2w-unpinned) w=2; SRV_PIN=();             LG_PIN=();             WRK_THREADS=2 ;;
    esac
    for rep in $(seq 1 "$REPS"); do
        for s in $ONLY; do
            do_oha=0
            [[ "$OHA" == 1 && "$cfg" == "$first_cfg" && "$rep" == 1 ]] && do_oha=1
            bench_server "$s" "$cfg" "$rep" "$w" "$do_oha"
            sleep 1
        done
    done
done
log "done: $RESULTS (then: $VENV/bin/python $HERE/report.py --out $OUT)"
