#!/usr/bin/env bash
# Starts, inspects and stops a local 3-node KeplerFS cluster in the background.
#
#   scripts/cluster.sh start     # nodes a, b, c on HTTP 3001-3003, gossip 4001-4003, transfer 5001-5003
#   scripts/cluster.sh status    # PIDs, data dirs, /ready of each node
#   scripts/cluster.sh stop      # SIGTERM each node (SIGKILL after 10 s)
#
# The binary is $KEPLER_NODE, else dist/kepler-node (build it with
# `dotnet publish node/KeplerSim.Node -c Release -o dist`). Data and logs go to a fresh temp directory
# ($KEPLER_CLUSTER_DIR to choose it); its path is remembered in .kepler-cluster.current at the repository root
# ($KEPLER_CLUSTER_STATE to choose it), one per checkout.
# Membership is SWIM: b and c join through a's gossip port (SEEDS), as in the README's three terminals.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${KEPLER_NODE:-$root/dist/kepler-node}"
state="${KEPLER_CLUSTER_STATE:-$root/.kepler-cluster.current}"  # one per checkout, not per machine
ids=(a b c)

start() {
  if [[ ! -x "$bin" ]]; then
    echo "error: $bin not found; run: dotnet publish node/KeplerSim.Node -c Release -o dist" >&2
    exit 1
  fi
  if [[ -f "$state" ]] && [[ -d "$(cat "$state")" ]] && any_running "$(cat "$state")"; then
    echo "error: a cluster is already running in $(cat "$state"); run '$0 stop' first" >&2
    exit 1
  fi
  local dir="${KEPLER_CLUSTER_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kepler-cluster.XXXXXX")}"
  mkdir -p "$dir"
  echo "$dir" > "$state"
  for i in 0 1 2; do
    local id="${ids[$i]}" n=$((i + 1))
    NODE_ID="$id" HTTP_PORT="300$n" GOSSIP_PORT="400$n" TRANSFER_PORT="500$n" \
      SEEDS="$([[ $n == 1 ]] || echo 127.0.0.1:4001)" DATA_DIR="$dir/$id" LOG_FORMAT=json \
      nohup "$bin" serve > "$dir/$id.log" 2>&1 &
    echo $! > "$dir/$id.pid"
  done
  for i in 0 1 2; do
    local n=$((i + 1)) ok=""
    for _ in $(seq 1 1200); do  # up to 120 s: /ready waits for startup recovery
      if curl -sf "http://127.0.0.1:300$n/ready" > /dev/null 2>&1; then ok=1; break; fi
      sleep 0.1
    done
    [[ -n "$ok" ]] || { echo "error: node ${ids[$i]} not ready; see $dir/${ids[$i]}.log" >&2; exit 1; }
  done
  status
}

any_running() {
  local dir="$1"
  for id in "${ids[@]}"; do
    [[ -f "$dir/$id.pid" ]] && kill -0 "$(cat "$dir/$id.pid")" 2> /dev/null && return 0
  done
  return 1
}

status() {
  [[ -f "$state" ]] || { echo "no cluster started"; exit 0; }
  local dir; dir="$(cat "$state")"
  echo "cluster dir: $dir"
  for i in 0 1 2; do
    local id="${ids[$i]}" n=$((i + 1)) pid="-" state_text="stopped"
    [[ -f "$dir/$id.pid" ]] && pid="$(cat "$dir/$id.pid")"
    if [[ "$pid" != "-" ]] && kill -0 "$pid" 2> /dev/null; then
      state_text="running, $(curl -s "http://127.0.0.1:300$n/ready" || echo 'no answer')"
    fi
    printf '%s  pid %-7s http://127.0.0.1:300%s  data %s  log %s  %s\n' \
      "$id" "$pid" "$n" "$dir/$id" "$dir/$id.log" "$state_text"
  done
}

stop() {
  [[ -f "$state" ]] || { echo "no cluster started"; exit 0; }
  local dir; dir="$(cat "$state")"
  for id in "${ids[@]}"; do
    [[ -f "$dir/$id.pid" ]] || continue
    local pid; pid="$(cat "$dir/$id.pid")"
    if kill -0 "$pid" 2> /dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2> /dev/null && kill -KILL "$pid"
      echo "stopped $id (pid $pid)"
    fi
    rm -f "$dir/$id.pid"
  done
  echo "data and logs kept in $dir"
  rm -f "$state"
}

case "${1:-}" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
