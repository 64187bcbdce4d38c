#!/usr/bin/env python3
"""Prints Stryker `--mutate` arguments that re-run only the surviving and uncovered mutants of a report.

    scripts/mutation.sh replication $(scripts/mutation-survivors.py REPORT)

Stryker.NET's mutate spans ({start..end}) are character offsets into the file, so each survivor's line/column
location is turned into an offset span of the file as it is on disk now: run it before editing the mutated
sources (tests may change freely). Adjacent spans in one file are merged.
"""
import json
import sys
from pathlib import Path


def offsets(text: str) -> list[int]:
    """Character offset at which each line (1-based index) starts."""
    starts = [0, 0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def main() -> None:
    report = json.load(open(sys.argv[1]))
    statuses = set(sys.argv[2].split(",")) if len(sys.argv) > 2 else {"Survived", "NoCoverage"}
    for name, body in sorted(report["files"].items()):
        spans = []
        text = Path(name).read_text()
        starts = offsets(text)
        for m in body["mutants"]:
            if m["status"] not in statuses:
                continue
            s, e = m["location"]["start"], m["location"]["end"]
            spans.append((starts[s["line"]] + s["column"] - 1, starts[e["line"]] + e["column"] - 1))
        if not spans:
            continue
        spans.sort()
        merged = [list(spans[0])]
        for a, b in spans[1:]:
            if a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        short = name.split("KeplerSim.Core/")[-1]
        for a, b in merged:
            print(f"--mutate **/{short}{{{a}..{b}}}")


if __name__ == "__main__":
    main()
