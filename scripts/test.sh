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

echo "==> end-to-end tests"
.venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider

echo "==> terraform checks (checkov, policy template, variable rules)"
.venv/bin/python -m pytest tests/terraform -q -p no:cacheprovider
