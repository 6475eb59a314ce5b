#!/usr/bin/env bash
# c1000.sh — 1,000 busy connections (wrk) on /plaintext while IDLE (200) idle keep-alive
# connections stay open: reports wrk's socket errors, non-2xx answers and the server's RSS.
#
#   benches/load/c1000.sh          (after `cargo build --release --example hello`)
#
# Settings: DURATION=10 IDLE=200 CONNS=1000 THREADS=2 PORT=18383. Traffic: 127.0.0.1 only.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DURATION="${DURATION:-10}"; IDLE="${IDLE:-200}"; CONNS="${CONNS:-1000}"
THREADS="${THREADS:-2}"; PORT="${PORT:-18383}"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/hello"
ulimit -n 20000
"$BIN" --port "$PORT" --threads "$THREADS" > /dev/null 2>&1 &
SRV=$!
IDLER=""
trap 'kill $SRV ${IDLER} 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/plaintext" && break
    sleep 0.1
done
FIFO="$(mktemp -u)"; mkfifo "$FIFO"
python3 "$HERE/idle_conns.py" "127.0.0.1:$PORT" "$IDLE" /plaintext 600 > "$FIFO" &
IDLER=$!
read -r line < "$FIFO"; rm -f "$FIFO"
echo "idle connections: $line"
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$SRV/status"; }
echo "rss before: $(( $(rss_kb) / 1024 )) MB"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency "http://127.0.0.1:$PORT/plaintext" | tee /tmp/c1000.wrk.$$ |
    grep -E "requests in|Socket errors|Non-2xx|Requests/sec|99%" || true
grep -q "Socket errors" /tmp/c1000.wrk.$$ && echo "SOCKET ERRORS (see above)" || echo "socket errors: none"
rm -f /tmp/c1000.wrk.$$
echo "rss after: $(( $(rss_kb) / 1024 )) MB"
echo "idle connections still answered: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/plaintext")"
