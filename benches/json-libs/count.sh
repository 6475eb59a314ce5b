#!/usr/bin/env bash
# count.sh — instructions per operation of each JSON library (callgrind; deterministic,
# unlike the criterion timings on a shared machine): (I(K) - I(0)) / K for K=2000.
#   benches/json-libs/count.sh    -> "lib op instructions" lines
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
cargo build --release --locked -q --bin count
BIN="${CARGO_TARGET_DIR:-target}/release/count"
K=2000
total() {
    local f; f="$(mktemp)"
    valgrind --tool=callgrind --callgrind-out-file="$f" "$BIN" "$1" "$2" "$3" > /dev/null 2>&1
    grep '^summary:' "$f" | awk '{print $2}'; rm -f "$f"
}
for op in parse one list; do
    for lib in serde_json sonic_rs simd_json; do
        base="$(total "$lib" "$op" 0)"; run="$(total "$lib" "$op" "$K")"
        printf '%s\t%s\t%d\n' "$lib" "$op" $(( (run - base) / K ))
    done
done
