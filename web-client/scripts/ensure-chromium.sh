#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium (the e2e tests drive it with
# playwright-core; no browser is ever downloaded). Installs it with apt when missing and fails
# loudly when it cannot.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "ensure-chromium: $CHROMIUM is missing; installing Debian's chromium with apt-get" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "ensure-chromium: ERROR: not root and no passwordless sudo; install it by hand: apt-get install -y chromium" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium; }; then
  echo "ensure-chromium: ERROR: apt-get could not install chromium; the browser tests cannot run" >&2
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: ERROR: chromium installed but $CHROMIUM does not exist" >&2
  exit 1
fi
"$CHROMIUM" --version >&2 || true
