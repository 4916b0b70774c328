"""Run time of the whole DAG from a clean results directory, and how much of it is not model computation.

Runs ``snakemake`` (all targets, ``--cores N --resources gpu=1``) on a config in a fresh working
directory, then prints:

- the wall time of the Snakemake process and the number of jobs (benchmark files);
- the summed wall time ``s`` of the jobs (benchmark files) and its ratio to the wall time (parallelism);
- the run time per rule (``results/report/runtime.csv`` of the report rule, plus the report itself);
- the seconds the jobs spent in training epochs, as the training loop logs them (``seconds`` of every
  epoch in the ``history`` of the metric files): the model computation;
- the share of the summed job time outside training epochs (start-up, imports, I/O, inference,
  metrics), and the part of it that is start-up: jobs x the measured start-up of a job's Python process
  (interpreter + Snakemake's script preamble + torch / timm / ppfer_core imports; an upper bound, as
  not every job imports torch).

    python bench/dag_time.py --config tiny                 # config.yaml + config/tiny.yaml
    python bench/dag_time.py                               # the default config (config.yaml)
    python bench/dag_time.py --config tiny --workdir /tmp/dagtime --clean --json /tmp/dagtime.json
    python bench/dag_time.py --analyse DIR                 # a finished run in DIR (wall time from its log)
    python bench/dag_time.py --analyse DIR --wall S        # ... resumed after a stop: its parts' wall sum
    python bench/dag_time.py --analyse DIR --free attack_suite recover   # ... and with those rules free

It also prints the wall time the DAG would take on ``--cores`` cores from its per-job times alone
(``estimate_wall``): the job graph (``snakemake --dag``) list-scheduled, ready jobs in graph order,
each job taking its threads' share of the cores, with every job's ``cpu_time`` from its benchmark
file as its duration (for a 1-thread job, what it takes on a quiet core; measured that way, the
estimate holds on a machine shared with other work, where the measured wall time does not).

The working directory must be new or empty, or ``--clean`` removes its results/, logs/,
benchmarks/ and .snakemake/ first.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIGS = {"default": [], "tiny": ["config/tiny.yaml"], "paper": ["config/paper.yaml"]}
STARTUP = {
    "interpreter": "pass",
    "snakemake script preamble": "import snakemake.script",
    "torch, timm, ppfer_core": "import torch, timm, pandas, ppfer_core.training, ppfer_core.nets, ppfer_core.arrays",
}


def startup_seconds(repeats: int = 3) -> dict[str, float]:
    """Median wall time of a fresh Python process doing each import (cumulative: each includes the interpreter)."""
    out = {}
    for name, code in STARTUP.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return out


def training_seconds(metrics_dir: Path) -> tuple[float, int]:
    """Sum of the epoch ``seconds`` in every ``history`` list of the metric JSON files, and the epoch count."""

    def walk(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k == "history" and isinstance(v, list):
                    for row in v:
                        if isinstance(row, dict) and "seconds" in row:
                            yield float(row["seconds"])
                else:
                    yield from walk(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from walk(v)

    seconds = [s for f in sorted(metrics_dir.rglob("*.json")) for s in walk(json.loads(f.read_text()))]
    return float(sum(seconds)), len(seconds)


def logged_wall_seconds(workdir: Path) -> float:
    """Wall time of the newest complete Snakemake run in ``workdir`` (its log's ``Elapsed time: H:MM:SS``)."""
    for log in sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"), reverse=True):
        for line in reversed(log.read_text().splitlines()):
            if line.startswith("Elapsed time:"):
                h, m, sec = line.split(":", 1)[1].strip().split(":")
                return int(h) * 3600 + int(m) * 60 + float(sec)
    raise SystemExit(f"no complete Snakemake run logged in {workdir / '.snakemake' / 'log'}")


def job_graph(
    workdir: Path, configs: list[str], extra: list[str]
) -> tuple[dict[int, tuple[str, dict]], list[tuple[int, int]]]:
    """Jobs (id -> rule, wildcards) and edges (from, to) of the whole DAG, from ``snakemake --dag``."""
    import re

    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        *configs,
        "--forceall",
        "--dag",
        "--cores",
        "1",
        *extra,
    ]
    dot = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    jobs = {}
    for m in re.finditer(r'^\s*(\d+)\[label = "([^"]*)"', dot, re.M):
        rule, *wcs = m.group(2).split("\\n")
        jobs[int(m.group(1))] = (rule, dict(w.split(": ", 1) for w in wcs if ": " in w))
    edges = [(int(a), int(b)) for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.M)]
    return jobs, edges


