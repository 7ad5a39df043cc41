#!/usr/bin/env python3
"""Writes the figures of a `make bench` run into benches/README.md.

Replaces what lies between `<!-- bench:begin -->` and `<!-- bench:end -->` with tables made
from criterion's results (target/criterion/**/new/{benchmark,estimates}.json, only those
written since --since), benches/tick-samples.json and a `plaza bots --json` report.
Python 3 standard library only.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
SCALING = "all_clients"


def duration(ns):
    """A duration in nanoseconds, in the unit that suits it."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def criterion_rows(root, since):
    """(id, median, low, high, elements) of every bench measured after `since`, by id."""
    rows = []
    for directory, _, files in os.walk(root):
        if not directory.endswith(os.sep + "new") or "estimates.json" not in files:
            continue
        estimates = os.path.join(directory, "estimates.json")
        if os.path.getmtime(estimates) < since:
            continue
        with open(os.path.join(directory, "benchmark.json")) as f:
            bench = json.load(f)
        with open(estimates) as f:
            median = json.load(f)["median"]
        interval = median["confidence_interval"]
        elements = (bench.get("throughput") or {}).get("Elements")
        rows.append(
            (
                bench["full_id"],
                median["point_estimate"],
                interval["lower_bound"],
                interval["upper_bound"],
                elements,
            )
        )
    return sorted(rows, key=lambda row: natural_key(row[0]))


def natural_key(text):
    """Sorts `a/300` before `a/1000`."""
    return [int(part) if part.isdigit() else part for part in text.split("/")]


def criterion_table(rows):
    out = [
        "| bench | median [95 % CI] | per element |",
        "|---|---|---|",
    ]
    for full_id, median, low, high, elements in rows:
        per = f"{duration(median / elements)}" if elements else ""
        out.append(
            f"| `{full_id}` | {duration(median)} [{duration(low)}, {duration(high)}] | {per} |"
        )
    return out


def samples_table(samples):
    out = [
        "| series | clients | entities | visible (mean) | tick CPU (median) | tick wall (median) "
        "| tick CPU, turns' medians (lowest–highest) | µs per client-tick |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in samples["samples"]:
        per_client = s["tick_ms"] * 1000 / max(s["clients"], 1)
        turns = (
            f"{s['turn_low_ms']:.3f}–{s['turn_high_ms']:.3f} ms"
            if s.get("turn_high_ms")
            else "n/a"
        )
        out.append(
            f"| {s.get('series', '')} | {s['clients']:,} | {s['entities']:,} | "
            f"{s['mean_visible']:.1f} | {s['tick_ms']:.3f} ms | {s.get('wall_ms', 0):.3f} ms "
            f"| {turns} | {per_client:.2f} |"
        )
    return out


def flatness(samples):
    """Max / min per-client cost of the scaling series, with its client range."""
    series = [s for s in samples["samples"] if s.get("series") == SCALING]
    if len(series) < 2:
        return None
    costs = [s["tick_ms"] * 1000 / max(s["clients"], 1) for s in series]
    clients = [s["clients"] for s in series]
    return min(clients), max(clients), max(costs) / min(costs)


def bots_table(bots):
    server = bots.get("server") or {}
    latency = bots["latency_ms"]
    rates = bots["per_client_per_second"]
    errors = ", ".join(f"{k}: {v}" for k, v in bots["errors"].items()) or "none"

    def opt(value, fmt):
        return fmt.format(value) if value is not None else "n/a"

    return [
        "| bots | connected | protocol errors | other errors | latency p50 / p99 / max "
        "| in / out per client/s | server CPU per client-tick | server tick (mean) |",
        "|---|---|---|---|---|---|---|---|",
        f"| {bots['bots']} | {bots['connected']} | {bots['protocol_errors']} | {errors} "
        f"| {latency['p50']:.0f} / {latency['p99']:.0f} / {latency['max']:.0f} ms "
        f"| {rates['bytes_in']:.0f} B / {rates['bytes_out']:.0f} B "
        f"| {opt(server.get('cpu_us_per_client_tick'), '{:.1f} µs')} "
        f"| {opt(server.get('tick_ms_mean'), '{:.2f} ms')} |",
    ]


def git(*args):
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
        return out.stdout.rstrip("\n")
    except (OSError, subprocess.CalledProcessError):
        return None


def commit():
    """The commit measured, and whether the measured crates had uncommitted changes."""
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "sim",
        "schema",
        "net",
        "benches",
        # The outputs of the previous run.
        ":(exclude)benches/README.md",
        ":(exclude)benches/tick-samples.json",
    )
    if dirty:
        changed = sorted({line[3:].split("/")[0] for line in dirty.splitlines()})
        return f"`{head}` with uncommitted changes in {', '.join(changed)}"
    return f"`{head}`"


def section(args):
    with open(args.samples) as f:
        samples = json.load(f)
    with open(args.bots) as f:
        bots = json.load(f)
    since = os.path.getmtime(args.since)
    rows = criterion_rows(args.criterion, since)
    if not rows:
        sys.exit(f"bench_readme: no criterion results newer than {args.since}")
    with open("/proc/loadavg") as f:
        load_end = f.read().split()[0]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"_Generated by `make bench` on {now} at commit {commit()}; "
        f"load average {args.load} at the start, {load_end} at the end. "
        f"Tick samples: {samples['machine']}._",
        "",
        "**Criterion** (short run: `--warm-up-time 1 --measurement-time 3`; "
        "per element = per avatar, observer or client where the bench sets a throughput):",
        "",
        *criterion_table(rows),
        "",
        "**Server tick** (`benches/tick-samples.json`: every configuration warmed up "
        "20 ticks, then all measured in turns over several rounds, so that the machine's "
        "fast and slow phases fall on all of them alike; median over the turns' ticks of "
        "the ticking thread's CPU time and of wall-clock time; µs per client-tick from "
        "the CPU time; plotted in `docs/scaling.svg`):",
        "",
        *samples_table(samples),
    ]
    flat = flatness(samples)
    if flat:
        low, high, ratio = flat
        verdict = "within" if ratio <= 2.0 else "**not** within"
        lines += [
            "",
            f"Per-client cost from {low:,} to {high:,} clients varies by {ratio:.2f}× "
            f"in this run ({verdict} the 2× target; one run on a shared machine: "
            "see Server tick below for the spread between runs and machines).",
        ]
    lines += [
        "",
        f"**Bot run** (`plaza bots --count {bots['bots']} --duration {bots['duration_s']:.0f}` "
        "against a release `plaza serve` on the same machine):",
        "",
        *bots_table(bots),
    ]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion", required=True, help="criterion's output folder")
    parser.add_argument("--since", required=True, help="a file touched before the run")
    parser.add_argument("--samples", required=True, help="tick-samples.json")
    parser.add_argument("--bots", required=True, help="plaza bots --json report")
    parser.add_argument("--load", required=True, help="load average at the start")
    parser.add_argument("--readme", required=True, help="the README to update")
    args = parser.parse_args()
    with open(args.readme) as f:
        text = f.read()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        sys.exit(f"bench_readme: {args.readme} needs one {BEGIN} … {END} pair")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    body = "\n".join(section(args))
    with open(args.readme, "w") as f:
        f.write(f"{head}{BEGIN}\n{body}\n{END}{tail}")
    print(f"updated {args.readme}")


if __name__ == "__main__":
    main()
