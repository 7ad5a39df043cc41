#!/usr/bin/env python3
"""Prints the summary of a load run's OUT folder (scripts/pinned_run.sh, many_spaces_run.sh):
the bots' report.json and, when present, the server's metrics.txt."""
import json
import os
import re
import sys

out = sys.argv[1]
r = json.load(open(os.path.join(out, "report.json")))
s = r.get("server") or {}
pc = r["per_client_per_second"]
nan = float("nan")
print(f"bots {r['bots']} in {r.get('spaces', 1)} space(s): connected {r['mean_connected']:.0f}, "
      f"failed {r['failed']}, protocol errors {r['protocol_errors']}, errors {r['errors']}")
print(f"server: {s.get('cpu_us_per_client_tick') or nan:.2f} us CPU per client-tick, "
      f"{s.get('cpu_percent', 0):.0f} % of a core, tick {s.get('tick_ms_mean') or nan:.2f} ms, "
      f"{s.get('ticks', 0) / max(s.get('seconds', 1), 1e-9) / r.get('spaces', 1):.1f} ticks/s per space, "
      f"RSS {(s.get('rss_bytes') or 0) / 2**20:.0f} MiB")
print(f"per client per second: in {pc['bytes_in']:.0f} B in {pc['messages_in']:.1f} msgs "
      f"({pc['snapshots']:.1f} snapshots); out {pc['bytes_out']:.0f} B in {pc['messages_out']:.1f} msgs")
metrics = os.path.join(out, "metrics.txt")
visible = []
if os.path.exists(metrics):
    visible = [float(v) for v in re.findall(r'^plaza_region_mean_visible\{[^}]*\} (\S+)', open(metrics).read(), re.M)]
    visible = [v for v in visible if v > 0]
vis = f"{sum(visible) / len(visible):.1f}" if visible else "n/a"
print(f"input->echo latency: p50 {r['latency_ms']['p50']:.1f} ms, p99 {r['latency_ms']['p99']:.1f} ms; "
      f"mean visible {vis}")
b = r["bot_process"]
print(f"bots' own CPU {b['cpu_percent']:.0f} % of a core, timer lag p99 {b['scheduler_lag_p99_ms']:.1f} ms")