def estimate_wall(durations: dict[int, float], edges: list[tuple[int, int]], cores: int) -> float:
    """Makespan of list-scheduling the jobs (1 core each, graph order) on ``cores`` cores."""
    import heapq

    deps = {j: set() for j in durations}
    users: dict[int, list[int]] = {j: [] for j in durations}
    for a, b in edges:
        if a in durations and b in durations:
            deps[b].add(a)
            users[a].append(b)
    ready = sorted(j for j, d in deps.items() if not d)
    running: list[tuple[float, int]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < cores:
            j = ready.pop(0)
            heapq.heappush(running, (now + durations[j], j))
        now, done = heapq.heappop(running)
        for u in users[done]:
            deps[u].discard(done)
            if not deps[u]:
                ready.append(u)
        ready.sort()
    return now


def without(
    durations: dict[int, float], jobs: dict[int, tuple[str, dict]], free: frozenset[str]
) -> dict[int, float]:
    """``durations`` with the jobs of the ``free`` rules taking no time."""
    return {j: 0.0 if jobs[j][0] in free else d for j, d in durations.items()}


@functools.cache
def directive_patterns(directive: str) -> dict[str, str]:
    """rule -> the file pattern of its ``benchmark:`` or ``log:`` directive, read from the rule files
    (rules/*.smk; rules/planning.py's rule_blocks: a rule derived by ``use rule ... with:`` has its own
    pattern or inherits its base's)."""
    import re

    sys.path.insert(0, str(ROOT / "rules"))
    from planning import rule_blocks

    out = {}
    for rule, (_, block) in rule_blocks(sorted((ROOT / "rules").glob("*.smk"))).items():
        m = re.search(directive + r':\s*\n\s*"([^"]+)"', block)
        if m:
            out[rule] = m.group(1)
    return out


def logged_cpu(log: Path) -> float | None:
    """A job's CPU seconds up to its exit hook, from the last ``process CPU`` line of its log
    (ppfer_core.runtime), if any."""
    from ppfer_core.runtime import PROCESS_CPU

    if not log.is_file():
        return None
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if PROCESS_CPU in ln]
    return float(lines[-1].split(PROCESS_CPU, 1)[1].split()[0]) if lines else None


def job_files(
    workdir: Path, jobs: dict[int, tuple[str, dict]], edges: list[tuple[int, int]], patterns: dict[str, str]
) -> dict[int, Path]:
    """Each job's benchmark file. Snakemake's ``--dag`` leaves the wildcards out of some labels: those jobs
    get the rule's remaining files in order (the same rule, so the same place in the graph). Files left
    over belong to jobs a checkpoint added after ``--dag`` saw the graph (e.g. most ``recover`` jobs):
    each becomes a job with the edges of one of its rule's jobs (``jobs`` and ``edges`` grow)."""
    from ppfer_core.report import pattern_regex

    files = {}
    for j, (rule, wcs) in jobs.items():
        if rule in patterns:
            try:
                files[j] = workdir / patterns[rule].format(**wcs)
            except KeyError:  # wildcards missing from the label
                pass
    bench = sorted((workdir / "benchmarks").rglob("*.tsv"))
    for rule, pattern in patterns.items():
        taken = {str(f) for j, f in files.items() if jobs[j][0] == rule}
        rest = [f for f in bench if pattern_regex(pattern).fullmatch(str(f.relative_to(workdir)))]
        rest = [f for f in rest if str(f) not in taken]
        unlabeled = [j for j, (r, _) in jobs.items() if r == rule and j not in files]
        files.update(zip(unlabeled, rest))
        sibling = next((j for j, (r, _) in jobs.items() if r == rule), None)
        for f in rest[len(unlabeled) :]:
            new = max(jobs) + 1
            jobs[new], files[new] = (rule, {}), f
            if sibling is not None:
                edges += [(a, new) for a, b in list(edges) if b == sibling]
                edges += [(new, b) for a, b in list(edges) if a == sibling]
    return files


def job_cpu(workdir: Path, rule: str, bench: Path, sampled: float) -> tuple[float, bool]:
    """(CPU seconds, logged?) of one job: the larger of its log's ``process CPU`` line and the benchmark's
    sampled ``cpu_time``. Both are lower bounds: the sample misses up to 30 s of the job's end, the log
    line processes the job does not wait for (Flower's Ray workers, which the sample counts while they
    run) and, before every script ended with ``end_job`` (c4da53e), the interpreter's teardown after it."""
    from ppfer_core.report import pattern_wildcards

    logs, patterns = directive_patterns("log"), directive_patterns("benchmark")
    wcs = pattern_wildcards(patterns[rule], str(bench.relative_to(workdir)))
    logged = logged_cpu(workdir / logs[rule].format(**wcs)) if wcs is not None and rule in logs else None
    return (sampled, False) if logged is None else (max(logged, sampled), True)


