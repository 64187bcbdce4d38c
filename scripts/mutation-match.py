#!/usr/bin/env python3
"""Matches a Stryker report's surviving and uncovered mutants against the triage TSVs in docs/mutation/.

    scripts/mutation-match.py REPORT docs/mutation/node-survivors-2026-12-06.tsv [more TSVs]

Line numbers move as the code changes, so a survivor matches a triaged row of the same file, mutator and
replacement, the nearest line first (each row is used once); a TSV writes a multi-line replacement's line breaks
as the two characters backslash and n. Prints every survivor with the row's group (its
triage: killed, equivalent, ...) or NEW when no row matches, then the counts. Asserts nothing: NEW rows are the
ones to triage by hand (docs/TESTING.md).
"""
import collections
import json
import sys


def rows(path: str) -> list[dict]:
    """Triaged rows of one TSV, whichever of the three layouts docs/mutation uses."""
    out = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or line.startswith("file\t") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        if ":" in f[0] and f[0].rsplit(":", 1)[1].isdigit():
            name, number = f[0].rsplit(":", 1)
            rest = f[1:]
        else:
            name, number, rest = f[0], f[1], f[2:]
        status, mutator, replacement = rest[0], rest[1], rest[2] if len(rest) > 2 else ""
        group = rest[3] if len(rest) > 3 else "listed (triaged in docs/TESTING.md)"
        out.append({"file": name, "line": int(number), "status": status, "mutator": mutator,
                    "replacement": replacement.strip().strip("'").replace("\\n", "\n"), "group": group, "used": False})
    return out


def main() -> None:
    report = json.load(open(sys.argv[1], encoding="utf-8"))
    triaged = [r for path in sys.argv[2:] for r in rows(path)]
    counts = collections.Counter()
    for name, body in sorted(report["files"].items()):
        short = name.split("KeplerSim.Core/")[-1]
        for m in sorted(body["mutants"], key=lambda m: m["location"]["start"]["line"]):
            if m["status"] not in ("Survived", "NoCoverage"):
                continue
            line = m["location"]["start"]["line"]
            replacement = (m.get("replacement") or "").strip()
            candidates = [r for r in triaged if not r["used"] and r["file"] == short
                          and r["mutator"] == m["mutatorName"] and r["replacement"] == replacement]
            if candidates:
                best = min(candidates, key=lambda r: abs(r["line"] - line))
                best["used"] = True
                group = best["group"]
                counts[group.split(" ")[0].split(":")[0].rstrip(",")] += 1
            else:
                group = "NEW"
                counts["NEW"] += 1
            print(f"{m['status']:10} {short}:{line} {m['mutatorName']}: {replacement[:60]!r} -> {group[:110]}")
    print("counts:", ", ".join(f"{k} {v}" for k, v in counts.most_common()))


if __name__ == "__main__":
    main()
