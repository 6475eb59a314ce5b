#!/usr/bin/env bash
# files.sh — static files served by fasterapi (examples/static_files.rs, one I/O thread),
# nginx (one worker, sendfile on; Debian's package) and FastAPI's StaticFiles on uvicorn
# (one worker, from the load venv), in the same run: a 4 KiB and a 1 MiB file, wrk -t1 at
# 64 connections for DURATION seconds each, server on core 0, wrk on core 1 (taskset).
# Prints req/s, MiB/s, p99 and server CPU per request and per MiB (utime+stime ticks).
#
#   benches/load/files.sh            # needs target/release/examples/static_files
#   DURATION=5 PORT=18480 VENV=benches/load/out/venv benches/load/files.sh
# A server that is not installed (nginx, the venv's uvicorn) is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
log() { echo "files.sh: $*" >&2; }
die() { log "$*"; exit 1; }
PORT="${PORT:-18480}"
DURATION="${DURATION:-5}"
READY_TIMEOUT=20
VENV="${VENV:-benches/load/out/venv}"
BIN="${CARGO_TARGET_DIR:-target}/release/examples/static_files"
source benches/load/lib.sh
ensure_wrk
[[ -x "$BIN" ]] || die "build it first: cargo build --release --example static_files"

work="$(mktemp -d)"
trap 'stop_server; rm -rf "$work"' EXIT
mkdir -p "$work/public"
head -c 4096 /dev/urandom > "$work/public/f4k.bin"
head -c 1048576 /dev/urandom > "$work/public/f1m.bin"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types { application/octet-stream bin; }
    client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
    uwsgi_temp_path $work; scgi_temp_path $work;
    server {
        listen 127.0.0.1:$PORT;
        location /static/ { alias $work/public/; }
    }
}
CONF
cat > "$work/fastapi_static.py" <<PY
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
app = FastAPI()
app.mount("/static", StaticFiles(directory="$work/public"), name="static")
PY

printf "%-10s %-6s %10s %9s %8s %12s %12s\n" server file req/s MiB/s p99_ms cpu_us/req cpu_ms/MiB
bench() {  # bench NAME
    local name="$1" file size t0 t1 out
    for file in f4k.bin f1m.bin; do
        size=$(stat -c %s "$work/public/$file")
        out="$work/$name-$file.wrk"
        t0=$(server_ticks)
        taskset -c 1 wrk -t1 -c64 -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/static/$file" > "$out"
        t1=$(server_ticks)
        read -r reqs rps p50 p99 bad sock <<< "$(parse_wrk "$out")"
        awk -v n="$name" -v f="$file" -v r="$reqs" -v rps="$rps" -v p99="$p99" -v t=$((t1 - t0)) \
            -v hz="$(getconf CLK_TCK)" -v size="$size" -v bad="$bad" 'BEGIN {
            mib = r * size / 1048576
            printf "%-10s %-6s %10.0f %9.1f %8.2f %12.2f %12.2f%s\n", n, f, rps, rps * size / 1048576,
                p99, t / hz * 1e6 / r, t / hz * 1e3 / mib, (bad > 0 ? "  non-2xx: " bad : "") }'
    done
    stop_server
}

start_server "$work/fasterapi.log" taskset -c 0 -- "$BIN" "$work/public" "$PORT" 1
wait_ready /static/f4k.bin || die "fasterapi did not start: $(cat "$work/fasterapi.log")"
bench fasterapi

if command -v nginx > /dev/null; then
    start_server "$work/nginx.log" taskset -c 0 -- nginx -c "$work/nginx.conf"
    wait_ready /static/f4k.bin || die "nginx did not start: $(cat "$work/nginx.err")"
    bench nginx
else
    log "nginx not installed: skipped (apt-get install nginx-light)"
fi

if [[ -x "$VENV/bin/uvicorn" ]]; then
    start_server "$work/uvicorn.log" taskset -c 0 -- "$VENV/bin/uvicorn" --app-dir "$work" \
        --port "$PORT" --log-level warning --no-access-log fastapi_static:app
    wait_ready /static/f4k.bin || die "uvicorn did not start: $(cat "$work/uvicorn.log")"
    bench uvicorn
else
    log "$VENV/bin/uvicorn not found: FastAPI skipped"
fi
