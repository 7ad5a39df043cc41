#!/usr/bin/env bash
# `make test-web`: the web client's unit tests (vitest) and the browser end-to-end test
# (playwright-core + Debian's Chromium against a real `plaza serve`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
client="$(cd "$here/.." && pwd)"
root="$(cd "$client/.." && pwd)"
cd "$client"

npm ci --no-audit --no-fund --loglevel=error
npx tsc --noEmit
npx vitest run
npx vite build --logLevel warn

bash "$here/ensure-chromium.sh"

# The server binary the e2e starts (PLAZA_BIN overrides).
if [ -z "${PLAZA_BIN:-}" ]; then
  (cd "$root" && ${CARGO:-cargo} build -p net --bin plaza)
  export PLAZA_BIN="$root/target/debug/plaza"
fi
node e2e/run.mjs
