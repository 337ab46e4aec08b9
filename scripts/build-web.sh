#!/usr/bin/env bash
# Builds the web app (web/dist, embedded into the binary by octo-server's
# build.rs) when its sources are newer than the last build. Needs Node 20.19+
# and npm; without them the binary serves a placeholder page instead.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: building without the web app (a placeholder page is served)" >&2
  exit 0
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
if [ ! -f dist/index.html ] || [ -n "$(find src public index.html package-lock.json vite.config.ts -newer dist/index.html -print -quit)" ]; then
  npm run build
fi
