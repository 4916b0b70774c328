"""Scheduling policy of the GPU rules (rules/planning.py) and what a local CPU-only plan gets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from workflow_facts import planning

cpu_threads, cuda_present, gpu_rule_policy = (
    planning.cpu_threads,
    planning.cuda_present,
    planning.gpu_rule_policy,
)

REPO = Path(__file__).resolve().parents[1]


def test_gpu_policy_with_cuda_takes_all_cores_and_one_gpu():
    for policy in (gpu_rule_policy("auto", 8, cuda=True), gpu_rule_policy("cuda", 8, cuda=False)):
        assert (policy.name, policy.threads, policy.gpu) == ("gpu", 8, 1)
    assert policy.resources(1000, 30) == {"gpu": 1, "mem_mb": 1000, "runtime": 30}


def test_cpu_policy_runs_trainings_side_by_side_without_gpu_units():
    policy = gpu_rule_policy("auto", 2, cuda=False)
    assert (policy.name, policy.threads, policy.gpu) == ("cpu", 1, 0)
    assert gpu_rule_policy("cpu", 16, cuda=True).gpu == 0  # device: cpu is honoured everywhere
    assert [cpu_threads(c) for c in (1, 2, 3, 4, 8, 64)] == [1, 1, 1, 2, 4, 4]
    with pytest.raises(ValueError, match="device"):
        gpu_rule_policy("tpu", 2)


def test_cuda_present_reads_the_driver_and_honours_cuda_visible_devices(tmp_path, monkeypatch):
    proc, dev = tmp_path / "gpus", tmp_path / "dev"
    proc.mkdir()
    dev.mkdir()
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert not cuda_present(proc, dev)
    (dev / "nvidiactl").touch()
    assert not cuda_present(proc, dev)  # the control node alone is not a GPU
    (proc / "0000:01:00.0").mkdir()
    assert cuda_present(proc, dev)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not cuda_present(proc, dev)


@pytest.mark.skipif(cuda_present(), reason="this host has a GPU: the plan uses the GPU policy")
def test_local_cpu_plan_gives_gpu_rules_one_thread_and_no_gpu_unit(tmp_path):
    """`snakemake -n --cores 2 --resources gpu=1` on a CPU-only host: trainings are 1-thread jobs without gpu."""
    plan = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "--configfile",
            str(REPO / "config.yaml"),
            "--directory",
            str(tmp_path),
            "-n",
            "--cores",
            "2",
            "--resources",
            "gpu=1",
            "--until",
            "train_identity",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    text = plan.stdout + plan.stderr
    assert plan.returncode == 0, text[-2000:]
    block = text[text.index("rule train_identity:") :]
    block = block[: block.index("Job stats")]
    assert "gpu=0" in block and "threads" not in block, block  # threads are printed only when > 1
