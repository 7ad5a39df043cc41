#!/usr/bin/env bash
# `make bench`: the criterion suite (sim_tick, interest, encode, server_tick), the server-tick
# samples (benches/tick-samples.json) and the scaling plot (docs/scaling.svg), a short bot run
# against a release `plaza serve` on a free loopback port, then the figures into
# benches/README.md (between <!-- bench:begin --> and <!-- bench:end -->).
#
# Knobs (environment): BENCH_ARGS (criterion options, default a short run), BOTS (200),
# BOT_SECONDS (15), CARGO.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
CARGO="${CARGO:-cargo}"
BENCH_ARGS="${BENCH_ARGS:---warm-up-time 1 --measurement-time 3}"
BOTS="${BOTS:-200}"
BOT_SECONDS="${BOT_SECONDS:-15}"

started=$(date +%s)
load_start=$(cut -d' ' -f1 /proc/loadavg)
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

step() { echo; echo "==> [$1/5] $2 (+$(( $(date +%s) - started )) s)"; }

step 1 "criterion suite: sim_tick, interest, encode, server_tick ($BENCH_ARGS)"
touch "$tmp/criterion-start"
# shellcheck disable=SC2086 # BENCH_ARGS is a list of options
"$CARGO" bench -p benches --bench sim_tick --bench interest --bench encode \
  --bench server_tick -- $BENCH_ARGS

step 2 "server tick samples -> benches/tick-samples.json"
"$CARGO" run --release -q -p benches --bin tick_samples

step 3 "scaling plot -> docs/scaling.svg"
"$CARGO" run --release -q -p benches --bin plot_scaling

step 4 "bot run: $BOTS bots for $BOT_SECONDS s against a release plaza serve"
"$CARGO" build --release -q -p net --bin plaza
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/release/plaza serve --listen "127.0.0.1:$port" --data-dir "$tmp/data" \
  --auth-burst 20000 --auth-rate-per-minute 100000 --max-players-limit 10000 \
  >"$tmp/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "plaza serve exited:" >&2; cat "$tmp/serve.log" >&2; exit 1
  fi
  sleep 0.2
done
target/release/plaza bots --url "http://127.0.0.1:$port" --count "$BOTS" \
  --duration "$BOT_SECONDS" --json target/bench-bots.json
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""

step 5 "figures -> benches/README.md"
python3 scripts/bench_readme.py \
  --criterion target/criterion --since "$tmp/criterion-start" \
  --samples benches/tick-samples.json --bots target/bench-bots.json \
  --load "$load_start" --readme benches/README.md
echo "done in $(( $(date +%s) - started )) s: benches/README.md, benches/tick-samples.json," \
  "docs/scaling.svg (bot report: target/bench-bots.json)"
