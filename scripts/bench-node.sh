#!/usr/bin/env bash
# Real-node throughput and memory benchmark: prints numbers, asserts nothing.
#
#   scripts/bench-node.sh [SIZE_MIB]     # default 1024; RSS run uses 4x SIZE_MIB
#
# BENCH_WARMUP=0 skips the unmeasured 128 MiB warm-up of each fresh node (see warm_up below).
# BENCH_SECTIONS picks the sections to run (default "rf1 rf3 rss"): e.g. BENCH_SECTIONS=rf3 for the 3-node
# RF=3 uploads alone. BENCH_LOG_LEVEL sets the nodes' LOG_LEVEL (default warning; "debug" logs every
# replication retry with its reason). BENCH_KEEP_LOGS=1 copies the node logs to /tmp/kepler-bench-logs.
# BENCH_CLUSTER_KEY=1 runs every node with one fresh CLUSTER_KEY (sealed gossip and transfers; default: no key),
# to compare the two: the 3-node uploads stream every chunk to two peers through sealed connections.
#
# BENCH_AT_REST=1 encrypts chunk files at rest under a fresh random ENCRYPTION_KEY (an ENCRYPTION_KEY already in
# the environment is used as it is); compare a run with and without it for the cost of encryption at rest.
#
# Needs dist/kepler-node (dotnet publish node/KeplerSim.Node -c Release -o dist) and curl.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${KEPLER_NODE:-$root/dist/kepler-node}"
size_mib="${1:-1024}"
sections=" ${BENCH_SECTIONS:-rf1 rf3 rss} "
log_level="${BENCH_LOG_LEVEL:-warning}"
dir="$(mktemp -d "${BENCH_DIR:-/tmp}/kepler-bench.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  if [ "${BENCH_KEEP_LOGS:-0}" = 1 ]; then
    mkdir -p /tmp/kepler-bench-logs && cp "$dir"/*.log /tmp/kepler-bench-logs/
  fi
  rm -rf "$dir"
}
want() { [[ "$sections" == *" $1 "* ]]; }
trap cleanup EXIT
cluster_key=""
if [ "${BENCH_CLUSTER_KEY:-0}" = 1 ]; then cluster_key="$("$bin" keygen)"; fi

mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / t / 1e6 }'; }

start_node() { # id n peers rf
  NODE_ID="$1" HTTP_PORT="1300$2" GOSSIP_PORT="1400$2" TRANSFER_PORT="1500$2" PEERS="$3" \
    CLUSTER_KEY="$cluster_key" REPLICATION_FACTOR="$4" DATA_DIR="$dir/$1" LOG_LEVEL="$log_level" LOG_FORMAT=json \
    "$bin" serve > "$dir/$1.log" 2>&1 &
  pids+=($!)
  disown $! 2> /dev/null || true
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:1300$2/ready" > /dev/null && return; sleep 0.05; done
  echo "node $1 did not start" >&2; exit 1
}

cpu_secs() { # pid -> user+system CPU seconds so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

stop_nodes() { for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done; pids=(); }

upload() { # url file -> seconds; a failed upload prints its status and body and returns 1
  local out code
  out="$(curl -s -o "$dir/response" -w '%{http_code} %{time_total}' -T "$2" "$1")"
  code="${out%% *}"
  if [ "$code" != 200 ]; then
    echo "upload to $1 failed: HTTP $code after ${out#* } s: $(head -c 300 "$dir/response")" >&2
    return 1
  fi
  echo "${out#* }"
}

# A freshly started node spends its first seconds JIT-compiling its hot paths (~20 % of its CPU in a profile of
# a first upload); a deployed node is long-running. Each fresh node or cluster therefore first takes a 128 MiB
# upload and download that are not measured. (Without it, whichever durability ran first paid the three nodes'
# warm-up: quorum first 68-79 MB/s, quorum second 107 MB/s.) BENCH_WARMUP=0 measures cold nodes.
transfer_connections() { # opened|reused -> node 1's counter (kepler_transfer_connections_*_total) so far
  curl -sf http://127.0.0.1:13001/metrics | awk -v m="kepler_transfer_connections_$1_total" '$1 == m {print int($2)}'
}

warm_up() { # base url
  if [ "${BENCH_WARMUP:-1}" = 1 ]; then
    head -c $((128 * 1024 * 1024)) /dev/urandom > "$dir/warm.bin"
    curl -sf -o /dev/null -T "$dir/warm.bin" "$1/api/files/warm-up.bin?durability=all"
    curl -sf -o /dev/null "$1/api/files/warm-up.bin"
    rm -f "$dir/warm.bin"
  fi
}

if [ "${BENCH_AT_REST:-0}" = 1 ] && [ -z "${ENCRYPTION_KEY:-}" ]; then
  ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64)"
  export ENCRYPTION_KEY
fi

bytes=$((size_mib * 1024 * 1024))
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(uptime | sed 's/.*load average: //'), chunks at rest:" \
  "$([ -n "${ENCRYPTION_KEY:-}" ] && echo "encrypted (ENCRYPTION_KEY)" || echo plaintext), cluster key:" \
  "$([ -n "$cluster_key" ] && echo on || echo off)"
# The disk's fsync'd sequential write rate, measured right before each upload it is compared with: this VM's disk
# swings between ~270 and ~950 MB/s within minutes (it bursts after idle periods), so one dd at the start says
# little about the disk an upload minutes later runs on.
measure_disk() {
  local out secs
  out="$(dd if=/dev/zero of="$dir/dd.bin" bs=4M count=$((size_mib / 4)) conv=fsync 2>&1 | tail -1)"
  secs="$(echo "$out" | sed -E 's/.* copied, ([0-9.]+) s.*/\1/')"
  dd_rate="$(mbps "$bytes" "$secs")"
  rm -f "$dir/dd.bin"
  echo "disk: dd if=/dev/zero bs=4M count=$((size_mib / 4)) conv=fsync: $dd_rate MB/s"
}

