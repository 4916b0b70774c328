"""bench/compare_runs.py: two runs' tables, metric files (timing keys aside) and arrays compared."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("compare_runs", ROOT / "bench" / "compare_runs.py")
compare_runs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_runs)


def write_run(root: Path, plr: float, seconds: float, table: str, array: list[int]) -> Path:
    for d in ("tables", "metrics/leakage", "reps/x", "report"):
        (root / "results" / d).mkdir(parents=True, exist_ok=True)
    history = [{"epoch": 1, "seconds": seconds, "loss": 0.5}]
    (root / "results/metrics/leakage/x.json").write_text(json.dumps({"plr": plr, "history": history}))
    (root / "results/tables/table1.csv").write_text(table)
    np.save(root / "results/reps/x/test.npy", np.array(array, np.uint8))
    (root / "results/report/runtime.csv").write_text(f"s\n{seconds}\n")  # run times: not compared
    return root


def test_runs_differing_only_in_timing_are_identical_and_any_result_counts(tmp_path):
    a = write_run(tmp_path / "a", 50.0, 1.0, "plr\n50\n", [1, 2])
    b = write_run(tmp_path / "b", 50.0, 9.0, "plr\n50\n", [1, 2])
    keys = frozenset(compare_runs.TIMING_KEYS)
    result = compare_runs.compare(a, b, keys)
    assert all(not r["differ"] and not r["only_before"] and not r["only_after"] for r in result.values())
    assert [len(r["compared"]) for r in result.values()] == [1, 1, 1]
    c = write_run(tmp_path / "c", 50.5, 1.0, "plr\n50.0\n", [1, 3])
    (c / "results/metrics/leakage/y.json").write_text("{}")
    result = compare_runs.compare(a, c, keys)
    assert [r["differ"] for r in result.values()] == [
        ["tables/table1.csv"],
        ["metrics/leakage/x.json"],
        ["reps/x/test.npy"],
    ]
    assert result["metrics"]["only_after"] == ["metrics/leakage/y.json"]
