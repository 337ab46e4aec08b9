#!/usr/bin/env bash
# A longer crash-safety round than the test suite's: senders retry with
# client_msg_id while `octo serve` is SIGKILLed and restarted; prints the counts.
# Usage: scripts/crash-test.sh [SENDERS] [MESSAGES_PER_SENDER] [KILLS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export OCTO_CRASH_SENDERS="${1:-8}" OCTO_CRASH_MESSAGES="${2:-500}" OCTO_CRASH_KILLS="${3:-10}"
cargo test --release --locked -p octo --test crash -- --nocapture