head -c "$bytes" /dev/urandom > "$dir/input.bin"
cat "$dir/input.bin" > /dev/null

if want rf1; then
echo "== single node, RF=1, ${size_mib} MiB"
start_node s1 1 "" 1
warm_up http://127.0.0.1:13001
measure_disk
cpu0="$(cpu_secs "${pids[0]}")"
t="$(upload "http://127.0.0.1:13001/api/files/bench.bin" "$dir/input.bin")"
up="$(mbps "$bytes" "$t")"
cpu1="$(cpu_secs "${pids[0]}")"
t="$(curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:13001/api/files/bench.bin")"
down="$(mbps "$bytes" "$t")"
cpu2="$(cpu_secs "${pids[0]}")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo "upload $up MB/s (ratio to dd $(ratio "$up" "$dd_rate")), download $down MB/s (ratio to dd $(ratio "$down" \
  "$dd_rate")); node CPU: upload $(awk -v a="$cpu1" -v b="$cpu0" 'BEGIN{printf "%.2f", a-b}') s, download \
$(awk -v a="$cpu2" -v b="$cpu1" 'BEGIN{printf "%.2f", a-b}') s"
stop_nodes
rm -rf "$dir/s1"
fi

if want rf3; then
echo "== 3 nodes, RF=3, ${size_mib} MiB through node 1"
peers="b1@127.0.0.1:14001:15001,b2@127.0.0.1:14002:15002,b3@127.0.0.1:14003:15003"
for n in 1 2 3; do start_node "b$n" "$n" "$peers" 3; done
warm_up http://127.0.0.1:13001
for d in quorum all; do
  # Fresh bytes per run: the same bytes again would be deduplicated (content-addressed chunks).
  head -c "$bytes" /dev/urandom > "$dir/input.bin"
  measure_disk
  cpu_before=(); for p in "${pids[@]}"; do cpu_before+=("$(cpu_secs "$p")"); done
  opened_before="$(transfer_connections opened)"; reused_before="$(transfer_connections reused)"
  if ! t="$(upload "http://127.0.0.1:13001/api/files/bench-$d.bin?durability=$d" "$dir/input.bin")"; then
    echo "$d: upload FAILED (see above)"
    continue
  fi
  r="$(mbps "$bytes" "$t")"
  echo "$d: upload $r MB/s (ratio to dd/3 $(awk -v a="$r" -v b="$dd_rate" 'BEGIN{printf "%.2f", a/(b/3)}'))"
  cpu=""; for i in 0 1 2; do
    cpu+=" b$((i + 1)) $(awk -v a="$(cpu_secs "${pids[$i]}")" -v b="${cpu_before[$i]}" 'BEGIN{printf "%.2f", a-b}') s"
  done
  echo "$d: node CPU during the upload:$cpu; load $(uptime | sed 's/.*load average: //')"
  echo "$d: node 1's transfer connections during the upload: opened" \
    "$(($(transfer_connections opened) - opened_before)), reused $(($(transfer_connections reused) - reused_before))"
  t="$(curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:13002/api/files/bench-$d.bin")"
  echo "$d: download from node 2 $(mbps "$bytes" "$t") MB/s (its own copy: RF=3 on 3 nodes)"
done
stop_nodes
rm -rf "$dir"/b1 "$dir"/b2 "$dir"/b3
fi

if want rss; then
echo "== peak RSS, single node RF=1"
for mult in 1 4; do
  start_node r1 1 "" 1
  pid="${pids[0]}"
  n=$((bytes * mult))
  head -c "$n" /dev/urandom | curl -sf -o /dev/null -T - "http://127.0.0.1:13001/api/files/rss.bin"
  echo "$((size_mib * mult)) MiB upload: VmHWM $(grep VmHWM /proc/"$pid"/status | awk '{print $2/1024 " MiB"}')"
  stop_nodes
  rm -rf "$dir/r1"
done
fi
echo "== load at end: $(uptime | sed 's/.*load average: //')"
