#!/usr/bin/env bash
# ws_callgrind.sh — user-space instructions per echoed WebSocket message (valgrind
# callgrind) of the FastAPI echo app (ws_fastapi.py) on fasterapi, or of the Rust handler.
#
#   benches/load/ws_callgrind.sh      -> one TSV line per size: NAME SIZE MESSAGES INSTR_PER_MSG
#
# Each measurement: the server (1 worker) under callgrind, a warm-up of 4 connections x 200
# messages, counters zeroed, exactly CONNS x N messages of SIZE bytes echoed
# (examples/ws_load.rs), counters dumped, every thread's instructions divided by the
# messages. Deterministic enough to compare changes on a shared machine (within ~1%).
# Settings: NAME=fasterapi-python (or fasterapi-rust: examples/ws_echo.rs), SIZES="64 16384",
# CONNS=16, N=500 (per connection), PORT=18193, FASTERAPI_PY=.venv/bin/python (with the
# package built, e.g. `maturin develop --release`), SKIP_BUILD=1 to reuse ws_load/ws_echo.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NAME="${NAME:-fasterapi-python}"
read -r -a SIZES <<< "${SIZES:-64 16384}"
CONNS="${CONNS:-16}"
N="${N:-500}"
PORT="${PORT:-18193}"
FASTERAPI_PY="${FASTERAPI_PY:-$ROOT/.venv/bin/python}"
TARGET_DIR="${CARGO_TARGET_DIR:+$(cd "$ROOT" && realpath -m "$CARGO_TARGET_DIR")}"
TARGET="${TARGET_DIR:-$ROOT/target}/release/examples"
[[ "${SKIP_BUILD:-0}" == 1 ]] || (cd "$ROOT" && cargo build -q --release --locked --example ws_echo --example ws_load)

work="$(mktemp -d)"
sed 's/from fastapi import/from fasterapi import/' "$HERE/ws_fastapi.py" > "$work/ws_fasterapi.py"
cat >> "$work/ws_fasterapi.py" <<'PY'

if __name__ == "__main__":
    import os
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), workers=1)
PY
case "$NAME" in
    fasterapi-python) cmd=("$FASTERAPI_PY" "$work/ws_fasterapi.py") ;;
    fasterapi-rust) cmd=("$TARGET/ws_echo" "$PORT") ;;
    *) echo "ws_callgrind.sh: unknown server $NAME" >&2; exit 2 ;;
esac
for size in "${SIZES[@]}"; do
    rm -f "$work"/cg.*
    PORT="$PORT" valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "${cmd[@]}" > "$work/server.log" 2>&1 &
    vg=$!
    trap 'kill -KILL "$vg" 2>/dev/null || true; wait "$vg" 2>/dev/null || true; rm -rf "$work"' EXIT
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.2
    done
    "$TARGET/ws_load" "127.0.0.1:$PORT" /echo 4 200 "$size" > /dev/null
    callgrind_control -z "$vg" > /dev/null 2>&1
    "$TARGET/ws_load" "127.0.0.1:$PORT" /echo "$CONNS" "$N" "$size" > /dev/null
    callgrind_control -d "$vg" > /dev/null 2>&1
    sleep 0.5
    total=$(grep -h '^summary:' "$work"/cg.*.* 2>/dev/null | awk '{s += $2} END {print s + 0}')
    [[ "$total" != 0 ]] || { echo "ws_callgrind.sh: no counters dumped:" >&2; tail -20 "$work/server.log" >&2; exit 1; }
    printf '%s\t%s\t%d\t%.0f\n' "$NAME" "$size" "$((CONNS * N))" "$(echo "$total / ($CONNS * $N)" | bc -l)"
    kill -KILL "$vg" 2>/dev/null || true
    wait "$vg" 2>/dev/null || true
    if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP"; cp "$work"/cg.*.* "$KEEP/" 2>/dev/null || true; fi
done
