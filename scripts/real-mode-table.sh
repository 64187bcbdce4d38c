#!/usr/bin/env bash
# Runs every scenario file of a directory (default scenarios/fast) simulated and in real mode
# (kepler-sim run FILE --real) and prints one line each: simulated and real outcome, real-mode wall time, the
# real run's FAIL lines and timeline steps it could not perform. Reports are kept in $OUT (default
# /tmp/real-mode-table). Needs a built kepler-sim (dotnet build sim/KeplerSim.Sim) and kepler-node.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-scenarios/fast}
out=${OUT:-/tmp/real-mode-table}
mkdir -p "$out"
sim="dotnet sim/KeplerSim.Sim/bin/Debug/net10.0/kepler-sim.dll"
printf "%-24s %-5s %-5s %8s  %s\n" scenario sim real wall_s "real: FAIL lines, steps N/A"
for f in "$dir"/*.yaml; do
  n=$(basename "$f" .yaml)
  $sim run "$f" > "$out/$n.sim.txt" 2>&1; s=$?
  start=$(date +%s.%N)
  timeout 600 $sim run "$f" --real > "$out/$n.real.txt" 2>&1; r=$?
  end=$(date +%s.%N)
  real=$([ $r = 0 ] && echo PASS || { [ $r = 2 ] && echo "-" || echo FAIL; })
  printf "%-24s %-5s %-5s %8.1f  %s FAIL, %s steps N/A\n" "$n" "$([ $s = 0 ] && echo PASS || echo FAIL)" "$real" \
    "$(echo "$end - $start" | bc)" "$(grep -c '^  FAIL' "$out/$n.real.txt")" \
    "$(grep -c 'real mode cannot' "$out/$n.real.txt")"
done
