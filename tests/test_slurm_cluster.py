"""The tiny DAG through profiles/slurm on a real SLURM cluster, as a user submits it from the
repository root: jobs land in the profile's partitions (GPU rules on `gpu` with a GPU), the run
reaches Tables 1-4, and editing one stage's setting resubmits only that stage and its dependents.

Needs a cluster: .ci/slurm_cluster.sh starts a single-node one on this machine for the command it
runs (and exports SLURM_CONF):

    bash .ci/slurm_cluster.sh -- python -m pytest -q tests/test_slurm_cluster.py

Without SLURM_CONF and a reachable controller with partitions `cpu` and `gpu` the tests skip (so a
plain `python -m pytest` never submits jobs to whatever cluster its machine belongs to).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from workflow_facts import GPU_RULES

ROOT = Path(__file__).resolve().parents[1]
TEST_PROFILE = Path(__file__).resolve().parent / "slurm_test_cluster"
RUN_TIMEOUT = 2700  # seconds for one snakemake run through SLURM (timeout -s INT, then SIGKILL)
# The run's targets: the paper's Tables 1-4 (and everything they need). The open-set (Table 5) and
# federated (Table 6) stages run end to end in the plain test suite (tests/test_workflow.py); through
# SLURM they would add ~45 jobs at ~12 s of submission and start-up each, for no new scheduling case.
TARGETS = [f"results/tables/table{k}.csv" for k in (1, 2, 3, 4)]
NOT_IN_TARGETS = {
    "federated_utility",
    "federated_code_estimator",  # issue 27: Table 6's bottleneck row
    "estimate_codes_k",  # issue 27: the k-sweep's code estimator (config/bottleneck_sweep.yaml only)
    "train_embedder",
    "train_open_enhancers",
    "openset_apply_closed",
    "select_negatives",
    "open_attack",
    *(
        f"openset_closed_{s}"
        for s in ("identity", "controller", "pretrain", "enhancer", "merge", "compensator")
    ),
}
# Representations that are not compensators themselves but apply one (rules/openset.smk): they are
# re-evaluated when that compensator is retrained.
APPLIES_COMPENSATOR = {"open-ours-closed": "ours"}
# Upstream of the compensator: none of these may be resubmitted after editing its epochs.
UPSTREAM_OF_COMPENSATOR = {
    "generate_corpus",
    "generate_wild_corpus",
    "ingest_cremad",
    "ingest_dfew",
    "wavelet_split",
    "train_identity",
    "train_validator",
    "train_controller",
    "pretrain_enhancer",
    "train_enhancer",
    "merge_enhanced",
    "train_expression",
    "enhance_frames",
    "train_joint",
    "blur",
    "flow",
    "swap",
    "train_tradeoff",
    "train_robust",
}
# What a user of a 2-CPU cluster passes on top of the site profile: one CPU per job, small jobs.
SITE_OVERRIDES = [
    "--max-threads",
    "1",
    "--default-resources",
    "slurm_partition=cpu",
    "mem_mb=2000",
    "runtime=30",
]
SITE_CONFIG = "resources:\n  gpu_mem_mb: 2000\n  gpu_runtime: 30\n"  # GPU jobs' --mem / --time
# A checkout of the workflow as users run it from the repository root (a snapshot: the package too,
# imported from the working directory by snakemake and by every job).
WORKFLOW_FILES = (
    "Snakefile",
    "config.yaml",
    "config",
    "rules",
    "workflow_scripts",
    "schemas",
    "report",
    "envs",
    "profiles",
    "ppfer_core",
)


def _cluster_problem() -> str | None:
    if not os.environ.get("SLURM_CONF"):
        return (
            "no SLURM test cluster (SLURM_CONF unset); run: "
            "bash .ci/slurm_cluster.sh -- python -m pytest -q tests/test_slurm_cluster.py"
        )
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "SLURM client commands (sinfo, sbatch) not installed"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return 'SLURM executor plugin not installed (pip install -e ".[slurm]")'
    try:
        info = subprocess.run(["sinfo", "-h", "-o", "%R %a"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "sinfo timed out: SLURM controller not reachable"
    if info.returncode != 0:
        return f"sinfo failed: {info.stderr.strip()}"
    up = {line.split()[0] for line in info.stdout.splitlines() if line.endswith(" up")}
    if not {"cpu", "gpu"} <= up:
        return f"cluster lacks the profile's partitions cpu and gpu (up: {sorted(up)})"
    return None


_PROBLEM = _cluster_problem()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_PROBLEM is not None, reason=_PROBLEM or "")]


def _snakemake(work: Path, *configs: str, name: str, targets: list[str] = TARGETS) -> str:
    """One run through the profiles from the checkout `work`; returns its log (also kept as
    `work/<name>.out`), failing the test with the log's tail if the run fails."""
    cmd = [
        "timeout",
        "-s",
        "INT",
        "-k",
        "60",
        str(RUN_TIMEOUT),
        sys.executable,
        "-m",
        "snakemake",
        *targets,  # first: --configfile and the rest take several values
        "--profile",
        "profiles/slurm",
        "--profile",
        str(TEST_PROFILE),
        "--configfile",
        "config/tiny.yaml",
        *configs,
        *SITE_OVERRIDES,
    ]
    try:
        run = subprocess.run(
            cmd,
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=RUN_TIMEOUT + 120,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode(errors="replace")
        (work / f"{name}.out").write_text(out)
        pytest.fail(f"snakemake through SLURM still running after {RUN_TIMEOUT + 120} s:\n{out[-5000:]}")
    (work / f"{name}.out").write_text(run.stdout)
    if run.returncode != 0:
        failed = "".join(
            f"\n--- {p}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted((work / ".snakemake" / "slurm_logs").rglob("*.log"))
            if "Error" in p.read_text(errors="replace")
        )
        pytest.fail(f"snakemake exited {run.returncode}:\n{run.stdout[-6000:]}{failed[-6000:]}")
    return run.stdout


def _submitted(log: str) -> tuple[str, dict[str, tuple[str, str]]]:
    """The run's SLURM run ID (its jobs' job name) and SLURM job id -> (rule, wildcards) of every
    submission the executor plugin logged."""
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    jobs = {}
    for slurm_id, path in re.findall(
        r"has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.?$", log, re.M
    ):
        rule, wildcards = re.search(r"/rule_(\w+)/(?:([^/]+)/)?\d+\.log$", path).groups()
        jobs[slurm_id] = (rule, wildcards or "")
    return run_id, jobs


def _slurm_jobs(run_id: str) -> dict[str, dict[str, str]]:
    """SLURM's own record (scontrol) of the jobs of one run: job id -> fields (Partition, Comment,
    TresPerJob, JobState, ...). The test cluster keeps finished jobs for an hour (MinJobAge)."""
    out = subprocess.run(
        ["scontrol", "show", "job", "-o"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(re.findall(r"(\S+?)=(\S*)", line))
        if fields.get("JobName") == run_id:
            jobs[fields["JobId"]] = fields
    return jobs


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory):
    """A checkout of the workflow, run once through the SLURM profile on the tiny config."""
    work = tmp_path_factory.mktemp("slurm_checkout")
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, work / name)
    (work / "site.yaml").write_text(SITE_CONFIG)
    log = _snakemake(work, "site.yaml", name="first_run")
    return work, log


def test_tiny_dag_through_the_slurm_profile_yields_the_tables(slurm_run):
    work, log = slurm_run
    assert re.search(r"(\d+) of \1 steps \(100%\) done", log), log[-3000:]
    tables = work / "results" / "tables"
    t1 = pd.read_csv(tables / "table1.csv")
    assert list(t1.columns[:5]) == ["approach", "plr", "plr_vpl", "acc", "chance"]
    assert t1["approach"].iloc[0] == "No Privacy Preservation"
    assert {"Ours", "Ours (robust)"} <= set(t1["approach"]), list(t1["approach"])
    assert t1[["plr", "plr_vpl", "acc"]].notna().all().all() and t1["plr"].between(0, 100).all()
    t2 = pd.read_csv(tables / "table2.csv")
    assert list(t2.columns[:8]) == ["exp", "ANG", "DIS", "FEA", "HAP", "NEU", "SAD", "Avg"]
    assert list(t2["exp"][:2]) == ["NPP", "Ours"]
    t3 = pd.read_csv(tables / "table3.csv", keep_default_na=False)
    assert list(t3.columns[:6]) == ["approach", "ssim", "psnr", "plr", "plr_vpl", "plr_adaptive"]
    assert list(t3["approach"]) == [
        "Gaussian Blur 1",
        "Gaussian Blur 2",
        "Trade-off Framework",
        "Optical Flow",
        "Image Swapping",
        "Ours",
        "Ours (robust)",
        "Ours (bottleneck)",  # issue 27
    ]
    assert t3["plr"].between(0, 100).all() and t3["plr_adaptive"].between(0, 100).all()
    t4 = pd.read_csv(tables / "table4.csv")
    assert list(t4.columns[:11]) == [
        "task",
        "transform",
        "enhancers",
        "controller",
        "compensator",
        "compensator_controller",
        "plr",
        "plr_vpl",
        "acc",
        "acc_chance",
        "representation",
    ]
    assert {"plr_lo", "plr_hi", "plr_vpl_lo", "plr_vpl_hi", "acc_lo", "acc_hi", "mse_target"} <= set(
        t4.columns
    )
    # issue 26: every task through the attack suite (plr_worst chosen on validation), as Table 1
    assert {"plr_worst", "plr_worst_lo", "plr_worst_hi", "worst_attacker", "worst_status"} <= set(t4.columns)
    assert (
        t4["plr_worst"].between(0, 100).all()
        and t4["worst_status"].isin(["converged", "budget", "diverged"]).all()
    )
    # task 4: F_fc trained with MSE to the original frames (the MSE-to-G reading is not an experiment)
    assert [str(t) for t in t4["task"]] == [
        *("1", "2", "3", "4", "5", "6", "full"),
        *("bottleneck", "bottleneck without F_fc"),  # issue 27: the renders with and without F_fc
    ]
    assert list(t4.loc[t4["task"].astype(str) == "4", "representation"]) == ["G-fcmse"]
    assert t4[["plr", "acc"]].notna().all().all()


def test_every_job_ran_in_the_profiles_partition_gpu_rules_with_a_gpu(slurm_run):
    work, log = slurm_run
    run_id, submitted = _submitted(log)
    recorded = _slurm_jobs(run_id)
    rules = {rule for rule, _ in submitted.values()}
    assert GPU_RULES - NOT_IN_TARGETS <= rules, sorted(GPU_RULES - NOT_IN_TARGETS - rules)
    assert {
        "generate_corpus",
        "ingest_cremad",
        "wavelet_split",
        "attack_suite",  # every Table 1 rep is attacked: its leakage comes from the suite job
        "tables",
        "table3",
        "table4",
    } <= rules
    assert set(recorded) == set(submitted), "SLURM's jobs of this run differ from the plugin's submissions"
    for slurm_id, (rule, wildcards) in submitted.items():
        job = recorded[slurm_id]
        assert job["JobState"] == "COMPLETED", (rule, job["JobState"])
        assert job["Comment"] == (f"rule_{rule}_wildcards_{wildcards}" if wildcards else f"rule_{rule}")
        assert job["NumCPUs"] == "1", (rule, job["NumCPUs"])  # --max-threads 1
        if rule in GPU_RULES:
            assert job["Partition"] == "gpu", (rule, job["Partition"])
            assert job.get("TresPerJob") == "gres:gpu:1", (rule, job.get("TresPerJob"))  # --gpus=1
            assert job.get("CpusPerTres") == "gres:gpu:1", (rule, job.get("CpusPerTres"))  # --cpus-per-gpu=1
            assert job["MinMemoryNode"] == "2000M" and job["TimeLimit"] == "00:30:00", (
                rule
            )  # config resources
        else:
            assert job["Partition"] == "cpu", (rule, job["Partition"])
            assert "gpu" not in job.get("TresPerJob", "") + job.get("TresPerNode", ""), rule
    # keep-successful-logs (test profile): every job's SLURM log, under rule_<rule>/<wildcards>/
    logs = {p.stem for p in (work / ".snakemake" / "slurm_logs").rglob("*.log")}
    assert set(submitted) <= logs, sorted(set(submitted) - logs)


def test_editing_one_stage_resubmits_only_it_and_its_dependents(slurm_run):
    work, first_log = slurm_run
    _, first = _submitted(first_log)
    (work / "edit.yaml").write_text(
        "train:\n  compensator: {epochs: 2, batch_size: 32, lr: 0.001, optimizer: adam}\n"
    )
    log = _snakemake(work, "site.yaml", "edit.yaml", name="edit_run")
    run_id, submitted = _submitted(log)
    rules = [rule for rule, _ in submitted.values()]
    assert set(_slurm_jobs(run_id)) == set(submitted)
    assert not UPSTREAM_OF_COMPENSATOR & set(rules), sorted(UPSTREAM_OF_COMPENSATOR & set(rules))
    # every compensated representation (ours and the ablation tasks 1, 2, 4) is retrained ...
    compensators = sorted(w for rule, w in submitted.values() if rule == "train_compensator")
    assert compensators == sorted(w for rule, w in first.values() if rule == "train_compensator")
    assert "ours" in compensators
    # ... and only what reads them is re-evaluated: no representation that is not compensated
    compensated = set(compensators) | {
        rep for rep, comp in APPLIES_COMPENSATOR.items() if comp in compensators
    }
    for rule, wildcards in submitted.values():
        if rule in {"leakage", "utility", "recover", "attack_suite"}:
            assert wildcards.removeprefix("recovered-") in compensated, (rule, wildcards)
    assert {"tables", "table3", "table4"} <= set(rules)
    assert len(submitted) < len(first)
    tables = work / "results" / "tables"
    assert all(
        (tables / f"table{k}.csv").stat().st_mtime > (work / "edit.yaml").stat().st_mtime for k in (1, 3, 4)
    )
