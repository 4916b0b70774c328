"""Are two runs' results the same? Byte-identity of a refactor's tables, metric files and arrays.

Compares ``results/`` of two working directories: every table (``tables/*.csv``) byte for byte, every
metrics file (``metrics/**/*.json``) as JSON without its timing keys (``--ignore``: the histories'
``seconds`` and the like), every array (``**/*.npy``) with ``numpy.array_equal``; the report folder
(run times, figures) is left out. Files present in one run only are listed too. Exit status 1 when
anything differs.

    python bench/compare_runs.py /tmp/before /tmp/after
    python bench/compare_runs.py /tmp/before /tmp/after --ignore seconds wall_seconds
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

TIMING_KEYS = ("seconds", "time", "wall", "wall_seconds", "elapsed", "cpu_time")
KINDS = {"tables": "tables/*.csv", "metrics": "metrics/**/*.json", "arrays": "**/*.npy"}


def without(obj: Any, keys: frozenset[str]) -> Any:
    """A JSON value without the dictionary entries named ``keys``, at any depth."""
    if isinstance(obj, dict):
        return {k: without(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [without(v, keys) for v in obj]
    return obj


def same(a: Path, b: Path, keys: frozenset[str]) -> bool:
    """Whether two files of the same kind hold the same results."""
    if a.suffix == ".json":
        return without(json.loads(a.read_text()), keys) == without(json.loads(b.read_text()), keys)
    if a.suffix == ".npy":
        return bool(np.array_equal(np.load(a, mmap_mode="r"), np.load(b, mmap_mode="r")))
    return a.read_bytes() == b.read_bytes()


def compare(before: Path, after: Path, keys: frozenset[str]) -> dict[str, dict[str, list[str]]]:
    """Per kind of file: those that differ and those present in one run only (paths under results/)."""
    out = {}
    for kind, pattern in KINDS.items():
        files = [
            {str(p.relative_to(root)) for p in root.glob(pattern) if p.relative_to(root).parts[0] != "report"}
            for root in (before / "results", after / "results")
        ]
        common = sorted(files[0] & files[1])
        out[kind] = {
            "compared": common,
            "differ": [f for f in common if not same(before / "results" / f, after / "results" / f, keys)],
            "only_before": sorted(files[0] - files[1]),
            "only_after": sorted(files[1] - files[0]),
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path, help="working directory of the first run (holds results/)")
    ap.add_argument("after", type=Path, help="working directory of the second run")
    ap.add_argument(
        "--ignore", nargs="*", default=list(TIMING_KEYS), help="JSON keys left out of the comparison"
    )
    args = ap.parse_args()
    for d in (args.before, args.after):
        if not (d / "results").is_dir():
            raise SystemExit(f"{d} has no results/ folder")
    result = compare(args.before, args.after, frozenset(args.ignore))
    failed = False
    for kind, r in result.items():
        print(f"{kind}: {len(r['compared'])} compared, {len(r['differ'])} differ")
        for label in ("differ", "only_before", "only_after"):
            for f in r[label]:
                print(f"  {label}: {f}")
            failed |= bool(r[label])
    print("identical" if not failed else "DIFFERENT")
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
