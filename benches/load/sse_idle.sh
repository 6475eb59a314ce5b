#!/usr/bin/env bash
# sse_idle.sh — the server's resident memory (RSS) holding N idle server-sent event streams
# (issue 15's target: 10,000 idle streams under 100 MB): fasterapi's Rust handler
# (examples/sse_idle.rs), the same FastAPI app (sse_app.py) on fasterapi and on FastAPI +
# uvicorn, each with one worker. sse_clients.py opens N connections, sends GET /events on
# each, reads the head and the first event, and holds them open.
#
#   benches/load/sse_idle.sh      -> stdout (a markdown table) and $OUT/sse_idle.tsv
#
# RSS is the sum of VmRSS over the server's process group, read after one stream was served
# and closed (before) and once all N clients have their first event (held); per stream =
# (held - before) / N. Settings: N=10000, PORT=18193, FASTERAPI_PY=python with fasterapi
# installed (default: .venv/bin/python), FASTAPI_PY=python with fastapi (0.135+, for
# fastapi.sse) and uvicorn (default: benches/load/out/venv/bin/python), SKIP_BUILD=1 to
# reuse the built example, SERVERS="fasterapi-rust fasterapi-python fastapi-uvicorn", READY_WAIT=600
# (seconds the client may take to have all N streams).
# Traffic: 127.0.0.1 only. The fd limit is raised here with `ulimit -n`.
#
# MODE=fanout: SSE fan-out (issue 15 point 6), one event a second to every one of the N
# streams: the Rust example with a ticker thread (`sse_idle PORT 1000`), and sse_app.py's
# GET /ticks (one ticker task waking every stream) on fasterapi and on FastAPI + uvicorn.
# Not pinned (a client pinned to one core of a busy shared machine took over 5 minutes to
# connect 10,000 streams). Once all N streams have their first event and two seconds passed, RSS (held) and the server's CPU over WINDOW=30 seconds
# are read; then the client is stopped and reports the ticks it got (sse_clients.py: how
# many, how many lost, how late). Per event = the server's CPU over the window / (N x WINDOW).
#   MODE=fanout benches/load/sse_idle.sh   -> stdout and $OUT/sse_fanout.tsv
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-$HERE/out}"
PORT="${PORT:-18193}"
N="${N:-10000}"
FASTERAPI_PY="${FASTERAPI_PY:-$ROOT/.venv/bin/python}"
FASTAPI_PY="${FASTAPI_PY:-$HERE/out/venv/bin/python}"
read -r -a SERVERS <<< "${SERVERS:-fasterapi-rust fasterapi-python fastapi-uvicorn}"
MODE="${MODE:-idle}"
WINDOW="${WINDOW:-30}"
READY_WAIT="${READY_WAIT:-600}"  # seconds the client may take to have all N streams
case "$MODE" in
    idle) ROUTE=/events TICK_MS=0 ;;
    fanout) ROUTE=/ticks TICK_MS=1000 ;;
    *) echo "sse_idle.sh: MODE is idle or fanout" >&2; exit 1 ;;
esac
log() { echo "sse_idle.sh: $*" >&2; }
die() { log "$*"; exit 1; }
source "$HERE/lib.sh"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && cargo build --release --locked --example sse_idle)
fi
"$FASTAPI_PY" -c "import fastapi.sse, uvicorn" || die "FASTAPI_PY needs fastapi (with fastapi.sse) and uvicorn"

# fds: the server and the client each hold one per stream
need=$((N + 1024))
if (( $(ulimit -Sn) < need )); then
    (( $(ulimit -Hn) >= need )) || ulimit -Hn "$need"
    ulimit -Sn "$need"
fi
log "fd limit $(ulimit -n)"

mkdir -p "$OUT"
work="$(mktemp -d)"
CLIENT_PID=""
stop_client() {
    [[ -n "$CLIENT_PID" ]] || return 0
    kill -TERM "$CLIENT_PID" 2>/dev/null || true
    wait "$CLIENT_PID" 2>/dev/null || true
    CLIENT_PID=""
}
trap 'stop_client; stop_server; rm -rf "$work"' EXIT
sed 's/from fastapi\([ .]\)/from fasterapi\1/' "$HERE/sse_app.py" > "$work/sse_fasterapi.py"
cat >> "$work/sse_fasterapi.py" <<'PY'

if __name__ == "__main__":
    import os
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), workers=1)
PY
cp "$HERE/sse_app.py" "$work/"

