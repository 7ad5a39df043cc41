#!/usr/bin/env bash
# One end-to-end load run as players feel it: a release `plaza serve` pinned to core 0 and
# `plaza bots` pinned to core 1 (taskset), COUNT bots walking in one space on MAP (default
# arena: a dense crowd) for SECONDS of measured phase. Writes OUT/report.json (the bots'
# report: server CPU per client-tick from /metrics, bytes, latency, the bots' own CPU and
# timer lag), OUT/metrics.txt (the server's /metrics at the end), OUT/proc.log (server
# threads and RSS once a second) and the logs.
#
# Usage: scripts/pinned_run.sh BIN COUNT SECONDS OUT [MAP [extra `plaza bots` flags…]]
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,9p "$0" >&2; exit 2; }
bin=$1 count=$2 seconds=$3 out=$4
map=${5:-arena}
shift $(( $# >= 5 ? 5 : 4 ))
cd "$(dirname "$0")/.."
command -v taskset >/dev/null || { echo "pinned_run: taskset (util-linux) is missing" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "pinned_run: needs 2 cores (server and bots on one each)" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
data=$(mktemp -d)
mkdir -p "$out"
taskset -c 0 "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --assets-dir assets \
  --auth-burst 100000 --auth-rate-per-minute 1000000 --max-players-limit 20000 \
  >"$out/server.log" 2>&1 &
server=$!
sampler=
cleanup() {
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -sf -X POST -H 'content-type: application/json' -d '{"name":"runner"}' \
  "$base/api/auth/guest" | json '["token"]')
space=$(curl -sf -X POST -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"name\":\"load\",\"map\":\"$map\",\"public\":true,\"max_players\":$count}" \
  "$base/api/spaces" | json '["id"]')
( while kill -0 "$server" 2>/dev/null; do
    echo "$(date +%s) $(grep -E '^(Threads|VmRSS)' "/proc/$server/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
    sleep 1
  done ) >"$out/proc.log" &
sampler=$!
taskset -c 1 "$bin" bots --url "$base" --space "$space" --count "$count" --duration "$seconds" \
  --json "$out/report.json" --quiet "$@" >"$out/bots.txt" 2>&1
curl -sf "$base/metrics" >"$out/metrics.txt"
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
r = json.load(open(f"{out}/report.json"))
s = r.get("server") or {}
pc = r["per_client_per_second"]
visible = [float(v) for v in re.findall(r'^plaza_region_mean_visible\{[^}]*\} (\S+)', open(f"{out}/metrics.txt").read(), re.M)]
print(f"bots {r['bots']} connected {r['mean_connected']:.0f} failed {r['failed']} protocol_errors {r['protocol_errors']} errors {r['errors']}")
print(f"server CPU/client-tick {s.get('cpu_us_per_client_tick') or float('nan'):.2f} us  cpu {s.get('cpu_percent', 0):.0f}%  tick {s.get('tick_ms_mean') or float('nan'):.2f} ms  ticks/s {s.get('ticks', 0) / max(s.get('seconds', 1), 1e-9):.1f}  rss {(s.get('rss_bytes') or 0) / 2**20:.0f} MiB")
print(f"per client/s: in {pc['bytes_in']:.0f} B {pc['messages_in']:.1f} msgs ({pc['snapshots']:.1f} snapshots); out {pc['bytes_out']:.0f} B {pc['messages_out']:.1f} msgs")
print(f"latency ms p50 {r['latency_ms']['p50']:.1f} p99 {r['latency_ms']['p99']:.1f}  visible {sum(visible) / max(len(visible), 1):.1f}")
b = r["bot_process"]
print(f"bots cpu {b['cpu_percent']:.0f}%  timer lag p99 {b['scheduler_lag_p99_ms']:.1f} ms")
PY