def wall_estimate(
    workdir: Path, configs: list[str], extra: list[str], cores: int, free: frozenset[str] = frozenset()
) -> dict[str, float]:
    """Estimated wall time on ``cores`` from every job's CPU seconds (``cpu_time``: the larger of its log's figure
    where the job wrote one, else the benchmark's sampled one; ``cpu_logged_jobs`` says how many) and,
    for comparison, its wall ``s``; empty when a job of the graph has no benchmark file. With ``free``
    rules, also ``cpu_time_free``: the same with those rules' jobs taking no time (what is left if they
    cost nothing)."""
    from ppfer_core.report import read_benchmark

    patterns = directive_patterns("benchmark")
    jobs, edges = job_graph(workdir, configs, extra)
    files = job_files(workdir, jobs, edges, patterns)
    missing = [
        f"{r} (job {j})"
        for j, (r, _) in jobs.items()
        if r in patterns and not (j in files and files[j].exists())
    ]
    if missing:
        print(f"estimate skipped: {len(missing)} jobs without a benchmark file, e.g. {missing[0]}")
        return {}
    bench = {j: read_benchmark(files[j]) for j in files}
    cpu = {j: job_cpu(workdir, jobs[j][0], files[j], bench[j]["cpu_time"]) for j in files}
    durations = {
        "cpu_time": {j: cpu[j][0] if j in cpu else 0.0 for j in jobs},  # 0: e.g. rule all
        "s": {j: bench[j]["s"] if j in bench else 0.0 for j in jobs},
    }
    est = {col: estimate_wall(d, edges, cores) for col, d in durations.items()}
    est.update(
        jobs=len(files),
        cpu_logged_jobs=sum(logged for _, logged in cpu.values()),
        cpu_sum=sum(c for c, _ in cpu.values()),
    )
    if free:
        est["cpu_time_free"] = estimate_wall(without(durations["cpu_time"], jobs, free), edges, cores)
    return est


def prepare(workdir: Path, clean: bool) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    stale = [workdir / d for d in ("results", "logs", "benchmarks", ".snakemake") if (workdir / d).exists()]
    if stale and not clean:
        raise SystemExit(
            f"{workdir} holds {', '.join(p.name for p in stale)}: use --clean or a new --workdir"
        )
    for p in stale:
        shutil.rmtree(p)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--config", default="default", help="default | tiny | paper | a YAML file merged over config.yaml"
    )
    ap.add_argument(
        "--workdir", type=Path, default=None, help="working directory (default: a new temporary one)"
    )
    ap.add_argument(
        "--clean",
        action="store_true",
        help="remove results/, logs/, benchmarks/, .snakemake/ of --workdir first",
    )
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="also write the summary here")
    ap.add_argument(
        "--analyse",
        type=Path,
        default=None,
        metavar="DIR",
        help="do not run: summarise the finished run in DIR (wall time from its newest Snakemake log)",
    )
    ap.add_argument(
        "--wall",
        type=float,
        default=None,
        metavar="S",
        help="with --analyse: the run's wall seconds, for a run that was stopped and resumed (the sum of "
        "its parts; the newest log has only the last part's)",
    )
    ap.add_argument(
        "--free",
        nargs="+",
        default=[],
        metavar="RULE",
        help="also estimate the wall time with these rules' jobs taking no time (what is left without them)",
    )
    ap.add_argument("extra", nargs="*", help="further snakemake arguments (after --)")
    return ap.parse_args()


def run_dag(args: argparse.Namespace, configs: list[str]) -> tuple[Path, float]:
    """Run snakemake on every target in a fresh working directory: (workdir, wall seconds)."""
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ppfer_dag_time_"))
    prepare(workdir, args.clean)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--configfile", *configs, "--cores", str(args.cores), "--resources", "gpu=1", *args.extra]
    print(f"running in {workdir}: {' '.join(cmd)}", flush=True)
    t0 = time.perf_counter()
    with open(workdir / "dag_time.log", "w") as log:
        res = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"snakemake failed ({res.returncode}); see {workdir / 'dag_time.log'}")
    return workdir, wall


