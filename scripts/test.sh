#!/usr/bin/env bash
# npm test: every check, in the order that fails fastest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test

step() { printf '\n== %s\n' "$*"; }

step "rustfmt"
cargo fmt --all --check
step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "clippy (wasm32)"
cargo clippy -p goalpost --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
step "clippy (wasm32, the two browser builds: no std; the tracker, the companion)"
cargo clippy -p goalpost --target wasm32-unknown-unknown --no-default-features --features tracker --locked -- -D warnings
cargo clippy -p goalpost --target wasm32-unknown-unknown --no-default-features --features explain --locked -- -D warnings
step "cargo test (native: core, collector)"
cargo test --workspace --locked
step "wasm-bindgen-test (headless Chromium)"
CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}" cargo test -p goalpost --target wasm32-unknown-unknown --locked
step "build (wasm-bindgen, wasm-opt, esbuild)"
node scripts/build.mjs
step "size budget"
node scripts/size.mjs
step "end-to-end (playwright-core, Chromium, the real collector)"
cargo build -p goalpost-collector --locked
node --test --test-concurrency=1 tests/e2e/
step "the engines where browsers differ: Chromium, Firefox, WebKit (npm run test:browsers)"
timeout 900 node --test --test-concurrency=1 tests/browsers/
step "the collector on PostgreSQL (a throwaway cluster): storage, dedupe, reports, and reports vs raw events end to end"
scripts/with-postgres.sh bash -c '
  GOALPOST_TEST_STORE=postgres cargo test -p goalpost-collector --locked --test ingest --test reports --test production
  GOALPOST_E2E_STORE=postgres node --test --test-concurrency=1 tests/e2e/reports.test.mjs tests/e2e/dashboard.test.mjs'
