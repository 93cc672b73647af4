#!/usr/bin/env bash
# Runs the seed pipeline end to end on the sample landing data in data/landing
# (lake: data/lake), then prints the first rows of the gold table. A second
# run ingests nothing new and changes no table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
echo "==> lfhost run pipelines.toml"
target/release/lfhost run pipelines.toml
echo "==> lfhost head pipelines.toml gold_customer_orders"
target/release/lfhost head pipelines.toml gold_customer_orders -n 10
