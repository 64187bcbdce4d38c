#!/usr/bin/env bash
# Peak memory of one node under concurrent uploads: starts a node (RF=1), sends COUNT uploads of MB MiB at once
# with curl, checks every one succeeded, and prints the node's peak RSS (VmHWM) and the wall time.
# Usage: scripts/concurrent-uploads.sh [BINARY] [COUNT] [MB] [PORT]
set -euo pipefail
bin=$(realpath "${1:-dist/kepler-node}"); count=${2:-20}; mb=${3:-20}; port=${4:-18300}
dir=$(mktemp -d)
trap 'kill -9 $(cat "$dir/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$dir"' EXIT
head -c $((mb * 1024 * 1024)) /dev/urandom > "$dir/file"
(cd "$dir" && NODE_ID=mem HTTP_PORT=$port GOSSIP_PORT=$((port+1)) TRANSFER_PORT=$((port+2)) DATA_DIR="$dir/data" \
  LOG_LEVEL=warning REPLICATION_FACTOR=1 exec "$bin" serve > "$dir/log" 2>&1 & echo $! > "$dir/pid")
for _ in $(seq 600); do curl -sf "localhost:$port/ready" > /dev/null && break; sleep 0.1; done
pid=$(cat "$dir/pid")
echo "idle: $(grep VmHWM "/proc/$pid/status")"
t0=$(date +%s.%N)
for i in $(seq "$count"); do
  curl -s -o /dev/null -w "%{http_code}\n" -X PUT --data-binary @"$dir/file" "localhost:$port/api/files/c/$i" \
    > "$dir/status.$i" &
done
wait
ok=$(cat "$dir"/status.* | grep -c '^200$' || true)
echo "$count uploads of $mb MiB at once: $ok answered 200, $(echo "$(date +%s.%N) - $t0" | bc) s," \
  "peak $(grep VmHWM "/proc/$pid/status")"
