#!/usr/bin/env bash
# gzip_peer.sh — a compressed JSON answer, fasterapi (examples/gzip_json.rs: the route with
# `.compress(Compression::gzip_only(1))`) against actix-web behind `middleware::Compress`
# (benches/peers/rust/actix-gzip, gzip at actix-http's fixed level 1), the same 1,419-byte
# body (benches/peers/gzip_body.json), same run, same client: server CPU per request with
# wrk sending `Accept-Encoding: gzip`.
#
#   benches/load/gzip_peer.sh        -> benches/load/out/gzip_peer/results.tsv
#
# Each server in turn, REPS times interleaved: one worker pinned to core 0, wrk -t1 with
# CONNS connections on core 1, a 1 s warm-up, then DURATION seconds whose server CPU
# (utime+stime of the server's process group) is divided by the requests served. Before
# measuring, the answer is checked to be gzip and to decompress to the body.
# Settings: DURATION=5 REPS=3 CONNS=64 ONLY="fasterapi actix" PORT=18490 SKIP_BUILD=1
#   LEVEL=1 (fasterapi's gzip level; actix-web's is fixed at 1)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${OUT:-$HERE/out}/gzip_peer"
DURATION="${DURATION:-5}"
REPS="${REPS:-3}"
CONNS="${CONNS:-64}"
ONLY="${ONLY:-fasterapi actix}"
PORT="${PORT:-18490}"
LEVEL="${LEVEL:-1}"
READY_TIMEOUT="${READY_TIMEOUT:-30}"
CLK_TCK="$(getconf CLK_TCK)"
TARGET_DIR="${CARGO_TARGET_DIR:+$(cd "$ROOT" && realpath -m "$CARGO_TARGET_DIR")}"
PEER_BIN="${TARGET_DIR:-$ROOT/benches/peers/rust/target}/release"
EXAMPLE_BIN="${TARGET_DIR:-$ROOT/target}/release/examples/gzip_json"
BODY_FILE="$ROOT/benches/peers/gzip_body.json"

log() { echo "[gzip_peer $(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib.sh
source "$HERE/lib.sh"
trap stop_server EXIT
trap 'log "interrupted"; exit 130' INT TERM

ensure_wrk
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && cargo build --release --locked --example gzip_json)
    cargo build --release --locked --manifest-path "$ROOT/benches/peers/rust/Cargo.toml" -p peer-actix-gzip
fi

command_of() {
    case "$1" in
        fasterapi) echo "$EXAMPLE_BIN --port {PORT} --threads 1 --level $LEVEL" ;;
        actix) echo "$PEER_BIN/peer-actix-gzip --port {PORT} --workers 1" ;;
        *) die "unknown server $1" ;;
    esac
}

mkdir -p "$OUT/logs"
TSV="$OUT/results.tsv"
printf 'name\trep\tconns\trequests\treq_s\tp99_ms\tnon2xx\tgzip_bytes\tserver_cpu_us_per_req\tbg_busy_pct\n' > "$TSV"
URL="http://127.0.0.1:$PORT/data"

for rep in $(seq 1 "$REPS"); do
    for name in $ONLY; do
        read -r -a cmd <<< "$(command_of "$name")"
        start_server "$OUT/logs/${name}_server.log" taskset -c 0 -- "${cmd[@]}"
        wait_ready /data || die "$name did not start (see $OUT/logs/${name}_server.log)"
        headers="$(curl -s -D - -o "$OUT/body.gz" -H 'Accept-Encoding: gzip' "$URL")"
        grep -qi '^content-encoding: gzip' <<< "$headers" || die "$name: the answer is not gzip"
        gunzip -c "$OUT/body.gz" | cmp -s - "$BODY_FILE" || die "$name: the answer does not decompress to the body"
        size="$(stat -c %s "$OUT/body.gz")"
        out="$OUT/logs/${name}_${rep}.txt"
        bg="$(cpu_busy_pct)"
        timeout 10 taskset -c 1 wrk -t1 -c"$CONNS" -d1s -H 'Accept-Encoding: gzip' "$URL" > /dev/null 2>&1 || true
        s0="$(server_ticks)"
        timeout $((DURATION + 30)) taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency \
            -H 'Accept-Encoding: gzip' "$URL" > "$out" 2>&1 || log "wrk exit $? on $name"
        s1="$(server_ticks)"
        read -r requests rps p50 p99 bad sock < <(parse_wrk "$out")
        us="$(echo "($s1 - $s0) * 1000000 / $CLK_TCK / $requests" | bc -l)"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\n' "$name" "$rep" "$CONNS" "$requests" "$rps" "$p99" "$bad" "$size" "$us" "$bg" >> "$TSV"
        log "$name rep$rep: $rps req/s, p99 $p99 ms, non-2xx $bad, $size B gzip, server $(printf %.2f "$us") µs/req (machine busy before: $bg%)"
        stop_server
    done
done
log "wrote $TSV"
