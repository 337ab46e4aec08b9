#!/usr/bin/env bash
# Scores `octo groupmd extract` on a group.md conversation set:
#   scripts/eval-groupmd.sh [DATA_DIR] [PRED_DIR] [-v]
# DATA_DIR defaults to ../shared/data/groupmd-dev, PRED_DIR to a temp directory.
# The crate's own held-out set: scripts/eval-groupmd.sh crates/octo-groupmd/tests/data/heldout
# GROUPMD_EXTRACT_ARGS is added to every extract (e.g. "--llm-url URL --model M").
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data/groupmd-dev}"
pred="${2:-$(mktemp -d)}"
shift $(( $# > 2 ? 2 : $# )) || true
cargo build -q -p octo
bin="${CARGO_TARGET_DIR:-$here/target}/debug/octo"
mkdir -p "$pred"
for f in "$data"/conv-*.json; do
  # shellcheck disable=SC2086 # the extra arguments are meant to split
  "$bin" groupmd extract --input "$f" ${GROUPMD_EXTRACT_ARGS:-} >"$pred/$(basename "$f")"
done
scorer="${GROUPMD_SCORER:-$here/../shared/eval/groupmd_score.py}"
python3 "$scorer" "$data" "$pred" "$@"
