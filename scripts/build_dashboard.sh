#!/usr/bin/env bash
# Builds the dashboard (dashboard/, npm + Vite) into the server package's static files, only when
# its sources changed: the stamp lives in the build output, so a removed build is rebuilt too.
set -euo pipefail
cd "$(dirname "$0")/.."
out=server/src/beamtrack/server/static/dashboard
hash=$(find dashboard -path dashboard/node_modules -prune -o -type f -print | LC_ALL=C sort |
       xargs sha256sum examples/fodo.json examples/scan_fodo.yaml | sha256sum | cut -d' ' -f1)
# node_modules holds the build tools and axe-core, which the browser tests inject
if [ "$(cat "$out/.build-stamp" 2>/dev/null)" = "$hash" ] && [ -d dashboard/node_modules ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: npm is missing: the dashboard (/) and the offline /docs are not built (install Node.js >= 20.19 and npm)" >&2
  exit 0
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "setup: Node.js $(node -v) is too old for the dashboard's build (Vite needs >= 20.19)" >&2
  exit 1
fi
(cd dashboard && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
echo "$hash" > "$out/.build-stamp"
echo "setup: dashboard built into $out"
