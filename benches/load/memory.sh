#!/usr/bin/env bash
# memory.sh — resident memory (RSS) of a server: idle; holding CONNS idle keep-alive
# connections; before and after a SOAK-second wrk soak. Default server: fasterapi's hello.
#
#   benches/load/memory.sh                      # hello, 10,000 connections, 600 s soak
#   CONNS=2000 SOAK=20 benches/load/memory.sh   # a quick check
#   benches/load/memory.sh NAME CMD...          # another server ({PORT} = the port)
#
# RSS is the sum of VmRSS over the server's process group. Idle: after one request per
# route. Connections: idle_conns.py opens CONNS connections, sends one request on each and
# keeps them open (the fd limit is raised here with `ulimit -n`; the server inherits it).
# Soak: wrk -t2 -cSOAK_CONNS (64) on SOAK_PATH (/json) for SOAK seconds; growth = after/before.
# Output: OUT/memory.tsv (name metric value unit notes; report.py includes it; APPEND=1 adds
# to an existing one, e.g. for a second server) and stdout.
# Targets (issue 6): idle < 10 MB, 10k connections < 100 MB, soak growth < 10%.
# Settings: CONNS=10000 SOAK=600 SOAK_CONNS=64 SOAK_PATH=/json THREADS=nproc PORT=18282
# OUT=benches/load/out SKIP_BUILD=1 (reuse the built example). Traffic: 127.0.0.1 only.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-$HERE/out}"
CONNS="${CONNS:-10000}"
SOAK="${SOAK:-600}"
SOAK_CONNS="${SOAK_CONNS:-64}"
SOAK_PATH="${SOAK_PATH:-/json}"
THREADS="${THREADS:-$(nproc)}"
PORT="${PORT:-18282}"
if [[ $# -ge 2 ]]; then
    NAME="$1"; shift; CMD=("$@")
else
    TARGET_DIR="${CARGO_TARGET_DIR:+$(cd "$ROOT" && realpath -m "$CARGO_TARGET_DIR")}"
    NAME=fasterapi; CMD=("${TARGET_DIR:-$ROOT/target}/release/examples/hello" --port "{PORT}" --threads "$THREADS")
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then (cd "$ROOT" && cargo build --release --locked --example hello); fi
fi
for i in "${!CMD[@]}"; do CMD[i]="${CMD[i]//\{PORT\}/$PORT}"; done
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; }
mkdir -p "$OUT"
log() { echo "[memory $(date +%T)] $*" >&2; }

# fds for CONNS connections (server and client each hold one per connection)
need=$((CONNS + 1024))
if (( $(ulimit -Sn) < need )); then
    (( $(ulimit -Hn) >= need )) || ulimit -Hn "$need"
    ulimit -Sn "$need"
fi
log "fd limit $(ulimit -n)"

SRV_PID=""; CLIENT_PID=""
cleanup() {
    if [[ -n "$CLIENT_PID" ]]; then kill -TERM "$CLIENT_PID" 2>/dev/null || true; wait "$CLIENT_PID" 2>/dev/null || true; fi
    if [[ -n "$SRV_PID" ]]; then
        kill -TERM -- "-$SRV_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$SRV_PID" 2>/dev/null || true
        wait "$SRV_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rss_kb() {  # sum of VmRSS over the server's process group
    local f pg t=0 line
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null < "$f" || continue
        read -r _ _ _ pg _ <<< "${line##*) }"
        if [[ "$pg" == "$SRV_PID" ]]; then
            t=$((t + $(awk '/^VmRSS:/ {print $2}' "${f%/stat}/status" 2>/dev/null || echo 0)))
        fi
    done
    echo "$t"
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
TSV="$OUT/memory.tsv"
[[ "${APPEND:-0}" == 1 && -f "$TSV" ]] || printf 'name\tmetric\tvalue\tunit\tnotes\n' > "$TSV"
row() { local IFS=$'\t'; echo "$*" >> "$TSV"; log "$*"; }

(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { log "port $PORT in use (set PORT=...)"; exit 1; }
setsid "${CMD[@]}" > "$OUT/memory_server.log" 2>&1 < /dev/null &
SRV_PID=$!
for _ in $(seq 1 150); do
    [[ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$PORT/plaintext" || true)" == 200 ]] && break
    kill -0 "$SRV_PID" 2>/dev/null || { tail "$OUT/memory_server.log" >&2; exit 1; }
    sleep 0.2
done
for p in /plaintext /json /users/42; do curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT$p"; done
sleep 1
idle=$(rss_kb)
row "$NAME" idle_rss "$(mb "$idle")" MB "after one request per route; ${CMD[*]##*/}; target < 10 MB"

# CONNS idle keep-alive connections
python3 "$HERE/idle_conns.py" "127.0.0.1:$PORT" "$CONNS" /plaintext 900 > "$OUT/idle_conns.out" 2>&1 < /dev/null &
CLIENT_PID=$!
for _ in $(seq 1 600); do  # at most 120 s
    grep -q '^open' "$OUT/idle_conns.out" 2>/dev/null && break
    kill -0 "$CLIENT_PID" 2>/dev/null || { cat "$OUT/idle_conns.out" >&2; exit 1; }
    sleep 0.2
done
grep -q '^open' "$OUT/idle_conns.out" || { log "client did not open $CONNS connections in time"; exit 1; }
sleep 2
held=$(rss_kb)
code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' "http://127.0.0.1:$PORT/json" || true)
row "$NAME" "rss_${CONNS}_idle_conns" "$(mb "$held")" MB \
    "$(awk -v a="$held" -v b="$idle" -v n="$CONNS" 'BEGIN { printf "%.2f kB per connection", (a - b) / n }'); a new request meanwhile: $code; target < 100 MB at 10000"
kill -TERM "$CLIENT_PID" 2>/dev/null || true
wait "$CLIENT_PID" 2>/dev/null || true
CLIENT_PID=""
sleep 2

# soak
before=$(rss_kb)
log "soak: wrk -t2 -c$SOAK_CONNS -d${SOAK}s $SOAK_PATH"
timeout $((SOAK + 60)) wrk -t2 -c"$SOAK_CONNS" -d"${SOAK}s" --timeout 5s "http://127.0.0.1:$PORT$SOAK_PATH" > "$OUT/memory_soak_wrk.txt" 2>&1 || true
sleep 2
after=$(rss_kb)
reqs=$(awk '/ requests in / {print $1}' "$OUT/memory_soak_wrk.txt")
bad=$(awk '/Non-2xx or 3xx/ {print $NF}' "$OUT/memory_soak_wrk.txt")
sock=$(sed -n 's/.*Socket errors: *//p' "$OUT/memory_soak_wrk.txt")
row "$NAME" rss_before_soak "$(mb "$before")" MB "after the connections above closed"
row "$NAME" rss_after_soak "$(mb "$after")" MB "wrk -t2 -c$SOAK_CONNS -d${SOAK}s $SOAK_PATH: ${reqs:-?} requests, non-2xx ${bad:-0}, socket errors ${sock:-none}"
row "$NAME" soak_growth "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.1f", (a - b) * 100 / b }')" % "after/before - 1; target < 10%"
kill -0 "$SRV_PID" 2>/dev/null || { log "the server died"; exit 1; }
log "wrote $TSV"
