#!/usr/bin/env bash
# S3 API vs native API throughput in the same run: prints numbers, asserts nothing.
#
#   scripts/bench-s3.sh [SIZE_MIB] [ROUNDS]     # default 1024 MiB, 2 rounds
#
# Both APIs are driven by the same client (curl; the S3 requests signed with --aws-sigv4, UNSIGNED-PAYLOAD, one
# single-part PUT) against the same nodes, alternating native and S3 each round with fresh random bytes for every
# upload (equal bytes would be deduplicated: chunks are content-addressed). The S3 side also computes the object's
# MD5 (its ETag) while streaming, which is the main extra work. BENCH_SECTIONS picks "rf1" (one node, RF=1) and/or
# "rf3" (3 nodes, RF=3, quorum through node 1, GET from node 2); default both.
#
# Besides the rates it prints the nodes' own CPU time per GiB moved (user + system from /proc/PID/stat, summed
# over the bench's nodes): on a loaded machine rates swing with the other load, CPU per GiB does not.
#
# Needs dist/kepler-node (dotnet publish node/KeplerSim.Node -c Release -o dist) and curl >= 7.75.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${KEPLER_NODE:-$root/dist/kepler-node}"
size_mib="${1:-1024}"
rounds="${2:-2}"
sections=" ${BENCH_SECTIONS:-rf1 rf3} "
dir="$(mktemp -d "${BENCH_DIR:-/tmp}/kepler-bench-s3.XXXXXX")"
access=benchkey
secret=bench-secret-0123456789
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
want() { [[ "$sections" == *" $1 "* ]]; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / t / 1e6 }'; }
bytes=$((size_mib * 1024 * 1024))
ticks_per_second="$(getconf CLK_TCK)"
node_ticks() { # user + system clock ticks of every node of the bench so far
  local p total=0
  for p in "${pids[@]}"; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  echo "$total"
}
per_gib() { # ticks-before ticks-after -> node CPU seconds per GiB
  awk -v a="$1" -v b="$2" -v hz="$ticks_per_second" -v n="$bytes" \
    'BEGIN { printf "%.2f", (b - a) / hz / (n / 1073741824) }'
}

start_node() { # id n peers rf
  NODE_ID="$1" HTTP_PORT="1310$2" GOSSIP_PORT="1410$2" TRANSFER_PORT="1510$2" S3_PORT="1610$2" PEERS="$3" \
    S3_KEYS="$access:$secret" REPLICATION_FACTOR="$4" DATA_DIR="$dir/$1" LOG_LEVEL=warning LOG_FORMAT=json \
    "$bin" serve > "$dir/$1.log" 2>&1 &
  pids+=($!)
  disown $! 2> /dev/null || true
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:1310$2/ready" > /dev/null && return; sleep 0.05; done
  echo "node $1 did not start" >&2; exit 1
}
stop_nodes() { for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done; pids=(); }

