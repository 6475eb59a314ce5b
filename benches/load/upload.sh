#!/usr/bin/env bash
# upload.sh — a 10 MiB multipart upload to an UploadFile handler: fasterapi's Python front
# against FastAPI on uvicorn, the same app file (benches/peers/py/upload_app.py; fasterapi
# serves a copy with the imports changed), same run, same client.
#
#   benches/load/upload.sh        install what is missing, run, write out/upload/results.tsv
#
# Each request: POST /upload, a multipart/form-data body with one 10 MiB file (random
# bytes, made once); the handler reads the UploadFile in 1 MiB pieces and answers its size.
# wrk -t1 -cCONNS for DURATION seconds per CONNS value, server pinned to core 0, wrk to
# core 1, 1 worker process. Measured: req/s and MB/s of upload, server CPU per request
# (utime+stime of its process group), client CPU per request (wrk's utime+stime), and RSS
# growth: the peak of the server's summed VmRSS (sampled every 50 ms from the first upload
# to the end of the run) minus its RSS once ready, before any upload, also as a multiple
# of the file size.
#
# Settings (environment): DURATION=10 CONNS_LIST="1 4" MIB=10 ONLY="fasterapi-py fastapi-uvicorn"
#   PORT=18680 WARMUP=2 VENV=benches/load/out/venv SKIP_BUILD=1 (keep the installed fasterapi)
#   OUT=benches/load/out/upload MAX_BG_BUSY=15 BG_WAIT=180 READY_TIMEOUT=30
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="$ROOT/benches/peers"
OUT="${OUT:-$HERE/out/upload}"
LOGDIR="$OUT/logs"
RESULTS="$OUT/results.tsv"
VENV="${VENV:-$HERE/out/venv}"
APP="$PEERS/py/upload_app.py"
ONLY="${ONLY:-fasterapi-py fastapi-uvicorn}"
DURATION="${DURATION:-10}"
CONNS_LIST="${CONNS_LIST:-1 4}"
MIB="${MIB:-10}"
WARMUP="${WARMUP:-2}"
PORT="${PORT:-18680}"
SKIP_BUILD="${SKIP_BUILD:-0}"
MAX_BG_BUSY="${MAX_BG_BUSY:-15}"
BG_WAIT="${BG_WAIT:-180}"
READY_TIMEOUT="${READY_TIMEOUT:-30}"

log() { echo "[upload $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib.sh
source "$HERE/lib.sh"
SAMPLER=""
cleanup() {
    if [[ -n "$SAMPLER" ]]; then kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; fi
    stop_server
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
[[ $# -eq 0 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }

mkdir -p "$OUT" "$LOGDIR"
for t in taskset setsid timeout python3 curl; do command -v "$t" >/dev/null || die "missing tool: $t"; done
ensure_wrk
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import fastapi, uvicorn, uvloop, httptools, multipart' 2>/dev/null; then
    log "installing the Python peers into $VENV"
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$PEERS/py/requirements.txt" -r "$HERE/requirements.txt"
fi
if [[ " $ONLY " == *" fasterapi-py "* ]] && { [[ "$SKIP_BUILD" != 1 ]] || ! "$VENV/bin/python" -c 'import fasterapi' 2>/dev/null; }; then
    log "installing the fasterapi Python package into $VENV (maturin, release build)"
    "$VENV/bin/pip" install -q --force-reinstall --no-deps "$ROOT/fasterapi-py"
fi

FAPP="$OUT/upload_app_fasterapi.py"
{
    sed -e 's/^from fastapi\b/from fasterapi/' "$APP"
    printf '\n\nif __name__ == "__main__":\n    import sys\n\n    app.run(port=int(sys.argv[1]), workers=1)\n'
} > "$FAPP"

# The request body, made once: one file part of MIB MiB of random bytes.
export UPLOAD_BOUNDARY="----fasterapiUploadBench7MA4YWxkTrZu0gW"
export UPLOAD_BODY="$OUT/body.bin"
python3 - "$UPLOAD_BODY" "$UPLOAD_BOUNDARY" "$MIB" <<'PY'
import os, sys
path, boundary, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "wb") as f:
    f.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload.bin"\r\n'
            f'Content-Type: application/octet-stream\r\n\r\n'.encode())
    f.write(os.urandom(mib * 1024 * 1024))
    f.write(f"\r\n--{boundary}--\r\n".encode())
PY
FILE_BYTES=$((MIB * 1024 * 1024))

server_cmd() {
    local V="$VENV/bin"
    case "$1" in
        fasterapi-py)    CMD=("$V/python" "$FAPP" "{PORT}") ;;
        fastapi-uvicorn) CMD=("$V/uvicorn" --app-dir "$PEERS/py" upload_app:app --host 127.0.0.1
                              --port "{PORT}" --workers 1 --loop uvloop --http httptools
                              --log-level warning --no-access-log) ;;
        *) die "unknown server '$1' (known: fasterapi-py fastapi-uvicorn)" ;;
    esac
}

rss_kib() {  # summed VmRSS of the server's process group
    local f pg rss t=0
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null < "$f" || continue
        read -r -a a <<< "${line##*) }"
        if [[ -n "$SRV_PGID" && "${a[2]}" == "$SRV_PGID" ]] || [[ -z "$SRV_PGID" && "$f" == "/proc/$SRV_PID/stat" ]]; then
            rss=$(awk '/^VmRSS:/ { print $2 }' "${f%/stat}/status" 2>/dev/null || echo 0)
            t=$((t + ${rss:-0}))
        fi
    done
    echo "$t"
}

