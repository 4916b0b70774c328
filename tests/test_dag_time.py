"""bench/dag_time.py's wall estimate: list scheduling of the job graph on N cores, and the same with some
rules' jobs taking no time (``--free``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("dag_time", ROOT / "bench" / "dag_time.py")
dag_time = importlib.util.module_from_spec(spec)
sys.modules["dag_time"] = dag_time
spec.loader.exec_module(dag_time)

# 0 -> {1, 2, 3} -> 4: a fan-out of three 10 s jobs between a 1 s job and a 2 s job
DURATIONS = {0: 1.0, 1: 10.0, 2: 10.0, 3: 10.0, 4: 2.0}
EDGES = [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4)]
JOBS = {0: ("ingest", {}), 1: ("attack", {}), 2: ("attack", {}), 3: ("utility", {}), 4: ("tables", {})}


def test_estimate_wall_list_schedules_on_the_cores():
    assert dag_time.estimate_wall(DURATIONS, EDGES, cores=1) == 33.0
    assert dag_time.estimate_wall(DURATIONS, EDGES, cores=2) == 23.0  # two, then the third alone
    assert dag_time.estimate_wall(DURATIONS, EDGES, cores=3) == 13.0


def test_free_rules_take_no_time_and_keep_the_order():
    rest = dag_time.without(DURATIONS, JOBS, frozenset({"attack"}))
    assert rest == {0: 1.0, 1: 0.0, 2: 0.0, 3: 10.0, 4: 2.0}
    assert dag_time.estimate_wall(rest, EDGES, cores=2) == 13.0
    assert dag_time.without(DURATIONS, JOBS, frozenset()) == DURATIONS