def summarise(args: argparse.Namespace, workdir: Path, wall: float, startup: dict[str, float]) -> dict:
    """Wall time, summed job time, training time and the start-up estimate of a finished run."""
    from ppfer_core.report import read_benchmark

    bench = sorted((workdir / "benchmarks").rglob("*.tsv"))
    job_s = sum(read_benchmark(f)["s"] for f in bench)
    train_s, epochs = training_seconds(workdir / "results" / "metrics")
    per_job_startup = (
        startup["torch, timm, ppfer_core"] + startup["snakemake script preamble"] - startup["interpreter"]
    )
    startup_s = len(bench) * per_job_startup
    return {
        "config": args.config,
        "cores": args.cores,
        "workdir": str(workdir),
        "wall_s": wall,
        "jobs": len(bench),
        "job_s_sum": job_s,
        "cpu_time_sum": sum(read_benchmark(f)["cpu_time"] for f in bench),
        "parallelism": job_s / wall,
        "training_s": train_s,
        "training_epochs": epochs,
        "outside_training_s": job_s - train_s,
        "outside_training_share": 1 - train_s / job_s,
        "startup_per_job_s": per_job_startup,
        "startup_s_estimate": startup_s,
        "startup_share_estimate": startup_s / job_s,
        "startup_measured": startup,
    }


def print_per_rule(workdir: Path, summary: dict) -> None:
    """The report's run time per rule (plus the report job itself), into ``summary["per_rule_s"]``."""
    from ppfer_core.report import read_benchmark

    runtime_csv = workdir / "results" / "report" / "runtime.csv"
    if not runtime_csv.exists():
        return
    import pandas as pd

    per_rule = pd.read_csv(runtime_csv)
    own = workdir / "benchmarks" / "report.tsv"
    if own.exists():
        times = {k: v for k, v in read_benchmark(own).items() if k in ("s", "cpu_time")}
        row = {"stage": "report", "rule": "report", "jobs": 1, **times}
        per_rule = pd.concat([per_rule, pd.DataFrame([row])], ignore_index=True)
    print(per_rule[["stage", "rule", "jobs", "s", "cpu_time", "max_rss_peak"]].to_string(index=False))
    summary["per_rule_s"] = dict(zip(per_rule["rule"], per_rule["s"].round(2)))


def print_summary(s: dict) -> None:
    wall, job_s, train_s, startup_s, jobs = (
        s["wall_s"],
        s["job_s_sum"],
        s["training_s"],
        s["startup_s_estimate"],
        s["jobs"],
    )
    print(f"\nconfig {s['config']}, {s['cores']} cores")
    print(f"wall time of the DAG:                 {wall:9.1f} s  ({jobs} jobs)")
    print(f"summed job time (benchmark s):        {job_s:9.1f} s  (parallelism {job_s / wall:.2f})")
    print(f"in training epochs (metric histories):{train_s:9.1f} s  ({s['training_epochs']} epochs)")
    print(
        f"outside training (start-up, I/O, inference, metrics): {job_s - train_s:.1f} s = "
        f"{100 * (1 - train_s / job_s):.1f}% of the summed job time"
    )
    print(
        f"  of which job start-up, estimated:   {startup_s:9.1f} s = {100 * startup_s / job_s:.1f}% "
        f"({jobs} jobs x {s['startup_per_job_s']:.2f} s: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in s["startup_measured"].items())
        + ")"
    )


def main() -> None:
    args = parse_args()
    configs = [str(ROOT / "config.yaml")] + [
        str(ROOT / c) for c in CONFIGS.get(args.config, [str(Path(args.config).resolve())])
    ]
    startup = startup_seconds()
    if args.analyse:
        workdir = args.analyse
        wall = args.wall if args.wall is not None else logged_wall_seconds(workdir)
    else:
        workdir, wall = run_dag(args, configs)
    summary = summarise(args, workdir, wall, startup)
    print_per_rule(workdir, summary)
    print_summary(summary)
    est = wall_estimate(workdir, configs, args.extra, args.cores, frozenset(args.free))
    if est:
        summary["estimated_wall_s"] = est
        print(
            f"estimated wall on {args.cores} cores from per-job cpu_time: {est['cpu_time']:9.1f} s "
            f"(from per-job wall s: {est['s']:.1f} s; summed cpu_time {summary['cpu_time_sum']:.1f} s)"
        )
        print(
            f"  jobs {est['jobs']:.0f}, CPU {est['cpu_sum']:.1f} s: the job's log line (or the sample, if larger) for "
            f"{est['cpu_logged_jobs']:.0f}, the rest Snakemake's sampled cpu_time (misses up to 30 s of a job's end)"
        )
        if "cpu_time_free" in est:
            print(f"  with {', '.join(args.free)} taking no time: {est['cpu_time_free']:9.1f} s")
    if args.json:
        summary.update(commit=code_commit(), machine=machine())
        args.json.write_text(json.dumps(summary, indent=2, default=float) + "\n")


def code_commit() -> str | None:
    """The commit of the code that ran (this checkout's HEAD, ``+dirty`` with uncommitted changes)."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return head.stdout.strip() + ("+dirty" if dirty else "")


def machine() -> str:
    """CPU model and core count of the machine that ran the DAG (for the results page)."""
    import os

    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores"


if __name__ == "__main__":
    main()
