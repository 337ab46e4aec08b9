#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, and every test of every crate
# against real servers started on 127.0.0.1:0. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "the tests need a Rust toolchain (1.95 or newer): https://rustup.rs" >&2
  exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest…"
  cargo install --locked cargo-nextest
fi

# Voice (crates/octo-voice): pocketsphinx and its model are loaded at run time
# and flite speaks the test sentences; without them those tests check the
# "engine unavailable" answer instead, so a failed install is not fatal.
if ! { [[ -e /usr/share/pocketsphinx/model/en-us/en-us.lm.bin ]] && command -v flite >/dev/null 2>&1 \
    && ldconfig -p 2>/dev/null | grep libpocketsphinx.so.3 >/dev/null; }; then
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    echo "installing pocketsphinx and flite…"
    { apt-get update -qq && apt-get install -y -qq libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us flite >/dev/null; } \
      || echo "could not install pocketsphinx/flite; the voice tests will check 'engine unavailable'" >&2
  fi
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== web app: npm ci + vite build (embedded into the binary)"
if ! command -v npm >/dev/null 2>&1; then
  echo "the web tests need Node.js 20.19+ with npm" >&2
  exit 1
fi
(cd web && npm ci --no-audit --no-fund && npm run build)
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
echo "== tests"
cargo nextest run --locked --workspace --all-features --no-fail-fast
echo "== web end-to-end (Chromium against a real octo serve)"
cargo build --locked -p octo
(cd web && OCTO_BIN="$CARGO_TARGET_DIR/debug/octo" npm run e2e)