[[ -f "$RESULTS" ]] && mv "$RESULTS" "$OUT/results-$(date +%Y%m%d-%H%M%S).tsv"
printf 'server\tconns\treq_s\tMB_s\tp50_ms\tp99_ms\tnon2xx\tsock_errors\trequests\tserver_cpu_ms_per_req\tclient_cpu_ms_per_req\trss_ready_MiB\trss_peak_MiB\trss_growth_MiB\tgrowth_per_file\tbg_busy_pct\n' > "$RESULTS"
CLK_TCK="$(getconf CLK_TCK)"
FAIL=0
for conns in $CONNS_LIST; do
    for s in $ONLY; do
        server_cmd "$s"
        srvlog="$LOGDIR/${s}_c${conns}_server.log"
        log "=== $s -c$conns"
        start_server "$srvlog" taskset -c 0 -- "${CMD[@]}"
        if ! wait_ready /ready; then
            log "!!! $s did not answer 200 on /ready (log: $srvlog)"; tail -5 "$srvlog" >&2; FAIL=1; stop_server; continue
        fi
        # The baseline: before any upload (memory that a server keeps for the next uploads
        # once it served one is growth too).
        ready_kib=$(rss_kib)
        got="$(curl -s -H "Content-Type: multipart/form-data; boundary=$UPLOAD_BOUNDARY" --data-binary "@$UPLOAD_BODY" "http://127.0.0.1:$PORT/upload" | tr -d ' ')"
        if [[ "$got" != *"\"size\":$FILE_BYTES"* ]]; then
            log "!!! $s answered $got"; FAIL=1; stop_server; continue
        fi
        (( WARMUP > 0 )) && timeout $((WARMUP + 30)) taskset -c 1 wrk -t1 -c"$conns" -d"${WARMUP}s" -s "$HERE/upload.lua" "http://127.0.0.1:$PORT" > /dev/null 2>&1
        BG=$(cpu_busy_pct); waited=0
        while (( BG > MAX_BG_BUSY && waited < BG_WAIT )); do sleep 2; waited=$((waited + 3)); BG=$(cpu_busy_pct); done
        (( BG <= MAX_BG_BUSY )) || log "WARNING: measuring with ${BG}% background CPU"
        # The peak RSS over the run (the check upload and the warm-up are in it too, as the
        # RSS they left), sampled on the client's core.
        peak_file="$LOGDIR/${s}_c${conns}_peak"
        echo "$(rss_kib)" > "$peak_file"
        ( peak=0; while :; do r=$(rss_kib); (( r > peak )) && { peak=$r; echo "$peak" > "$peak_file"; }; sleep 0.05; done ) &
        SAMPLER=$!
        taskset -pc 1 "$SAMPLER" > /dev/null
        out="$LOGDIR/${s}_c${conns}.txt"
        t0=$(server_ticks)
        # The client's CPU too (utime+stime of wrk): at one connection the sender's
        # writes (which run loopback's receive path as well) may bound the rate.
        client_cpu="$LOGDIR/${s}_c${conns}_client_cpu"
        timeout $((DURATION + 60)) taskset -c 1 /usr/bin/time -f '%U %S' -o "$client_cpu" \
            wrk -t1 -c"$conns" -d"${DURATION}s" --timeout 30s --latency -s "$HERE/upload.lua" "http://127.0.0.1:$PORT" > "$out" 2>&1 || log "wrk failed ($out)"
        t1=$(server_ticks)
        kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""
        peak_kib=$(cat "$peak_file" 2>/dev/null || echo 0)
        read -r requests rps p50 p99 bad sock < <(parse_wrk "$out")
        read -r cu cs < <(tail -1 "$client_cpu" 2>/dev/null || echo "NA NA")
        read -r mbs ms cms ready peak growth per_file < <(awk -v rps="$rps" -v fb="$FILE_BYTES" -v t=$((t1 - t0)) -v n="$requests" -v hz="$CLK_TCK" \
            -v r="$ready_kib" -v p="$peak_kib" -v cu="$cu" -v cs="$cs" 'BEGIN {
                ok = n + 0 > 0
                printf "%.1f %s %s %.1f %.1f %.1f %.2f\n", rps * fb / 1e6, ok ? sprintf("%.2f", t / hz * 1e3 / n) : "NA",
                       (ok && cu ~ /^[0-9.]+$/) ? sprintf("%.2f", (cu + cs) * 1e3 / n) : "NA",
                       r / 1024, p / 1024, (p - r) / 1024, (p - r) * 1024 / fb }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$conns" "$rps" "$mbs" "$p50" "$p99" "$bad" "$sock" \
            "$requests" "$ms" "$cms" "$ready" "$peak" "$growth" "$per_file" "$BG" >> "$RESULTS"
        log "$s -c$conns: $rps req/s ($mbs MB/s), p99 $p99 ms, non-2xx $bad, server $ms ms/req, client $cms ms/req, RSS $ready -> $peak MiB (+$growth MiB, ${per_file}x the file)"
        [[ "$requests" != NA && "$requests" != 0 && "$bad" == 0 && "$sock" == none ]] || FAIL=1
        stop_server
    done
done
column -t -s $'\t' "$RESULTS"
exit "$FAIL"