rss_kb() {  # sum of VmRSS over the server's process group (or its one process)
    local f pg t=0 line group="${SRV_PGID:-}"
    if [[ -z "$group" ]]; then awk '/^VmRSS:/ {print $2}' "/proc/$SRV_PID/status"; return; fi
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null < "$f" || continue
        read -r _ _ _ pg _ <<< "${line##*) }"
        if [[ "$pg" == "$group" ]]; then
            t=$((t + $(awk '/^VmRSS:/ {print $2}' "${f%/stat}/status" 2>/dev/null || echo 0)))
        fi
    done
    echo "$t"
}
wait_port() { for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0; sleep 0.1; done; die "no server on $PORT"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

TSV="$OUT/sse_$MODE.tsv"
if [[ "$MODE" == idle ]]; then
    printf 'server\tstreams\trss_before_mb\trss_held_mb\tkb_per_stream\tnotes\n' > "$TSV"
else
    printf 'server\tstreams\trss_before_mb\trss_held_mb\tkb_per_stream\tcpu_pct\tus_per_event\tticks\tnotes\n' > "$TSV"
fi
run_one() {  # NAME CMD...
    local name="$1"; shift
    start_server "$OUT/sse_$MODE-$name.log" -- "$@"
    wait_port
    # one stream served and closed first: lazily made state is in "before"
    python3 "$HERE/sse_clients.py" "127.0.0.1:$PORT" 1 "$ROUTE" 0 > /dev/null || die "$name: no first event"
    sleep 1
    local before; before="$(rss_kb)"
    python3 "$HERE/sse_clients.py" "127.0.0.1:$PORT" "$N" "$ROUTE" 900 > "$OUT/sse_idle-clients.out" 2>&1 < /dev/null &
    CLIENT_PID=$!
    for _ in $(seq 1 $((READY_WAIT * 5))); do
        grep -q '^ready' "$OUT/sse_idle-clients.out" 2>/dev/null && break
        kill -0 "$CLIENT_PID" 2>/dev/null || break
        sleep 0.2
    done
    local notes="" held cpu="" t0 t1
    if grep -q '^ready' "$OUT/sse_idle-clients.out"; then
        sleep 2
        held="$(rss_kb)"
        if [[ "$MODE" == fanout ]]; then
            t0="$(server_ticks)"
            sleep "$WINDOW"
            t1="$(server_ticks)"
            cpu=$((t1 - t0))
            held="$(( $(rss_kb) > held ? $(rss_kb) : held ))"
        fi
        kill -0 "$SRV_PID" 2>/dev/null || notes="server died"
    else
        held="$(rss_kb 2>/dev/null || echo 0)"
        notes="FAILED: $(tail -1 "$OUT/sse_idle-clients.out" | tr '\t' ' ')"
    fi
    stop_client
    local closed; closed="$(sed -n 's/^closed by the server meanwhile: //p' "$OUT/sse_idle-clients.out")"
    notes="${notes:+$notes; }streams closed by the server while held: ${closed:-?}"
    local per; per="$(awk -v a="$held" -v b="$before" -v n="$N" 'BEGIN { printf "%.2f", (a - b) / n }')"
    if [[ "$MODE" == idle ]]; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$N" "$(mb "$before")" "$(mb "$held")" "$per" "$notes" \
            | tee -a "$TSV" >&2
    else
        local ticks; ticks="$(sed -n 's/^ticks: //p' "$OUT/sse_idle-clients.out")"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$N" "$(mb "$before")" "$(mb "$held")" "$per" \
            "$(awk -v t="${cpu:-0}" -v hz="$(getconf CLK_TCK)" -v w="$WINDOW" 'BEGIN { printf "%.1f", 100 * t / hz / w }')" \
            "$(awk -v t="${cpu:-0}" -v hz="$(getconf CLK_TCK)" -v w="$WINDOW" -v n="$N" 'BEGIN { printf "%.2f", t / hz * 1e6 / (n * w) }')" \
            "${ticks:-none}" "$notes" | tee -a "$TSV" >&2
    fi
    stop_server
}

for s in "${SERVERS[@]}"; do
    case "$s" in
        fasterapi-rust) run_one "$s" "$TARGET/sse_idle" "{PORT}" "$TICK_MS" ;;
        fasterapi-python) run_one "$s" env PYTHONPATH="$work" "$FASTERAPI_PY" "$work/sse_fasterapi.py" ;;
        fastapi-uvicorn) run_one "$s" "$FASTAPI_PY" -m uvicorn sse_app:app --app-dir "$work" --port "{PORT}" \
            --workers 1 --backlog 4096 --log-level warning ;;
        *) die "unknown server $s" ;;
    esac
done

python3 - "$TSV" "$MODE" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
if sys.argv[2] == "fanout":
    print("| server | streams | RSS before | RSS held | per stream | server CPU (% of a core) | CPU µs/event | ticks (client) | notes |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        print(f"| {r['server']} | {r['streams']} | {r['rss_before_mb']} MB | {r['rss_held_mb']} MB | {r['kb_per_stream']} kB "
              f"| {r['cpu_pct']}% | {r['us_per_event']} | {r['ticks']} | {r['notes']} |")
    sys.exit()
print("| server | idle streams | RSS before | RSS holding them | per stream | under 100 MB | notes |")
print("|---|---:|---:|---:|---:|---|---|")
for r in rows:
    ok = "yes" if float(r["rss_held_mb"]) < 100 and not r["notes"].startswith("FAILED") else "no"
    print(f"| {r['server']} | {r['streams']} | {r['rss_before_mb']} MB | {r['rss_held_mb']} MB | {r['kb_per_stream']} kB | {ok} | {r['notes']} |")
PY
