#!/usr/bin/env bash
# Runs Octo with its embedded default (SQLite in ./octo-data) on
# http://127.0.0.1:8080. Extra arguments go to `octo serve`
# (e.g. --listen 0.0.0.0:8080 --data /var/lib/octo). Builds the web app first
# when its sources changed (needs npm; without it a placeholder page is served).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "Octo needs a Rust toolchain (1.95 or newer): https://rustup.rs" >&2
  exit 1
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
./scripts/build-web.sh
cargo build --release --locked -p octo
exec "$CARGO_TARGET_DIR/release/octo" serve "$@"
