#!/usr/bin/env bash
# Python handlers of fasterapi against the Python peers and fasterapi's Rust handlers, in
# one window, with the peer rig (../shared/peers: run its setup.sh once). 1 worker, server
# pinned to core 0, wrk to core 1. From the project root:
#
#   cargo build --release --example hello
#   .venv/bin/maturin develop --release -m fasterapi-py/Cargo.toml   # in the venv
#   examples/python/compare_peers.sh [REPS]       # tables in $OUT/summary.md
#
# Settings: OUT (default /tmp/fasterapi-py-bench), DURATION (default 10), and bench.sh's own
# (MAX_BG_BUSY, FOREIGN_MAX...). Compare ratios within one run: absolute numbers drift.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
P="${PEERS:-$ROOT/../shared/peers}"
OUT="${OUT:-/tmp/fasterapi-py-bench}"
mkdir -p "$OUT"
export RESULTS="$OUT/results.tsv" LOGDIR="$OUT/logs" PORT="${PORT:-18297}" DURATION="${DURATION:-10}"
export HIGH_C="${HIGH_C:-0}" MODE=pinned CONFIG=1w-pinned
rm -f "$RESULTS"
for rep in $(seq 1 "${1:-2}"); do
    export REP=$rep
    "$P/bench.sh" fasterapi-rust "$ROOT/target/release/examples/hello" --port {PORT} --threads 1
    "$P/bench.sh" fasterapi-py "$ROOT/.venv/bin/python" "$ROOT/examples/python/bench_app.py" --port {PORT} --workers 1
    "$P/bench.sh" rsgi-granian "$P/venv/bin/granian" --interface rsgi --host 127.0.0.1 --port {PORT} --workers 1 \
        --runtime-threads 1 --http 1 --no-ws --loop uvloop --log-level warning --working-dir "$P/py" rsgi_app:app
    "$P/bench.sh" robyn "$P/venv/bin/python" "$P/py/robyn_app.py" --processes 1 --workers 1 --log-level WARNING --disable-openapi
    "$P/bench.sh" fastapi-uvicorn "$P/venv/bin/uvicorn" --app-dir "$P/py" fastapi_app:app --host 127.0.0.1 --port {PORT} \
        --workers 1 --loop uvloop --http httptools --no-access-log --log-level warning
done
python3 "$P/summarize.py" "$RESULTS" > "$OUT/summary.md"
cat "$OUT/summary.md"
