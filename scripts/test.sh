#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests, then the end-to-end tests
# that drive the real binary and real plugins and read the Delta tables back
# with Python's deltalake and DuckDB (installed into .venv), the S3 tests
# against moto, and the terraform checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh

echo "==> cargo test"
cargo test --release --workspace

echo "==> Python test tools (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt

# The report test renders in headless Chromium; it skips (saying why) only
# where Chromium cannot be installed.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> installing Debian's chromium for the report test"
  apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } \
    || echo "    could not install chromium: the report test will say it skipped"
fi

echo "==> end-to-end tests"
.venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider

echo "==> terraform checks (checkov, policy template, variable rules)"
.venv/bin/python -m pytest tests/terraform -q -p no:cacheprovider