s3() { # curl arguments -> curl with SigV4 (the payload is not hashed: UNSIGNED-PAYLOAD)
  curl --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access:$secret" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

timed() { # expected-status curl-function args... -> seconds
  local expected="$1" out code; shift
  out="$("$@" -s -o "$dir/response" -w '%{http_code} %{time_total}')"
  code="${out%% *}"
  if [ "$code" != "$expected" ]; then
    echo "request failed: HTTP $code: $(head -c 300 "$dir/response")" >&2
    exit 1
  fi
  echo "${out#* }"
}

run() { # label put-node get-node
  local put="$2" get="$3" i t c
  local -a native_up=() native_down=() s3_up=() s3_down=() native_up_cpu=() s3_up_cpu=() native_down_cpu=()
  local -a s3_down_cpu=()
  for i in $(seq 1 "$rounds"); do
    head -c "$bytes" /dev/urandom > "$dir/native.bin"
    head -c "$bytes" /dev/urandom > "$dir/s3.bin"
    # Odd rounds measure native first, even rounds S3 first: whichever went second ran slower by a steady margin
    # (the previous 1 GiB transfer's memory and page cache), which read as an S3 deficit when S3 always went second.
    local order="native s3"
    if (( i % 2 == 0 )); then order="s3 native"; fi
    for api in $order; do
      c="$(node_ticks)"
      if [ "$api" = native ]; then
        t="$(timed 200 curl -T "$dir/native.bin" "http://127.0.0.1:1310$put/api/files/bench/native-$i.bin")"
        native_up+=("$(mbps "$bytes" "$t")")
        native_up_cpu+=("$(per_gib "$c" "$(node_ticks)")")
      else
        t="$(timed 200 s3 -T "$dir/s3.bin" "http://127.0.0.1:1610$put/bench/s3-$i.bin")"
        s3_up+=("$(mbps "$bytes" "$t")")
        s3_up_cpu+=("$(per_gib "$c" "$(node_ticks)")")
      fi
    done
    for api in $order; do
      c="$(node_ticks)"
      if [ "$api" = native ]; then
        t="$(timed 200 curl "http://127.0.0.1:1310$get/api/files/bench/native-$i.bin")"
        native_down+=("$(mbps "$bytes" "$t")")
        native_down_cpu+=("$(per_gib "$c" "$(node_ticks)")")
      else
        t="$(timed 200 s3 "http://127.0.0.1:1610$get/bench/s3-$i.bin")"
        s3_down+=("$(mbps "$bytes" "$t")")
        s3_down_cpu+=("$(per_gib "$c" "$(node_ticks)")")
      fi
    done
    echo "$1 round $i ($order first to last): PUT native ${native_up[-1]} MB/s, S3 ${s3_up[-1]} MB/s;" \
      "GET native ${native_down[-1]} MB/s, S3 ${s3_down[-1]} MB/s; node CPU s/GiB: PUT native" \
      "${native_up_cpu[-1]}, S3 ${s3_up_cpu[-1]}; GET native ${native_down_cpu[-1]}, S3 ${s3_down_cpu[-1]};" \
      "load $(uptime | sed 's/.*load average: //')"
  done
  sum() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.1f", s / NR }'; }
  local nu su nd sd
  nu="$(sum "${native_up[@]}")"; su="$(sum "${s3_up[@]}")"; nd="$(sum "${native_down[@]}")"; sd="$(sum "${s3_down[@]}")"
  echo "$1 mean of $rounds: PUT native $nu, S3 $su MB/s (S3/native $(awk -v a="$su" -v b="$nu" \
    'BEGIN{printf "%.2f", a/b}')); GET native $nd, S3 $sd MB/s (S3/native $(awk -v a="$sd" -v b="$nd" \
    'BEGIN{printf "%.2f", a/b}'))"
  echo "$1 node CPU s/GiB, mean of $rounds: PUT native $(sum "${native_up_cpu[@]}"), S3 $(sum "${s3_up_cpu[@]}");" \
    "GET native $(sum "${native_down_cpu[@]}"), S3 $(sum "${s3_down_cpu[@]}")"
}

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), ${size_mib} MiB objects, $rounds rounds, $(nproc) cores, load:" \
  "$(uptime | sed 's/.*load average: //')"
if want rf1; then
  echo "== single node, RF=1"
  start_node t1 1 "" 1
  s3 -sf -X PUT "http://127.0.0.1:16101/bench" > /dev/null
  run rf1 1 1
  stop_nodes
  rm -rf "$dir/t1"
fi

if want rf3; then
  echo "== 3 nodes, RF=3, quorum, PUT through node 1, GET from node 2"
  peers="c1@127.0.0.1:14101:15101,c2@127.0.0.1:14102:15102,c3@127.0.0.1:14103:15103"
  for n in 1 2 3; do start_node "c$n" "$n" "$peers" 3; done
  s3 -sf -X PUT "http://127.0.0.1:16101/bench" > /dev/null
  run rf3 1 2
  stop_nodes
fi
echo "== load at end: $(uptime | sed 's/.*load average: //')"
