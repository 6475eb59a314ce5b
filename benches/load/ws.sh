#!/usr/bin/env bash
# ws.sh — WebSocket echo round trips: fasterapi's Rust handler (examples/ws_echo.rs),
# actix-web's (benches/peers/rust/actix-ws, actix-ws as its README writes an echo), axum's
# (benches/peers/rust/axum-ws, as axum's websockets example writes one), the same FastAPI app (ws_fastapi.py) on fasterapi and on FastAPI + uvicorn (websockets),
# each on one worker pinned to core 0, the client (examples/ws_load.rs: CONNS connections,
# each sending a binary message and waiting for its echo, MESSAGES times) on core 1.
# Reports messages per second and the server's CPU per message (utime+stime from
# /proc/PID/stat over the run), per message size; with REPS=N the servers take turns N times
# (interleaved: each round runs every server once) and the table gives the medians.
#
#   benches/load/ws.sh      -> stdout (a markdown table) and $OUT/ws.tsv
# Settings: CONNS=16, SIZES="64 16384", MESSAGES="4000 1000" (per connection, per size),
# PORT=18191, FASTAPI_PY=python with fastapi+uvicorn+websockets, FASTERAPI_PY=python with
# fasterapi installed (default: .venv/bin/python), SKIP_BUILD=1 to reuse the binaries,
# REPS=1, ONLY="fasterapi-rust actix-ws axum-ws fasterapi-python fastapi-uvicorn" to run some of
# them (in that order).
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
ONLY="${ONLY:-fasterapi-rust actix-ws axum-ws fasterapi-python fastapi-uvicorn}"
REPS="${REPS:-1}"
TARGET_DIR="${CARGO_TARGET_DIR:+$(cd "$ROOT" && realpath -m "$CARGO_TARGET_DIR")}"
TARGET="${TARGET_DIR:-$ROOT/target}/release/examples"
wanted() { [[ " $ONLY " == *" $1 "* ]]; }
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && cargo build --release --locked --example ws_echo --example ws_load)
    peers=()
    for p in actix-ws axum-ws; do ! wanted "$p" || peers+=(-p "peer-$p"); done
    if (( ${#peers[@]} )); then
        cargo build --release --locked --manifest-path "$ROOT/benches/peers/rust/Cargo.toml" "${peers[@]}"
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

printf 'server\trep\tsize\tmessages\tseconds\tmsgs_per_s\tcpu_us_per_msg\n' > "$OUT/ws.tsv"
run_one() {  # NAME REP CMD...
    local name="$1" rep="$2"; shift 2
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
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" "$size" "$msgs" "$secs" "$rate" "$cpu" | tee -a "$OUT/ws.tsv" >&2
    done
    stop_server
}

for rep in $(seq 1 "$REPS"); do
    for s in $ONLY; do
        case "$s" in
            fasterapi-rust) run_one "$s" "$rep" "$TARGET/ws_echo" "{PORT}" ;;
            actix-ws | axum-ws) run_one "$s" "$rep" "$(peer_bin "peer-$s")" --port "{PORT}" --workers 1 ;;
            fasterapi-python) run_one "$s" "$rep" env PYTHONPATH="$work" "$FASTERAPI_PY" "$work/ws_fasterapi.py" ;;
            fastapi-uvicorn) run_one "$s" "$rep" "$FASTAPI_PY" -m uvicorn ws_fastapi:app --app-dir "$work" \
                --port "{PORT}" --ws websockets --log-level warning ;;
            *) die "unknown server $s" ;;
        esac
    done
done

python3 - "$OUT/ws.tsv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
runs = {}
for r in rows:
    runs.setdefault((r["server"], r["size"]), []).append(r)
med = {k: (statistics.median(float(r["msgs_per_s"]) for r in v), statistics.median(float(r["cpu_us_per_msg"]) for r in v))
       for k, v in runs.items()}
refs = [n for n in ("actix-ws", "fastapi-uvicorn") if any(r["server"] == n for r in rows)]
def vs(k, ref):
    b = med.get((ref, k[1]))
    return f"{med[k][0] / b[0]:.2f}x / {med[k][1] / b[1]:.2f}x" if b and b[1] > 0 else "-"
print("| server | message | rounds | msgs/s (median) | server CPU µs/msg (median) | "
      + " | ".join(f"vs {ref}: msgs/s / CPU" for ref in refs) + " |")
print("|---|---:|---:|---:|---:|" + "---:|" * len(refs))
for k, (rate, cpu) in med.items():
    print(f"| {k[0]} | {int(k[1])} B | {len(runs[k])} | {rate:,.0f} | {cpu:.2f} | " + " | ".join(vs(k, ref) for ref in refs) + " |")
PY
