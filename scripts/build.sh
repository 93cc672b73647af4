#!/usr/bin/env bash
# Builds the lfhost binary and the Wasm plugins (release, one target/ folder).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  echo "==> rustup target add wasm32-wasip2"
  rustup target add wasm32-wasip2
fi
echo "==> building the plugins (wasm32-wasip2)"
cargo build --release --target wasm32-wasip2 -p bronze-ingest -p expectations -p cdc -p aggregate -p hostile -p escape -p next-contract
echo "==> building lfhost"
# --workspace everywhere, so that `cargo test --release --workspace` reuses
# these artifacts instead of rebuilding with other features.
cargo build --release --workspace
