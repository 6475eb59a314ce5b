#!/usr/bin/env bash
# instructions.sh — user-space instructions per request (valgrind callgrind) of fasterapi's
# hello example, may-minihttp and the floor server, for GET /plaintext and GET /json.
#
#   benches/load/instructions.sh          -> benches/load/out/instructions.tsv (+ stdout)
#
# Each measurement (callgrind.sh): the server under callgrind with 1 thread, N/10 warm-up
# requests, counters zeroed, exactly N requests from fixed_client.py over CONNS keep-alive
# connections, instructions of all server threads divided by N. Independent of machine
# load, so it is the stable comparison on a shared machine. report.py includes the TSV.
# ONLY=fasterapi-metrics: the hello example with Prometheus metrics on (`--metrics`).
# Settings: N=20000 requests, CONNS=64, ONLY="fasterapi minihttp floor", PATHS="/plaintext
# /json", PORT=18181, OUT=benches/load/out, SKIP_BUILD=1 to reuse built binaries.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-$HERE/out}"
N="${N:-20000}"
ONLY="${ONLY:-fasterapi minihttp floor}"
PATHS="${PATHS:-/plaintext /json}"
export CONNS="${CONNS:-64}" PORT="${PORT:-18181}"
TARGET_DIR="${CARGO_TARGET_DIR:+$(cd "$ROOT" && realpath -m "$CARGO_TARGET_DIR")}"
PEER_BIN="${TARGET_DIR:-$ROOT/benches/peers/rust/target}/release"
HELLO="${TARGET_DIR:-$ROOT/target}/release/examples/hello"

command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind > /dev/null; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl > /dev/null; }
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && cargo build --release --locked --example hello)
    pkgs=()
    for s in $ONLY; do [[ "$s" == fasterapi ]] || pkgs+=(-p "peer-$s"); done
    (( ${#pkgs[@]} == 0 )) || cargo build --release --locked --manifest-path "$ROOT/benches/peers/rust/Cargo.toml" "${pkgs[@]}"
fi

mkdir -p "$OUT"
TSV="$OUT/instructions.tsv"
printf 'name\tpath\trequests\tinstr_per_req\n' > "$TSV"
for name in $ONLY; do
    case "$name" in
        fasterapi) cmd=("$HELLO" --port "{PORT}" --threads 1) ;;
        fasterapi-metrics) cmd=("$HELLO" --port "{PORT}" --threads 1 --metrics) ;;
        minihttp)  cmd=("$PEER_BIN/peer-minihttp" --port "{PORT}" --workers 1) ;;
        floor)     cmd=("$PEER_BIN/peer-floor" --port "{PORT}") ;;
        actix|axum) cmd=("$PEER_BIN/peer-$name" --port "{PORT}" --workers 1) ;;
        *) echo "instructions.sh: unknown server $name" >&2; exit 2 ;;
    esac
    for path in $PATHS; do
        line="$("$HERE/callgrind.sh" "$name" "$path" "$N" -- "${cmd[@]}")"
        echo "$line" | tee -a "$TSV"
    done
done
echo "instructions.sh: wrote $TSV" >&2
