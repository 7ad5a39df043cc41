#!/usr/bin/env bash
# Many small spaces on one node: WAVES waves of `plaza bots --count COUNT --spaces SPACES`
# (groups of COUNT/SPACES bots, each wave in fresh spaces: WAVES × SPACES spaces visited),
# server pinned to core 0 and bots to core 1; then everyone is gone and the server's
# threads and RSS are watched for WATCH seconds while the empty spaces unload. Writes
# OUT/wave-N/ (each wave's report) and OUT/proc.log; prints each wave and the
# threads/RSS at the start, at the peak and at the end.
#
# Usage: scripts/many_spaces_run.sh BIN OUT [COUNT=1000 SPACES=200 WAVES=10 SECONDS=10 WATCH=150]
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,9p "$0" >&2; exit 2; }
bin=$1 count=${3:-1000} spaces=${4:-200} waves=${5:-10} seconds=${6:-10} watch=${7:-150}
cd "$(dirname "$0")/.."
. scripts/lib/pinned_server.sh
start_pinned_server "$bin" "$2"
sleep 2
start=$(proc_figures)
for wave in $(seq "$waves"); do
  mkdir -p "$out/wave-$wave"
  taskset -c 1 "$bin" bots --url "$base" --count "$count" --spaces "$spaces" --map office \
    --duration "$seconds" --ramp 5 --json "$out/wave-$wave/report.json" --quiet \
    >"$out/wave-$wave/bots.txt" 2>&1
  echo "== wave $wave/$waves (threads rss_kib now: $(proc_figures))"
  python3 scripts/load_summary.py "$out/wave-$wave"
done
end_of_load=$(proc_figures)
sleep "$watch"
after=$(proc_figures)
python3 - "$out/proc.log" "$start" "$end_of_load" "$after" "$watch" <<'PY'
import sys
log, start, end, after, watch = sys.argv[1:6]
rows = [l.split() for l in open(log) if len(l.split()) == 3]
peak_t = max(int(r[1]) for r in rows)
peak_r = max(int(r[2]) for r in rows)
fmt = lambda s: "{} threads, {:.0f} MiB".format(s.split()[0], int(s.split()[1]) / 1024)
print(f"server at the start: {fmt(start)}; peak {peak_t} threads, {peak_r / 1024:.0f} MiB")
print(f"when the last wave ended: {fmt(end)}; {watch} s later: {fmt(after)}")
PY
