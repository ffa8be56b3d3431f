"""Row-by-row comparison of two routing-study results folders (``skymesh run`` outputs).

    python benchmarks/compare_results.py OLD_FOLDER NEW_FOLDER

Compares ``rtt.parquet`` and ``fstate_changes.parquet`` part by part (streamed: one
part of each in memory at a time, so a 24-hour study's 180 million forwarding rows
need no more than a chunk's), then ``pairs.parquet`` and the summary's headline
figures. Exit status 0 when everything is identical, 1 at the first difference
(named), 2 for a folder that is not a finished routing study. Used to check that a
faster engine gives today's results (issue 12: "results identical to today's").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq

HEADLINE = ("space_rtt_ms", "fstate_changes_per_step", "reachable_fraction", "steps", "satellites")


def compare(old: Path, new: Path) -> list[str]:
    """Lines describing what was compared; raises SystemExit(1) at a difference."""
    lines = []
    for name in ("rtt", "fstate_changes"):
        parts_old = sorted((old / f"{name}.parquet").glob("part-*.parquet"))
        parts_new = sorted((new / f"{name}.parquet").glob("part-*.parquet"))
        if [p.name for p in parts_old] != [p.name for p in parts_new]:
            raise SystemExit(
                f"{name}.parquet: different part lists ({len(parts_old)} vs {len(parts_new)})"
            )
        rows = 0
        for a, b in zip(parts_old, parts_new):
            ta, tb = pq.read_table(a), pq.read_table(b)
            if not ta.equals(tb):
                print(f"{name}.parquet/{a.name}: DIFFERENT", file=sys.stderr)
                raise SystemExit(1)
            rows += ta.num_rows
        lines.append(f"{name}: {len(parts_old)} parts, {rows:,} rows identical")
    if not pq.read_table(old / "pairs.parquet").equals(pq.read_table(new / "pairs.parquet")):
        print("pairs.parquet: DIFFERENT", file=sys.stderr)
        raise SystemExit(1)
    lines.append("pairs: identical")
    s_old = json.loads((old / "summary.json").read_text())
    s_new = json.loads((new / "summary.json").read_text())
    for key in HEADLINE:
        if s_old.get(key) != s_new.get(key):
            print(f"summary {key}: {s_old.get(key)} vs {s_new.get(key)}", file=sys.stderr)
            raise SystemExit(1)
    lines.append("summary headline: identical (" + ", ".join(HEADLINE) + ")")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: compare_results.py OLD_FOLDER NEW_FOLDER", file=sys.stderr)
        return 2
    old, new = Path(argv[0]), Path(argv[1])
    for folder in (old, new):
        if not (folder / "summary.json").is_file() or not (folder / "rtt.parquet").is_dir():
            print(
                f"{folder}: not a finished routing study (no summary.json/rtt.parquet)",
                file=sys.stderr,
            )
            return 2
    for line in compare(old, new):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
