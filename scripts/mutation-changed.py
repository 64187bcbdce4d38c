#!/usr/bin/env python3
"""Prints Stryker `--mutate` arguments that mutate only the lines of core/ changed since a commit.

    scripts/mutation.sh membership $(scripts/mutation-changed.py c5ed9ee Membership)

For the habit docs/TESTING.md asks for: after a change, mutate what changed instead of a whole folder (a full
Membership/ run takes about 90 minutes). Lines added or modified since BASE (`git diff -U0 BASE`, the working tree
included) in `core/KeplerSim.Core/FOLDER` become character-offset spans ({start..end}, the form Stryker.NET reads,
as in mutation-survivors.py); whole new files are mutated whole. Deleted lines leave nothing to mutate.
"""
import re
import subprocess
import sys
from pathlib import Path


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: mutation-changed.py BASE FOLDER   (FOLDER under core/KeplerSim.Core, e.g. Membership)")
    base, folder = sys.argv[1], sys.argv[2].strip("/")
    root = Path(subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip())
    diff = subprocess.check_output(
        ["git", "diff", "-U0", base, "--", f"core/KeplerSim.Core/{folder}"], cwd=root, text=True)
    spans: dict[str, list[tuple[int, int]]] = {}
    name = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            name = None if line.endswith("/dev/null") else line[6:]
            continue
        hunk = re.match(r"@@ -\S+ \+(\d+)(?:,(\d+))? @@", line)
        if hunk and name and name.endswith(".cs"):
            start, count = int(hunk.group(1)), int(hunk.group(2) or 1)
            if count > 0:
                spans.setdefault(name, []).append((start, start + count - 1))
    for name, lines in sorted(spans.items()):
        text = (root / name).read_text()
        starts = [0, 0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
        short = name.split("KeplerSim.Core/")[-1]
        for first, last in lines:
            end = starts[last + 1] - 1 if last + 1 < len(starts) else len(text)
            print(f"--mutate **/{short}{{{starts[first]}..{end}}}")


if __name__ == "__main__":
    main()
