#!/usr/bin/env bash
# Puts the assets of the docs pages (/docs: Swagger UI, /redoc: ReDoc) into the Python
# package, from the npm registry, so that fasterapi serves them itself and the docs work
# without internet (FastAPI points the browser at a CDN instead). Run before building the
# package (`maturin develop` or `maturin build`); scripts/test runs it. Pinned versions; npm
# checks each tarball against the registry's integrity hash. The licenses come along.
# Does nothing when the pinned versions are already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SWAGGER_UI_DIST=5.36.0
REDOC=2.5.4
dest=fasterapi-py/python/fasterapi/_docs_assets
want="swagger-ui-dist@$SWAGGER_UI_DIST redoc@$REDOC"
if [ -f "$dest/VERSIONS" ] && [ "$(cat "$dest/VERSIONS")" = "$want" ]; then
    exit 0
fi
command -v npm >/dev/null || { echo "docs-assets.sh: npm is needed (Debian: apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "swagger-ui-dist@$SWAGGER_UI_DIST" "redoc@$REDOC" >/dev/null)
mkdir -p "$tmp/swagger" "$tmp/redoc"
tar -xzf "$tmp/swagger-ui-dist-$SWAGGER_UI_DIST.tgz" -C "$tmp/swagger"
tar -xzf "$tmp/redoc-$REDOC.tgz" -C "$tmp/redoc"
rm -rf "$dest"
mkdir -p "$dest/swagger-ui-dist" "$dest/redoc"
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
    cp "$tmp/swagger/package/$f" "$dest/swagger-ui-dist/"
done
for f in bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE; do
    cp "$tmp/redoc/package/$f" "$dest/redoc/"
done
echo "$want" > "$dest/VERSIONS"
echo "docs-assets.sh: $want in $dest"
