#!/usr/bin/env bash
# Installs what goalpost needs, idempotently; quick when everything is there.
#   scripts/setup.sh start   wasm target, pinned wasm-bindgen CLI, npm packages
#   scripts/setup.sh test    the same, plus Chromium and ChromeDriver from the system packages
set -euo pipefail
mode="${1:-start}"
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }

command -v cargo >/dev/null || { echo "setup: Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
command -v node >/dev/null || { echo "setup: Node.js 20+ is required" >&2; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# The browser build rebuilds core and alloc for size (scripts/build.mjs): it needs their sources.
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  say "adding the rust-src component"
  rustup component add rust-src
fi

# The wasm-bindgen CLI must be exactly the version of the crate pinned in Cargo.toml.
# (`wasm-bindgen = "=X"` or `wasm-bindgen = { version = "=X", ... }`)
want="$(sed -n 's/^wasm-bindgen = .*"=\([0-9.]*\)".*/\1/p' Cargo.toml)"
[ -n "$want" ] || { echo "setup: no exact wasm-bindgen pin (=X.Y.Z) found in Cargo.toml" >&2; exit 1; }
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none}); this takes a few minutes once"
  # --locked first; the registry mirror may lack a version the CLI's lockfile names, in which
  # case cargo resolves current compatible versions instead.
  cargo install wasm-bindgen-cli --version "$want" --locked || cargo install wasm-bindgen-cli --version "$want"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
fi

if [ "$mode" = "test" ]; then
  # Chromium and ChromeDriver for the browser tests; PostgreSQL's server for the tests that run
  # the collector on it (scripts/with-postgres.sh starts a throwaway cluster; nothing is left
  # running, and the package's own cluster is not used)
  packages=()
  command -v chromium >/dev/null && command -v chromedriver >/dev/null || packages+=(chromium chromium-driver)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
  # the other engines (npm run test:browsers): Firefox ESR (WebDriver BiDi built in), and WebKitGTK's
  # WebKitWebDriver with its MiniBrowser, which runs under Xvfb
  command -v firefox-esr >/dev/null || packages+=(firefox-esr)
  command -v WebKitWebDriver >/dev/null || packages+=(webkit2gtk-driver)
  command -v Xvfb >/dev/null || packages+=(xvfb)
  command -v psql >/dev/null || packages+=(postgresql-client)
  if [ "${#packages[@]}" -gt 0 ]; then
    say "installing ${packages[*]} (system packages)"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
  fi
fi
say "ready ($mode)"
