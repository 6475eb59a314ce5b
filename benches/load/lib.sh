# lib.sh — what the load scripts share (sourced by each of them, which define log, die, PORT
# and the settings a function below names first): the one server under test at a time, its
# CPU ticks, wrk, how busy the machine is, the Python venv and the timed wrk runs.

SRV_PID=""
SRV_PGID=""
LIB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# peer_bin NAME: the Rust peer NAME (benches/peers/rust), as its workspace builds it:
# in $CARGO_TARGET_DIR if set (relative to the repository), else in the workspace's target
peer_bin() {
    if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
        echo "$(cd "$LIB_ROOT" && realpath -m "$CARGO_TARGET_DIR")/release/$1"
    else
        echo "$LIB_ROOT/benches/peers/rust/target/release/$1"
    fi
}
stop_server() {
    [[ -n "$SRV_PID" ]] || return 0
    if [[ -n "$SRV_PGID" ]]; then
        # its own session and process group (setsid): signal that group only
        kill -TERM -- "-$SRV_PGID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 -- "-$SRV_PGID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$SRV_PGID" 2>/dev/null || true
    else
        kill -TERM "$SRV_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SRV_PID" 2>/dev/null || true
    fi
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=""; SRV_PGID=""
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# start_server LOGFILE PIN... -- CMD...: start CMD ({PORT} replaced) in its own process group
start_server() {
    local logf="$1"; shift
    local -a pin=() cmd=()
    while [[ "$1" != "--" ]]; do pin+=("$1"); shift; done
    shift
    for a in "$@"; do cmd+=("${a//\{PORT\}/$PORT}"); done
    port_free || die "port $PORT is already in use (set PORT=...)"
    PORT="$PORT" WORKERS="${WORKERS:-1}" setsid "${pin[@]}" "${cmd[@]}" > "$logf" 2>&1 < /dev/null &
    SRV_PID=$!
    sleep 0.2
    SRV_PGID="$(ps -o pgid= -p "$SRV_PID" 2>/dev/null | tr -d ' ' || true)"
    # setsid forks when it is a group leader: then only ever signal the pid we started
    [[ "$SRV_PGID" == "$SRV_PID" ]] || SRV_PGID=""
}

# wait_ready PATH: until the server answers 200 on PATH (or it dies / READY_TIMEOUT passes)
wait_ready() {
    local deadline=$(( $(date +%s) + READY_TIMEOUT ))
    until [[ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$PORT$1" || true)" == 200 ]]; do
        kill -0 "$SRV_PID" 2>/dev/null || return 1
        (( $(date +%s) < deadline )) || return 1
        sleep 0.2
    done
}

ensure_wrk() {
    command -v wrk >/dev/null && return 0
    log "installing wrk (apt)"
    apt-get update -qq && apt-get install -y -qq wrk > /dev/null
}

cpu_busy_pct() {  # % of all CPUs busy over 1 s
    local u1 n1 s1 i1 w1 q1 sq1 st1 u2 n2 s2 i2 w2 q2 sq2 st2
    read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
    sleep 1
    read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ < /proc/stat
    local busy=$(( (u2+n2+s2+q2+sq2+st2) - (u1+n1+s1+q1+sq1+st1) )) idle=$(( (i2+w2) - (i1+w1) ))
    echo $(( 100 * busy / (busy + idle + 1) ))
}

server_ticks() {  # utime+stime of every live process of the server's process group
    local f line t=0
    local -a a
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null < "$f" || continue
        read -r -a a <<< "${line##*) }"
        if [[ -n "$SRV_PGID" && "${a[2]}" == "$SRV_PGID" ]] || [[ -z "$SRV_PGID" && "$f" == "/proc/$SRV_PID/stat" ]]; then
            t=$((t + a[11] + a[12]))
        fi
    done
    echo "$t"
}

# parse_wrk FILE: wrk --latency output -> "requests req_s p50_ms p99_ms non2xx sock_errors"
parse_wrk() {
    awk '
        function ms(v,  n, u) { n = v; sub(/[a-z]+$/, "", n); u = v; sub(/^[0-9.]+/, "", u)
            if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
            return sprintf("%.3f", n) }
        / requests in /             { req = $1 }
        /^Requests\/sec:/           { rps = $2 }
        /^ +50%/                    { p50 = ms($2) }
        /^ +99%/                    { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/            { s = $0; sub(/.*Socket errors: */, "", s); gsub(/, /, ";", s); gsub(/ /, "=", s); sock = s }
        END { printf "%s %s %s %s %s %s\n", req ? req : "NA", rps ? rps : "NA", p50 ? p50 : "NA",
                     p99 ? p99 : "NA", bad ? bad : 0, sock ? sock : "none" }' "$1"
}

# ensure_py_venv "MODULE ...": $VENV with the Python peers (creates it when one of the modules
# does not import), and the fasterapi package in it when $ONLY has fasterapi-py (a release
# build through pip; SKIP_BUILD=1 keeps an installed one)
ensure_py_venv() {
    if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import ${1// /, }" 2>/dev/null; then
        log "creating $VENV (Python peers)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q -r "$PEERS/py/requirements.txt" -r "$HERE/requirements.txt"
    fi
    if [[ " $ONLY " == *" fasterapi-py "* ]] && { [[ "$SKIP_BUILD" != 1 ]] || ! "$VENV/bin/python" -c 'import fasterapi' 2>/dev/null; }; then
        log "installing the fasterapi Python package into $VENV (maturin, release build)"
        "$VENV/bin/pip" install -q --force-reinstall --no-deps "$ROOT/fasterapi-py"
    fi
}

# fasterapi_copy APP COPY MAIN: COPY is APP written for FastAPI with its fastapi imports
# turned into fasterapi ones, nothing else (checked), and MAIN (Python) appended
fasterapi_copy() {
    {
        sed -e 's/^from fastapi\b/from fasterapi/' -e 's/^import fastapi\b/import fasterapi/' "$1"
        printf '\n\nif __name__ == "__main__":\n    import sys\n\n%s\n' "$3"
    } > "$2"
    diff <(grep -v '^from fast' "$1") <(grep -v '^from fast' "$2" | head -n "$(grep -vc '^from fast' "$1")") > /dev/null \
        || die "the fasterapi copy $2 differs from $1 beyond its imports"
}

# new_results: RESULTS with the header of timed_run's rows (an earlier one is kept, renamed)
new_results() {
    [[ -f "$RESULTS" ]] && mv "$RESULTS" "$OUT/results-$(date +%Y%m%d-%H%M%S).tsv"
    printf 'server\trep\trun\tconns\treq_s\tp50_ms\tp99_ms\tnon2xx\tsock_errors\trequests\tserver_cpu_us_per_req\tbg_busy_pct\n' > "$RESULTS"
}

# timed_run SERVER REP RUN OUTFILE: wrk with WRK_ARGS against the running server (a warm-up
# first, then, unless SMOKE, a wait for the machine to be quiet), one row of RESULTS with the
# server's CPU per request; FAIL=1 unless every answer was 2xx
timed_run() {
    local s="$1" rep="$2" run="$3" out="$4" t0 t1 us waited requests rps p50 p99 bad sock
    (( WARMUP > 0 )) && timeout $((WARMUP + 10)) taskset -c 1 wrk -t1 -c"$CONNS" -d"${WARMUP}s" "${WRK_ARGS[@]}" > /dev/null 2>&1
    BG=NA
    if (( ! SMOKE )); then
        BG=$(cpu_busy_pct); waited=0
        while (( BG > MAX_BG_BUSY && waited < BG_WAIT )); do sleep 2; waited=$((waited + 3)); BG=$(cpu_busy_pct); done
        (( BG <= MAX_BG_BUSY )) || log "WARNING: measuring with ${BG}% background CPU"
    fi
    t0=$(server_ticks)
    timeout $((DURATION + 30)) taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency "${WRK_ARGS[@]}" > "$out" 2>&1 || log "wrk failed on $run ($out)"
    t1=$(server_ticks)
    read -r requests rps p50 p99 bad sock < <(parse_wrk "$out")
    us=$(awk -v t=$((t1 - t0)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n + 0 > 0) printf "%.2f", t / hz * 1e6 / n; else print "NA" }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$rep" "$run" "$CONNS" "$rps" "$p50" "$p99" "$bad" "$sock" "$requests" "$us" "$BG" >> "$RESULTS"
    log "$s rep$rep $run: $rps req/s p99 $p99 ms, non-2xx $bad, sock $sock, server $us µs/req"
    [[ "$requests" != NA && "$requests" != 0 && "$bad" == 0 && "$sock" == none ]] || FAIL=1
}
