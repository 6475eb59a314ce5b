#!/usr/bin/env bash
# files.sh — static files served by fasterapi (examples/static_files.rs, one I/O thread,
# sendfile), nginx (one worker, sendfile on; Debian's package), actix-files and axum's
# ServeDir (tower-http) (benches/peers/rust/actix-files, axum-files: one worker each) and
# FastAPI's StaticFiles on uvicorn (one worker, from the load venv), servers interleaved in
# the same run (REPS rounds, each server in turn). Server on core 0, client on core 1
# (taskset). Per server and round:
#   FILES (default "4k 64k 1m"): wrk -t1 -c$CONNS (64) for DURATION seconds each;
#   BIG (default 1g; BIG= to skip): get_big.py downloads it BIG_TIMES (3) times on each of
#   BIG_CONNS (1) keep-alive connections, reading into a 1 MiB buffer (wrk's 8 KiB reads
#   would make the client the limit).
# Prints requests/s, MiB/s, p99 and the server's CPU per request and per MiB (utime+stime
# ticks of its process group over the run), then per file the median over rounds against
# nginx's: throughput ratio and CPU-per-byte ratio. Rows go to $OUT/files.tsv.
#
#   cargo build --release --example static_files
#   cargo build --release --manifest-path benches/peers/rust/Cargo.toml -p peer-actix-files -p peer-axum-files
#   VENV=benches/load/out/venv REPS=2 benches/load/files.sh
# Settings: SERVERS="fasterapi nginx actix-files axum-files uvicorn", DURATION=5, PORT=18480,
# CONNS=64. A server that is not installed or built (nginx, a peer, the venv's uvicorn) is
# skipped. The files are random bytes in a temporary directory (the 1 GiB one is deleted at
# exit, like the rest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
log() { echo "files.sh: $*" >&2; }
die() { log "$*"; exit 1; }
PORT="${PORT:-18480}"
DURATION="${DURATION:-5}"
CONNS="${CONNS:-64}"
REPS="${REPS:-1}"
read -r -a FILES <<< "${FILES-4k 64k 1m}"
BIG="${BIG-1g}"
BIG_TIMES="${BIG_TIMES:-3}"
BIG_CONNS="${BIG_CONNS:-1}"
read -r -a SERVERS <<< "${SERVERS:-fasterapi nginx actix-files axum-files uvicorn}"
READY_TIMEOUT=20
VENV="${VENV:-benches/load/out/venv}"
OUT="${OUT:-benches/load/out}"
BIN="${CARGO_TARGET_DIR:-target}/release/examples/static_files"
source benches/load/lib.sh
ensure_wrk
[[ -x "$BIN" ]] || die "build it first: cargo build --release --example static_files"

work="$(mktemp -d)"
trap 'stop_server; rm -rf "$work"' EXIT
mkdir -p "$work/public" "$OUT"
for f in "${FILES[@]}" ${BIG:+"$BIG"}; do
    head -c "$(numfmt --from=iec "${f^^}")" /dev/urandom > "$work/public/f$f.bin"
done
cat "$work/public/"* > /dev/null  # in the page cache before anyone serves them
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

# start SERVER: start it on core 0 (0 when it is not available: skipped)
start() {
    local name="$1" bin
    case "$name" in
        fasterapi) start_server "$work/$name.log" taskset -c 0 -- "$BIN" "$work/public" "$PORT" 1 ;;
        nginx)
            command -v nginx > /dev/null || { log "nginx not installed: skipped (apt-get install nginx-light)"; return 1; }
            start_server "$work/$name.log" taskset -c 0 -- nginx -c "$work/nginx.conf" ;;
        actix-files | axum-files)
            bin="$(peer_bin "peer-$name")"
            [[ -x "$bin" ]] || { log "$bin not built: skipped (cargo build --release --manifest-path benches/peers/rust/Cargo.toml -p peer-$name)"; return 1; }
            start_server "$work/$name.log" taskset -c 0 -- "$bin" --port "{PORT}" --workers 1 --dir "$work/public" ;;
        uvicorn)
            [[ -x "$VENV/bin/uvicorn" ]] || { log "$VENV/bin/uvicorn not found: FastAPI skipped"; return 1; }
            start_server "$work/$name.log" taskset -c 0 -- "$VENV/bin/uvicorn" --app-dir "$work" \
                --port "$PORT" --log-level warning --no-access-log fastapi_static:app ;;
        *) die "unknown server $name" ;;
    esac
    wait_ready "/static/f${FILES[0]:-$BIG}.bin" || die "$name did not start: $(cat "$work/$name.log" "$work/nginx.err" 2>/dev/null)"
}

