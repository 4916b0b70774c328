"""How the workflow's "GPU" rules (trainings and model inference, ``resources: **GPU``) are scheduled.

Two policies, chosen once when the Snakefile is parsed (no torch import, so planning stays fast):

* **GPU policy** -- a CUDA device is visible on the host that parses the Snakefile, or config
  ``device`` is ``cuda``: every such job takes all of ``--cores`` and one unit of the resource
  ``gpu``, so that ``--resources gpu=1`` runs them one at a time on the one GPU while CPU rules run
  beside them.
* **CPU policy** -- no CUDA device (or config ``device: cpu``): the models run on the CPU, where a
  small convolutional network scales badly beyond one or two threads. Each job takes
  ``cpu_threads(cores)`` threads and *no* ``gpu`` unit, so two 1-thread jobs run side by side on a
  2-core machine instead of one 2-thread job at a time, and ``--resources gpu=1`` (the README's
  command, the local profile) does not serialise them.

On a cluster the submitting host rarely has a GPU, and Snakemake does not tell the Snakefile which
executor runs it; so the SLURM profile (profiles/slurm) sets ``gpu: 1`` and the threads of every
GPU rule itself (``set-resources`` / ``set-threads`` override the rule's own values).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GpuRulePolicy:
    """Threads and ``gpu`` units of one GPU-rule job under the chosen policy."""

    name: str  # "gpu" | "cpu"
    threads: int
    gpu: int

    def resources(self, mem_mb: int, runtime: int) -> dict[str, int]:
        """The rule's ``resources:`` (gpu units, host memory, wall-clock limit)."""
        return {"gpu": self.gpu, "mem_mb": mem_mb, "runtime": runtime}


def cuda_present(proc: Path = Path("/proc/driver/nvidia/gpus"), dev: Path = Path("/dev")) -> bool:
    """Whether this host shows an NVIDIA GPU that CUDA may use, without importing torch:
    the driver's GPU list (or a ``/dev/nvidia<N>`` node), unless ``CUDA_VISIBLE_DEVICES`` hides them all."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if proc.is_dir() and any(proc.iterdir()):
        return True
    return dev.is_dir() and any(p.name[len("nvidia"):].isdigit() for p in dev.glob("nvidia[0-9]*"))


def cpu_threads(cores: int) -> int:
    """Threads of one CPU-policy job: half the cores (at least 1, at most 4), so that at least two
    trainings run side by side; small CPU models gain little from more threads per job."""
    return max(1, min(4, int(cores) // 2))


def gpu_rule_policy(device: str, cores: int, cuda: bool | None = None) -> GpuRulePolicy:
    """The policy for config ``device`` (auto | cpu | cuda) and ``--cores``; ``cuda``: whether a GPU
    is visible (None: look with :func:`cuda_present`)."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"config key device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" or (device == "auto" and (cuda_present() if cuda is None else cuda)):
        return GpuRulePolicy("gpu", max(1, int(cores)), 1)
    return GpuRulePolicy("cpu", cpu_threads(cores), 0)
