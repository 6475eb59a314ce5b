#!/usr/bin/env bash
# ws.sh — WebSocket echo round trips: fasterapi's Rust handler (examples/ws_echo.rs),
# actix-web's (benches/peers/rust/actix-ws, actix-ws as its README writes an echo), the
# same FastAPI app (ws_fastapi.py) on fasterapi and on FastAPI + uvicorn (websockets),
# each on one worker pinned to core 0, the client (examples/ws_load.rs: CONNS connections,
# each sending a binary message and waiting for its echo, MESSAGES times) on core 1.
# Reports messages per second and the server's CPU per message (utime+stime from
# /proc/PID/stat over the run), per message size.
#
#   benches/load/ws.sh      -> stdout (a markdown table) and $OUT/ws.tsv
# Settings: CONNS=16, SIZES="64 16384", MESSAGES="4000 1000" (per connection, per size),
# PORT=18191, FASTAPI_PY=python with fastapi+uvicorn+websockets, FASTERAPI_PY=python with
# fasterapi installed (default: .venv/bin/python), SKIP_BUILD=1 to reuse the binaries,
# ONLY="fasterapi-rust actix-ws fasterapi-python fastapi-uvicorn" to run some of them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-$HERE/out}"
PORT="${PORT:-18191}"
CONNS="${CONNS:-16}"
read -r -a SIZES <<< "${SIZES:-64 16384}"
read -r -a MESSAGES <<< "${MESSAGES:-4000 1000}"
FASTERAPI_PY="${FASTERAPI_PY:-$ROOT/.venv/bin/python}"
FASTAPI_PY="${FASTAPI_PY:-python3}"
log() { echo "ws.sh: $*" >&2; }
die() { log "$*"; exit 1; }
source "$HERE/lib.sh"
ONLY="${ONLY:-fasterapi-rust actix-ws fasterapi-python fastapi-uvicorn}"
TARGET_DIR="${CARGO_TARGET_DIR:+$(cd "$ROOT" && realpath -m "$CARGO_TARGET_DIR")}"
TARGET="${TARGET_DIR:-$ROOT/target}/release/examples"
PEER_BIN="${TARGET_DIR:-$ROOT/benches/peers/rust/target}/release"
wanted() { [[ " $ONLY " == *" $1 "* ]]; }
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && cargo build --release --locked --example ws_echo --example ws_load)
    if wanted actix-ws; then
        cargo build --release --locked --manifest-path "$ROOT/benches/peers/rust/Cargo.toml" -p peer-actix-ws
    fi
fi
! wanted fastapi-uvicorn || "$FASTAPI_PY" -c "import fastapi, uvicorn, websockets" || die "FASTAPI_PY needs fastapi, uvicorn and websockets"
mkdir -p "$OUT"
work="$(mktemp -d)"
trap 'stop_server; rm -rf "$work"' EXIT
sed 's/from fastapi import/from fasterapi import/' "$HERE/ws_fastapi.py" > "$work/ws_fasterapi.py"
cat >> "$work/ws_fasterapi.py" <<'PY'

if __name__ == "__main__":
    import os
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), workers=1)
PY
cp "$HERE/ws_fastapi.py" "$work/"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0; sleep 0.1; done; die "no server on $PORT"; }

printf 'server\tsize\tmessages\tseconds\tmsgs_per_s\tcpu_us_per_msg\n' > "$OUT/ws.tsv"
run_one() {  # NAME CMD...
    local name="$1"; shift
    start_server "$OUT/ws-$name.log" taskset -c 0 -- "$@"
    wait_port
    local pid; pid="$(pgrep -n -g "${SRV_PGID:-$SRV_PID}" 2>/dev/null || echo "$SRV_PID")"
    # warm-up
    taskset -c 1 "$TARGET/ws_load" "127.0.0.1:$PORT" /echo 4 200 64 > /dev/null
    for i in "${!SIZES[@]}"; do
        local size="${SIZES[$i]}" n="${MESSAGES[$i]}"
        local t0; t0="$(ticks "$pid")"
        local line; line="$(taskset -c 1 "$TARGET/ws_load" "127.0.0.1:$PORT" /echo "$CONNS" "$n" "$size")"
        local t1; t1="$(ticks "$pid")"
        local msgs secs rate
        msgs="$(sed 's/.*messages=\([0-9]*\).*/\1/' <<< "$line")"
        secs="$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<< "$line")"
        rate="$(sed 's/.*msgs_per_s=\([0-9]*\).*/\1/' <<< "$line")"
        local cpu; cpu="$(awk -v d="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v m="$msgs" 'BEGIN{printf "%.2f", d / hz * 1e6 / m}')"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$size" "$msgs" "$secs" "$rate" "$cpu" | tee -a "$OUT/ws.tsv" >&2
    done
    stop_server
}

! wanted fasterapi-rust || run_one fasterapi-rust "$TARGET/ws_echo" "{PORT}"
! wanted actix-ws || run_one actix-ws "$PEER_BIN/peer-actix-ws" --port "{PORT}" --workers 1
! wanted fasterapi-python || run_one fasterapi-python env PYTHONPATH="$work" "$FASTERAPI_PY" "$work/ws_fasterapi.py"
! wanted fastapi-uvicorn || run_one fastapi-uvicorn "$FASTAPI_PY" -m uvicorn ws_fastapi:app --app-dir "$work" --port "{PORT}" --ws websockets --log-level warning

python3 - "$OUT/ws.tsv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
ref = next((n for n in ("fastapi-uvicorn", "actix-ws") if any(r["server"] == n for r in rows)), rows[0]["server"])
base = {r["size"]: r for r in rows if r["server"] == ref}
print(f"| server | message | msgs/s | vs {ref} | server CPU µs/msg | {ref}'s CPU / this |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    b = base.get(r["size"])
    ratio = float(r["msgs_per_s"]) / float(b["msgs_per_s"]) if b else float("nan")
    cpu = float(b["cpu_us_per_msg"]) / float(r["cpu_us_per_msg"]) if b else float("nan")
    print(f"| {r['server']} | {int(r['size'])} B | {int(r['msgs_per_s']):,} | {ratio:.1f}x | {r['cpu_us_per_msg']} | {cpu:.1f}x |")
PY
