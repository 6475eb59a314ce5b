# lib.sh — what the load scripts share (sourced by run.sh, wait.sh and app.sh, which define
# log, die and PORT first): the one server under test at a time, its CPU ticks, wrk,
# and how busy the machine is.

SRV_PID=""
SRV_PGID=""
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
