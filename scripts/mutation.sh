#!/usr/bin/env bash
# Mutation testing of one core/ folder with Stryker.NET: prints the score, asserts nothing.
#
#   scripts/mutation.sh FOLDER [extra dotnet-stryker options]    # FOLDER: a config in tests/KeplerSim.Tests/stryker
#
# Runs from tests/KeplerSim.Tests with tests/KeplerSim.Tests/stryker/FOLDER.json: the folder's files are mutated
# and only the fast test classes that exercise them run against each mutant (perTest coverage, so a mutant runs
# only the tests that reach it). Nice'd and one test runner at a time: the machine is shared. The report lands
# in tests/KeplerSim.Tests/StrykerOutput/<date>/reports/ (mutation-report.json and .html; gitignored) and the
# per-status counts are printed at the end. docs/TESTING.md has the scores and every survivor explained.
#
# Needs: dotnet tool install -g dotnet-stryker (5.1.0). Set STRYKER_CONCURRENCY to run more test runners.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
folder="${1:?usage: scripts/mutation.sh FOLDER [stryker options]; FOLDER: a tests/KeplerSim.Tests/stryker/*.json name}"
shift
config="stryker/$folder.json"
stryker="$(command -v dotnet-stryker || echo "$HOME/.dotnet/tools/dotnet-stryker")"
cd "$root/tests/KeplerSim.Tests"
[ -f "$config" ] || { echo "no $config; folders: $(ls stryker | sed 's/\.json//' | tr '\n' ' ')" >&2; exit 2; }
nice -n "${STRYKER_NICE:-15}" "$stryker" -f "$config" --concurrency "${STRYKER_CONCURRENCY:-1}" --skip-version-check "$@"
report="$(ls -td StrykerOutput/*/reports | head -1)/mutation-report.json"
python3 - "$report" <<'PY'
import collections, json, sys
report = json.load(open(sys.argv[1]))
total = collections.Counter()
for name, body in sorted(report["files"].items()):
    counts = collections.Counter(m["status"] for m in body["mutants"])
    killed = counts["Killed"] + counts["Timeout"]
    valid = killed + counts["Survived"] + counts["NoCoverage"]
    if valid == 0:
        continue  # A file outside the mutate filter.
    total.update(counts)
    short = name.split("KeplerSim.Core/")[-1]
    print(f"{short:45} killed {counts['Killed']:4} timeout {counts['Timeout']:3} survived {counts['Survived']:4} "
          f"nocov {counts['NoCoverage']:4} score {100 * killed / valid:.1f}")
    for m in body["mutants"]:
        if m["status"] in ("Survived", "NoCoverage"):
            line = m["location"]["start"]["line"]
            print(f"    {m['status']:10} {short}:{line} {m['mutatorName']}: {m.get('replacement', '')[:80]!r}")
killed = total["Killed"] + total["Timeout"]
valid = killed + total["Survived"] + total["NoCoverage"]
print(f"TOTAL killed {total['Killed']} timeout {total['Timeout']} survived {total['Survived']} "
      f"nocov {total['NoCoverage']} compile errors {total['CompileError']} "
      f"score {100 * killed / valid if valid else 0:.1f} %")
PY
echo "report: $PWD/$report"
