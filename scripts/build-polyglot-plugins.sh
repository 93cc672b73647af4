#!/usr/bin/env bash
# Builds the plugins written in other languages than Rust, from source, into
# OUT_DIR:
#   OUT_DIR/pii_mask.wasm        plugins/pii-mask-python   (componentize-py)
#   OUT_DIR/derive_columns.wasm  plugins/derive-columns-js (jco componentize)
#
#   scripts/build-polyglot-plugins.sh OUT_DIR
#
# Safe to re-run. The toolchains are installed only when missing or out of
# date (componentize-py into .venv at the version tests/e2e/requirements.txt
# pins; the JS tools with `npm ci` from package-lock.json), so after the first
# run it works offline.
set -euo pipefail

die() { echo "build-polyglot-plugins: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 OUT_DIR"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

# Checked before building anything, so a machine without Node fails at once.
command -v node >/dev/null 2>&1 || die "node is not installed: the JavaScript plugin needs Node.js (20 or later) and npm"
command -v npm >/dev/null 2>&1 || die "npm is not installed: the JavaScript plugin needs Node.js (20 or later) and npm"

# ------------------------------------------------------------- Python --
pin="$(grep -E '^componentize-py==' tests/e2e/requirements.txt)" \
  || die "tests/e2e/requirements.txt pins no componentize-py"
want="${pin#componentize-py==}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv || die "python3 -m venv failed: install Python 3 with its venv module"
fi
have="$(.venv/bin/componentize-py --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  echo "==> installing $pin into .venv (found: ${have:-none})"
  .venv/bin/pip install --quiet --disable-pip-version-check "$pin"
fi

echo "==> pii-mask (Python, componentize-py $want) -> $out/pii_mask.wasm"
start=$SECONDS
.venv/bin/componentize-py -d wit -w stage-plugin componentize \
  -p plugins/pii-mask-python app -o "$out/pii_mask.wasm" >/dev/null
echo "    built in $((SECONDS - start)) s, $(wc -c <"$out/pii_mask.wasm") bytes"

# --------------------------------------------------------- JavaScript --

js=plugins/derive-columns-js
# npm writes node_modules/.package-lock.json on every install: older than
# package-lock.json (or absent) means node_modules is not what the lock says.
if [ ! -f "$js/node_modules/.package-lock.json" ] || [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
  echo "==> npm ci in $js"
  (cd "$js" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
fi

echo "==> derive-columns (JavaScript, jco $("$js/node_modules/.bin/jco" --version)) -> $out/derive_columns.wasm"
start=$SECONDS
# Without `http` and `fetch-event`, the component does not import wasi:http,
# which the host does not grant.
(cd "$js" && node_modules/.bin/jco componentize stage.js \
  --wit ../../wit --world-name stage-plugin \
  --disable http fetch-event \
  --out "$out/derive_columns.wasm" >/dev/null)
echo "    built in $((SECONDS - start)) s, $(wc -c <"$out/derive_columns.wasm") bytes"
