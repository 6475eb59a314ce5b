#!/usr/bin/env bash
# callgrind.sh NAME PATH N -- CMD... : user-space instructions per request of a server.
#
# Starts CMD (with {PORT} replaced) under `valgrind --tool=callgrind`, warms it up with
# N/10 requests, zeroes the counters, sends exactly N requests over CONNS (default 64)
# keep-alive connections (fixed_client.py), dumps the counters and prints one TSV line:
# NAME PATH N instructions-per-request (all threads of the server, user space).
# Instruction counts do not depend on machine load, so they compare changes reliably.
# Example: PORT=18181 benches/load/callgrind.sh fasterapi /json 20000 -- \
#              target/release/examples/hello --port {PORT} --threads 1
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME="$1"; REQ_PATH="$2"; N="$3"; shift 3
[[ "$1" == "--" ]] && shift
PORT="${PORT:-18181}"
CONNS="${CONNS:-64}"
OUT="$(mktemp -d)"
CMD=()
for a in "$@"; do CMD+=("${a//\{PORT\}/$PORT}"); done
valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p" "${CMD[@]}" > "$OUT/server.log" 2>&1 &
VG=$!
cleanup() {
    local rc=$?
    (( rc == 0 )) || { echo "callgrind.sh: failed ($rc); server log:" >&2; grep -v '^==[0-9]*== *$' "$OUT/server.log" | tail -60 >&2; }
    kill -KILL "$VG" 2>/dev/null || true
    wait "$VG" 2>/dev/null || true
    rm -rf "$OUT"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT$REQ_PATH" && break
    sleep 0.2
done
python3 "$HERE/fixed_client.py" "127.0.0.1:$PORT" "$REQ_PATH" $((N / 10)) "$CONNS"
callgrind_control -z "$VG" > /dev/null 2>&1
python3 "$HERE/fixed_client.py" "127.0.0.1:$PORT" "$REQ_PATH" "$N" "$CONNS"
callgrind_control -d "$VG" > /dev/null 2>&1
# The dump holds every thread's counters since the zeroing: sum the instruction totals.
sleep 0.5
TOTAL=$(grep -h '^summary:' "$OUT"/cg.*.* 2>/dev/null | awk '{s += $2} END {print s + 0}')
[[ "$TOTAL" != 0 ]] || { echo "callgrind.sh: no counters dumped (server log: $(tail -3 "$OUT/server.log"))" >&2; exit 1; }
printf '%s\t%s\t%d\t%.0f\n' "$NAME" "$REQ_PATH" "$N" "$(echo "$TOTAL / $N" | bc -l)"
