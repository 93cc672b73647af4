#!/usr/bin/env bash
# Runs the seed pipeline end to end on the sample landing data in data/landing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
echo "==> lfhost run pipelines.toml (lake: data/lake)"
target/release/lfhost run pipelines.toml
