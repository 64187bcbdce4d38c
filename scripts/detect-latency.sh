#!/usr/bin/env bash
# Failure-detection latency of real nodes: prints numbers, asserts nothing.
#
#   scripts/detect-latency.sh [TRIALS]     # default 20
#
# Each trial starts three kepler-node processes with SWIM (joined through the first one's SEEDS, the node's
# default SWIM_PROBE_INTERVAL_MS unless DETECT_PROBE_MS is set), waits until each sees the others alive, kills
# one with SIGKILL and measures the wall time until BOTH survivors list it dead in /api/members (polled every
# 20 ms). The simulator's counterpart is the detection latency in a scenario report (docs/BENCHMARKS.md).
#
# Needs dist/kepler-node (dotnet publish node/KeplerSim.Node -c Release -o dist), curl and python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${KEPLER_NODE:-$root/dist/kepler-node}"
trials="${1:-20}"
probe_ms="${DETECT_PROBE_MS:-}"
dir="$(mktemp -d /tmp/kepler-detect.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

start_node() { # n
  local extra=()
  [ -n "$probe_ms" ] && extra+=(SWIM_PROBE_INTERVAL_MS="$probe_ms")
  env NODE_ID="d$1" HTTP_PORT="1610$1" GOSSIP_PORT="1620$1" TRANSFER_PORT="1630$1" SEEDS="127.0.0.1:16201" \
    DATA_DIR="$dir/d$1" LOG_LEVEL=warning LOG_FORMAT=json "${extra[@]}" "$bin" serve > "$dir/d$1.log" 2>&1 &
  pids+=($!)
  disown $! 2> /dev/null || true
}

state_of() { # observer member -> state or "none"
  curl -sf "http://127.0.0.1:1610$1/api/members" 2> /dev/null | python3 -c '
import json, sys
members = {m["id"]: m["state"] for m in json.load(sys.stdin)}
print(members.get(sys.argv[1], "none"))' "$2" 2> /dev/null || echo none
}

now_ms() { date +%s%3N; }
results=()
firsts=()
for trial in $(seq 1 "$trials"); do
  rm -rf "$dir"/d*; pids=()
  for n in 1 2 3; do start_node "$n"; done
  deadline=$(( $(now_ms) + 60000 ))
  until [ "$(state_of 1 d3)" = alive ] && [ "$(state_of 2 d3)" = alive ] && [ "$(state_of 3 d1)" = alive ] \
        && [ "$(state_of 1 d2)" = alive ] && [ "$(state_of 2 d1)" = alive ] && [ "$(state_of 3 d2)" = alive ]; do
    [ "$(now_ms)" -gt "$deadline" ] && { echo "trial $trial: the cluster did not form in 60 s" >&2; exit 1; }
    sleep 0.1
  done
  sleep 2 # let the probe order settle past the join
  victim=$(( (trial % 3) + 1 )); survivors=(); for n in 1 2 3; do [ "$n" != "$victim" ] && survivors+=("$n"); done
  kill -9 "${pids[$((victim - 1))]}"; killed=$(now_ms)
  deadline=$(( killed + 120000 ))
  first=""
  until [ "$(state_of "${survivors[0]}" "d$victim")" = dead ] && [ "$(state_of "${survivors[1]}" "d$victim")" = dead ]; do
    [ "$(now_ms)" -gt "$deadline" ] && { echo "trial $trial: d$victim not declared dead in 120 s" >&2; exit 1; }
    if [ -z "$first" ] && { [ "$(state_of "${survivors[0]}" "d$victim")" = dead ] \
        || [ "$(state_of "${survivors[1]}" "d$victim")" = dead ]; }; then first=$(( $(now_ms) - killed )); fi
    sleep 0.02
  done
  latency=$(( $(now_ms) - killed ))
  first="${first:-$latency}"
  results+=("$latency"); firsts+=("$first")
  echo "trial $trial: d$victim declared dead by a first survivor after $first ms, by both after $latency ms"
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  wait 2> /dev/null || true
done
summary() { # label values...
  local label="$1"; shift
  printf '%s\n' "$@" | sort -n | python3 -c '
import sys
values = [int(line) for line in sys.stdin]
def pct(p):
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]
print(f"real nodes, {len(values)} trials, {sys.argv[1]}: median {pct(50)} ms, p99 {pct(99)} ms, min {values[0]} ms, max {values[-1]} ms")' "$label"
}
summary "first survivor" "${firsts[@]}"
summary "both survivors" "${results[@]}"
