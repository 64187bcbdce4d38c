#!/usr/bin/env bash
# Idle cost of one node with many chunks: generates COUNT chunk files of SIZE bytes straight into a fresh data
# directory (valid, SHA-256-named; the first start registers them), starts the node, prints how long /ready took on
# the first start and on a restart, how long the content check after /ready took (startup verification runs in the
# background: /api/status recovery.chunksAwaitingVerification), then the node's CPU over 60 idle seconds once it is
# done (user + system from /proc, so other load on the machine does not count) and how many chunks scrub verified.
# Usage: scripts/idle-node.sh [BINARY] [COUNT] [SIZE] [PORT]
set -euo pipefail
bin=$(realpath "${1:-dist/kepler-node}"); count=${2:-100000}; size=${3:-16384}; port=${4:-18100}
dir=$(mktemp -d)
trap 'kill -9 $(cat "$dir/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$dir"' EXIT
python3 "$(dirname "$0")/gen-chunks.py" "$dir/data" "$count" "$size"
start() {
  (cd "$dir" && NODE_ID=idle HTTP_PORT=$port GOSSIP_PORT=$((port+1)) TRANSFER_PORT=$((port+2)) DATA_DIR="$dir/data" \
    LOG_LEVEL=warning REPLICATION_FACTOR=1 exec "$bin" serve > "$dir/log" 2>&1 & echo $! > "$dir/pid")
  local t0; t0=$(date +%s.%N)
  for _ in $(seq 12000); do curl -sf "localhost:$port/ready" > /dev/null && break; sleep 0.05; done
  # The node's own CPU time up to /ready (user + system, all threads) does not depend on the machine's load.
  local cpu; cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)/hz}' "/proc/$(cat "$dir/pid")/stat")
  echo "$1: /ready after $(echo "$(date +%s.%N) - $t0" | bc) s (node CPU until then: $cpu s)"
}
start "first start ($count chunks of $size bytes to register)"
kill -TERM "$(cat "$dir/pid")"; sleep 3
start restart
t0=$(date +%s.%N)
for _ in $(seq 6000); do
  left=$(curl -sf "localhost:$port/api/status" | python3 -c \
    'import json,sys; r=json.load(sys.stdin).get("recovery") or {}; print(r.get("chunksAwaitingVerification", 0))')
  [ "$left" = 0 ] && break; sleep 0.2
done
echo "background verification done $(echo "$(date +%s.%N) - $t0" | bc) s after /ready"
sleep 10
pid=$(cat "$dir/pid"); hz=$(getconf CLK_TCK)
a=$(awk '{print $14+$15}' "/proc/$pid/stat"); sleep 60; b=$(awk '{print $14+$15}' "/proc/$pid/stat")
echo "idle CPU over 60 s: $(echo "scale=2; ($b-$a)*100/$hz/60" | bc) % of a core"
curl -s "localhost:$port/metrics" | grep -E "^kepler_scrub_verified_total|^kepler_chunks_stored"
