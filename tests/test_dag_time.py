"""bench/dag_time.py's wall estimate: list scheduling of the job graph on N cores, and the same with some
rules' jobs taking no time (``--free``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ppfer_core.report import pattern_wildcards

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


def test_wildcards_of_a_file_read_back_from_its_pattern():
    pattern = "benchmarks/bottleneck/{scope}render_{k,k[0-9]+}/{rep}.tsv"
    assert pattern_wildcards(pattern, "benchmarks/bottleneck/open-render_k4/ours.tsv") == {
        "scope": "open-",
        "k": "k4",
        "rep": "ours",
    }
    assert pattern_wildcards("logs/{rep}/{rep}.log", "logs/a/a.log") == {"rep": "a"}
    assert pattern_wildcards("logs/{rep}/{rep}.log", "logs/a/b.log") is None


def test_jobs_a_checkpoint_added_join_the_graph_with_a_siblings_edges(tmp_path):
    for name in ("ours", "flow", "swap"):
        (tmp_path / "benchmarks" / "recover").mkdir(parents=True, exist_ok=True)
        (tmp_path / "benchmarks" / "recover" / f"{name}.tsv").write_text("s\tcpu_time\n1\t1\n")
    jobs = {0: ("ingest", {}), 1: ("recover", {"rep": "ours"}), 2: ("tables", {})}
    edges = [(0, 1), (1, 2)]
    files = dag_time.job_files(tmp_path, jobs, edges, {"recover": "benchmarks/recover/{rep}.tsv"})
    assert sorted(f.name for f in files.values()) == ["flow.tsv", "ours.tsv", "swap.tsv"]
    added = [j for j in jobs if j > 2]
    assert len(added) == 2 and all(jobs[j][0] == "recover" for j in added)
    assert all((0, j) in edges and (j, 2) in edges for j in added)


def test_a_jobs_cpu_is_the_last_line_its_process_logs_at_exit(tmp_path):
    import subprocess

    log = tmp_path / "job.log"
    code = (
        "from ppfer_core.runtime import job_logger\n"
        f"log = job_logger({str(log)!r}); job_logger({str(log)!r})\n"
        "sum(i * i for i in range(2_000_000))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    lines = log.read_text().splitlines()
    assert sum("process CPU" in ln for ln in lines) == 1 and "process CPU" in lines[-1]
    cpu = dag_time.logged_cpu(log)
    assert cpu is not None and 0.05 < cpu < 60
    assert dag_time.logged_cpu(tmp_path / "absent.log") is None
