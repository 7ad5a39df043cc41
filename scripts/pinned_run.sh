#!/usr/bin/env bash
# One end-to-end load run as players feel it: a release `plaza serve` pinned to core 0 and
# `plaza bots` pinned to core 1 (taskset), COUNT bots walking in one space on MAP (default
# arena: a dense crowd) for SECONDS of measured phase. Writes OUT/report.json (the bots'
# report: server CPU per client-tick from /metrics, bytes, latency, the bots' own CPU and
# timer lag), OUT/metrics.txt (the server's /metrics at the end), OUT/proc.log (server
# threads and RSS once a second) and the logs; prints a summary.
#
# Usage: scripts/pinned_run.sh BIN COUNT SECONDS OUT [MAP [extra `plaza bots` flags…]]
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,9p "$0" >&2; exit 2; }
bin=$1 count=$2 seconds=$3
map=${5:-arena}
cd "$(dirname "$0")/.."
. scripts/lib/pinned_server.sh
start_pinned_server "$bin" "$4"
shift $(( $# >= 5 ? 5 : 4 ))
space=$(curl -sf -X POST -H "authorization: Bearer $(guest_token)" -H 'content-type: application/json' \
  -d "{\"name\":\"load\",\"map\":\"$map\",\"public\":true,\"max_players\":$count}" \
  "$base/api/spaces" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
taskset -c 1 "$bin" bots --url "$base" --space "$space" --count "$count" --duration "$seconds" \
  --json "$out/report.json" --quiet "$@" >"$out/bots.txt" 2>&1
curl -sf "$base/metrics" >"$out/metrics.txt"
python3 scripts/load_summary.py "$out"
