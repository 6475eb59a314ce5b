#!/usr/bin/env bash
# layers.sh — checks that fasterapi-http's imports only point down its layers:
#
#   0 http/      vocabulary: Method, StatusCode, Response, Body, IntoResponse
#   1 proto/     HTTP/1 codec: head scanner and analysis, chunked decoder, encoder, Date
#   2 config.rs  Config
#   3 app/       App, router, Request, Error, deferred answers (Reply, Companion)
#   4 server/    connections, event loops, executor, listeners, OS calls, TestServer
#   5 bench_support.rs, fuzzing.rs   entry points of the benches and fuzz targets
#
# Lists every `crate::` edge between layers found in code (comments and unit-test
# modules aside: tests may use anything), and fails if one points up.
#   scripts/layers.sh          edges as "from-layer -> to-layer  count", then OK or the
#                              offending lines
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fasterapi-http/src"

layer_of_path() {
    case "$1" in
        http/*) echo "0-http" ;;
        proto/*) echo "1-proto" ;;
        config.rs) echo "2-config" ;;
        app/*) echo "3-app" ;;
        server/*) echo "4-server" ;;
        bench_support.rs | fuzzing.rs) echo "5-tools" ;;
        *) echo "" ;;
    esac
}

# What a `crate::NAME` refers to: a layer's module, or a name the crate root re-exports.
layer_of_name() {
    case "$1" in
        http | Method | StatusCode | Response | Body | IntoResponse) echo "0-http" ;;
        proto) echo "1-proto" ;;
        config | Config) echo "2-config" ;;
        app | App | RouteMut | Error | Request | Reply | Companion | router) echo "3-app" ;;
        server | Server | RunningServer | ShutdownHandle | TestServer) echo "4-server" ;;
        bench_support | fuzzing) echo "5-tools" ;;
        *) echo "?-$1" ;;
    esac
}

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
while IFS= read -r file; do
    from=$(layer_of_path "$file")
    [[ -n "$from" ]] || continue
    # Code lines only: stop at the unit-test module, skip comments; then every
    # `crate::name` and every name of a `crate::{a, b}` group.
    awk '/^#\[cfg\(test\)\]/ { getline nxt; if (nxt ~ /^mod tests/) exit; print nxt; next }
         /^[[:space:]]*\/\// { next }
         { print }' "$file" |
        { grep -o 'crate::\({[^}]*}\|[A-Za-z_][A-Za-z0-9_]*\)' || true; } |
        sed 's/^crate:://; s/[{}]//g' | tr ',' '\n' | sed 's/^ *//; s/::.*//; s/ .*//' |
        { grep -v '^$' || true; } |
        while read -r name; do
            to=$(layer_of_name "$name")
            [[ "$to" == "$from" ]] || printf '%s\t%s\t%s\t%s\n' "$from" "$to" "$file" "$name"
        done >> "$edges"
done < <(find . -name '*.rs' ! -name '*tests.rs' ! -name 'testing.rs' | sed 's|^\./||' | sort)

echo "edges between layers (from -> to: count of references):"
cut -f1,2 "$edges" | sort | uniq -c | awk '{ printf "  %-9s -> %-9s %d\n", $2, $3, $1 }'
bad=$(awk -F'\t' '$2 ~ /^\?/ || $2 > $1' "$edges" | sort -u)
if [[ -n "$bad" ]]; then
    echo "imports that point up (or to an unknown name):"
    echo "$bad" | awk -F'\t' '{ printf "  %s (%s) -> %s (crate::%s)\n", $3, $1, $2, $4 }'
    exit 1
fi
echo "OK: every import points down (0-http <- 1-proto <- 2-config <- 3-app <- 4-server <- 5-tools)"
