#!/usr/bin/env bash
# The medallion benchmark in one command: builds lfhost, its plugins and the
# data generator, installs DuckDB and Polars into .venv-bench, then runs
# benches/bench_medallion.py (arguments are passed on, e.g. --orders 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build.sh
if [[ ! -x .venv-bench/bin/python ]]; then
  echo "==> creating .venv-bench"
  python3 -m venv .venv-bench
fi
echo "==> installing the peers (DuckDB, Polars) into .venv-bench"
.venv-bench/bin/pip install -q -r benches/peers/requirements.txt
exec .venv-bench/bin/python benches/bench_medallion.py "$@"
