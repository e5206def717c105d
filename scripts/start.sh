#!/usr/bin/env bash
# npm start: builds the tracker and the collector, then serves the demo on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh start
node scripts/build.mjs
cargo build --release -p goalpost-collector --locked
mkdir -p .data
exec target/release/goalpost-collector \
  --listen "${GOALPOST_LISTEN:-127.0.0.1:8080}" \
  --db "${GOALPOST_DB:-.data/demo.sqlite}" \
  --site-dir www --dist-dir dist
