#!/usr/bin/env bash
# Where the CPU of a 3-node RF=3 bench run (its warm-up, two uploads and their downloads) goes with the cluster key and encryption at rest off and on: prints, per
# node and mode, the samples (1 ms of CPU each) in all, in SHA-256 and in AES-GCM. Prints numbers, asserts nothing.
#
#   scripts/crypto-profile.sh [SIZE_MIB]      # default 256; needs perf, objdump, python3 and dist/kepler-node
#
# Runs `BENCH_SECTIONS=rf3 scripts/bench-node.sh SIZE` twice (off, then on = BENCH_CLUSTER_KEY=1 BENCH_AT_REST=1)
# with every node under its own `perf record -p` (a wrapper started as KEPLER_NODE), JIT tiering off so the
# steady-state code runs from the first request. libcrypto is stripped, so a sample in it is classified by the
# instructions around its address: `sha256rnds2` is SHA-256 (SHA-NI), `aesenc`/`vpclmulqdq` is AES-GCM.
# Samples are CPU time, so the split holds on a loaded machine too; the MB/s bench-node.sh prints do not.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(realpath "${KEPLER_NODE:-$root/dist/kepler-node}")"
size="${1:-256}"
out="$(mktemp -d /tmp/kepler-crypto-profile.XXXXXX)"
trap 'rm -rf "$out"' EXIT
libcrypto="$(ldconfig -p | awk '/libcrypto\.so\.3 / { print $NF; exit }')"

cat > "$out/node" <<EOF
#!/usr/bin/env bash
if [ "\$1" = serve ]; then
  perf record -F 999 -g -p \$\$ -o "$out/\$PROFILE_MODE-\$NODE_ID.data" > /dev/null 2>&1 &
  sleep 0.3
fi
exec "$bin" "\$@"
EOF
chmod +x "$out/node"

for mode in off on; do
  flag=0; [ "$mode" = on ] && flag=1
  echo "== $mode (BENCH_CLUSTER_KEY=$flag BENCH_AT_REST=$flag)"
  KEPLER_NODE="$out/node" PROFILE_MODE="$mode" DOTNET_TieredCompilation=0 BENCH_CLUSTER_KEY=$flag \
    BENCH_AT_REST=$flag BENCH_SECTIONS=rf3 "$root/scripts/bench-node.sh" "$size" | grep -E "upload|CPU"
  sleep 1 # perf finishes writing once its node is gone
done

objdump -d --no-show-raw-insn "$libcrypto" > "$out/libcrypto.dis"
for data in "$out"/*.data; do
  name="$(basename "$data" .data)"
  perf report -i "$data" --no-children --sort dso,sym --stdio -g none -n 2> /dev/null \
    | awk -v n="$name" '!/^#/ && NF >= 5 { print n, $2, $3, $5 }'
done > "$out/samples"
python3 - "$out/libcrypto.dis" "$out/samples" "$(basename "$libcrypto")" <<'PY'
import bisect, collections, re, sys
dis, samples, lib = sys.argv[1:4]
insn = {}
for line in open(dis):
    m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)", line)
    if m:
        insn[int(m.group(1), 16)] = m.group(2)
addrs = sorted(insn)

def kind(address):
    i = bisect.bisect_left(addrs, address)
    around = [insn[a] for a in addrs[max(0, i - 60):i + 60]]
    if "sha256rnds2" in around:
        return "sha256"
    if any("aesenc" in w or "aesdec" in w or "clmul" in w for w in around):
        return "aes-gcm"
    return "crypto-other"

counts = collections.Counter()
for line in open(samples):
    name, n, dso, sym = line.split()[:4]
    counts[(name, "all")] += int(n)
    if dso == lib:
        counts[(name, kind(int(sym, 16)) if sym.startswith("0x") else "crypto-other")] += int(n)
print(f"{'node':8} {'samples':>8} {'sha256':>8} {'aes-gcm':>8} {'other crypto':>13}")
for mode in ("off", "on"):
    total = collections.Counter()
    for node in ("b1", "b2", "b3"):
        name = f"{mode}-{node}"
        row = [counts[(name, k)] for k in ("all", "sha256", "aes-gcm", "crypto-other")]
        total.update(dict(zip(("all", "sha256", "aes-gcm", "crypto-other"), row)))
        print(f"{name:8} {row[0]:8} {row[1]:8} {row[2]:8} {row[3]:13}")
    print(f"{mode + ' sum':8} {total['all']:8} {total['sha256']:8} {total['aes-gcm']:8} {total['crypto-other']:13}")
PY
