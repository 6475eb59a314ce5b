#!/usr/bin/env bash
# compress_cost.sh — user-space instructions per compressed response (valgrind
# callgrind), for each coding and level on the 10 KiB JSON and 100 KiB HTML samples, with
# the compressed size: how the default levels were picked (benches/RESULTS.md, "Response
# compression"). Deterministic, unlike time on a shared machine.
#
#   benches/compress_cost.sh     -> benches/load/out/compress_cost.tsv (+ stdout)
#
# Each case runs the bench binary (benches/compress_cost.rs) with 1 and with 1+N
# compressions; the difference divided by N is one response's cost with the thread's
# encoder already set up, as a route has it after its first response.
# Settings: N=5 (per case), CASES (default below), OUT=benches/load/out.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/benches/load/out}"
N="${N:-5}"
CASES="${CASES:-gzip:1 gzip:4 gzip:6 gzip:9 miniz:1 miniz:6 br:1 br:3 br:4 br:5 br:6 br:9 zstd:1 zstd:3 zstd:6 zstd:9}"
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind > /dev/null; }
BIN="$(cd "$ROOT" && cargo bench --locked --bench compress_cost --no-run 2>&1 \
    | grep -o '(.*compress_cost-[0-9a-f]*)' | tr -d '()')"
[[ "$BIN" = /* ]] || BIN="$ROOT/$BIN"
mkdir -p "$OUT"
TSV="$OUT/compress_cost.tsv"
printf 'body\tcoding\tlevel\tin_bytes\tout_bytes\tinstr_per_response\n' > "$TSV"
count() {  # instructions of one run: coding level body n
    local f; f="$(mktemp)"
    valgrind --tool=callgrind --callgrind-out-file="$f" "$BIN" "$@" > /dev/null 2>&1
    callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
    rm -f "$f"
}
for body in json_10k html_100k; do
    for case in $CASES; do
        coding="${case%%:*}" level="${case##*:}"
        read -r _ in _ out < <("$BIN" "$coding" "$level" "$body" 1)
        one="$(count "$coding" "$level" "$body" 1)"
        many="$(count "$coding" "$level" "$body" $((N + 1)))"
        per=$(( (many - one) / N ))
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$body" "$coding" "$level" "$in" "$out" "$per" | tee -a "$TSV"
    done
done
echo "compress_cost.sh: wrote $TSV" >&2
