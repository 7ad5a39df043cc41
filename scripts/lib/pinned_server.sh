# Sourced by the load scripts: a release `plaza serve` pinned to core 0 on a free loopback
# port with a fresh data dir, limits raised for load, its threads and RSS sampled once a
# second into $out/proc.log; stopped (and its data removed) when the script exits.
#
# start_pinned_server BIN OUT   sets: base (http://127.0.0.1:PORT), server (pid)
# guest_token                   prints a guest's access token
# proc_figures                  prints "threads rss_kib" of the server now

command -v taskset >/dev/null || { echo "taskset (util-linux) is missing" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 cores (server and bots on one each)" >&2; exit 1; }

start_pinned_server() {
  local bin=$1
  out=$2
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base=http://127.0.0.1:$port
  data=$(mktemp -d)
  mkdir -p "$out"
  taskset -c 0 "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --assets-dir assets \
    --auth-burst 100000 --auth-rate-per-minute 1000000 --max-players-limit 20000 \
    >"$out/server.log" 2>&1 &
  server=$!
  trap stop_pinned_server EXIT
  for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
  curl -sf "$base/health" >/dev/null || { echo "the server did not start: $out/server.log" >&2; exit 1; }
  ( while kill -0 "$server" 2>/dev/null; do echo "$(date +%s) $(proc_figures)"; sleep 1; done ) \
    >"$out/proc.log" &
  sampler=$!
}

stop_pinned_server() {
  kill "$sampler" 2>/dev/null || true
  kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$data"
}

guest_token() {
  curl -sf -X POST -H 'content-type: application/json' -d '{"name":"runner"}' \
    "$base/api/auth/guest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

proc_figures() {
  awk '/^Threads:/{t=$2} /^VmRSS:/{r=$2} END{print t, r}' "/proc/$server/status"
}