TSV="$OUT/files.tsv"
printf 'server\trep\tfile\tbytes\tconns\trequests\treq_s\tmib_s\tp99_ms\tcpu_us_req\tcpu_ms_mib\n' > "$TSV"
printf "%-12s %-6s %10s %9s %8s %12s %12s\n" server file req/s MiB/s p99_ms cpu_us/req cpu_ms/MiB
row() {  # NAME REP FILE SIZE CONNS REQUESTS REQ_S P99 TICKS NON2XX
    awk -v n="$1" -v rep="$2" -v f="$3" -v size="$4" -v c="$5" -v r="$6" -v rps="$7" -v p99="$8" \
        -v t="$9" -v bad="${10}" -v hz="$(getconf CLK_TCK)" -v tsv="$TSV" 'BEGIN {
        mib = r * size / 1048576
        us = t / hz * 1e6 / r; ms = t / hz * 1e3 / mib
        printf "%-12s %-6s %10.1f %9.1f %8s %12.2f %12.3f%s\n", n, f, rps, rps * size / 1048576,
            p99, us, ms, (bad > 0 ? "  non-2xx: " bad : "")
        printf "%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.1f\t%s\t%.2f\t%.4f\n", n, rep, f, size, c, r, rps,
            rps * size / 1048576, p99, us, ms >> tsv }'
}
bench() {  # bench NAME REP: every file against the running server
    local name="$1" rep="$2" f size t0 t1 out line
    for f in "${FILES[@]}"; do
        size=$(stat -c %s "$work/public/f$f.bin")
        out="$work/$name-$f.wrk"
        t0=$(server_ticks)
        taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT/static/f$f.bin" > "$out"
        t1=$(server_ticks)
        read -r reqs rps _ p99 bad _ <<< "$(parse_wrk "$out")"
        row "$name" "$rep" "$f" "$size" "$CONNS" "$reqs" "$rps" "$p99" $((t1 - t0)) "$bad"
    done
    if [[ -n "$BIG" ]]; then
        size=$(stat -c %s "$work/public/f$BIG.bin")
        t0=$(server_ticks)
        line="$(taskset -c 1 python3 benches/load/get_big.py "127.0.0.1:$PORT" "/static/f$BIG.bin" "$BIG_TIMES" "$BIG_CONNS")" \
            || die "$name: the $BIG download failed"
        t1=$(server_ticks)
        local n secs
        n="$(sed 's/.*downloads=\([0-9]*\).*/\1/' <<< "$line")"
        secs="$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<< "$line")"
        row "$name" "$rep" "$BIG" "$size" "$BIG_CONNS" "$n" "$(awk -v n="$n" -v s="$secs" 'BEGIN { print n / s }')" NA $((t1 - t0)) 0
    fi
}

for rep in $(seq 1 "$REPS"); do
    for s in "${SERVERS[@]}"; do
        start "$s" || continue
        bench "$s" "$rep"
        stop_server
    done
done

python3 - "$TSV" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = {}
for r in rows:
    med.setdefault((r["server"], r["file"]), []).append(r)
print()
print("| server | file | conns | MiB/s (median of rounds) | vs nginx | server CPU ms/MiB | vs nginx | CPU µs/request |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
m = lambda rs, k: statistics.median(float(x[k]) for x in rs)  # noqa: E731
for (server, f), rs in med.items():
    ref = med.get(("nginx", f))
    tp = f"{m(rs, 'mib_s') / m(ref, 'mib_s'):.2f}x" if ref else "-"
    cpu = f"{m(rs, 'cpu_ms_mib') / m(ref, 'cpu_ms_mib'):.2f}x" if ref and m(ref, "cpu_ms_mib") > 0 else "-"
    print(f"| {server} | {f} | {rs[0]['conns']} | {m(rs, 'mib_s'):,.1f} | {tp} | {m(rs, 'cpu_ms_mib'):.3f} | {cpu} | {m(rs, 'cpu_us_req'):,.1f} |")
PY
