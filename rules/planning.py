"""Planning-time helpers of the workflow: what Snakemake computes when it parses the rules.

Standard library only (no numpy, torch or ppfer_core), so that Snakemake plans the workflow without the
library installed; rules/common.smk imports this module (Snakemake puts rules/ on the import path).

* the scheduling policy of the GPU rules (below);
* the representations the config asks for: the blur sweep (:func:`blur_sweep`) and the robust
  variants (:func:`robust_variants`, :func:`compensated_name`);
* the anonymiser's input videos (:func:`input_videos`);
* the planning-time checks: no method trained against the validator that scores it, every
  representation of the design produced by a rule;
* the stage (rule file) of every rule, for the report's run time.

Scheduling of the workflow's "GPU" rules (trainings and model inference, ``resources: **GPU``).
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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
    return dev.is_dir() and any(p.name[len("nvidia") :].isdigit() for p in dev.glob("nvidia[0-9]*"))


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


# ------------------------------------------------------------------------------ representations


def blur_sweep(fractions: Sequence[float], size: Sequence[int]) -> dict[str, float]:
    """The blur sweep at a frame size: representation name -> sigma in px, each sigma a fraction
    of the frame's shorter side (so the sweep scales with the frame: 0.0625 is 4 px at 64 px and
    7 px at 112 px), rounded to 0.01 px. Two fractions that round to one sigma are an error.
    Names as ppfer_core.baselines.blur_rep: ``blur-s2``, ``blur-s0.5``."""
    side = min(int(v) for v in size)
    sweep: dict[str, float] = {}
    for f in fractions:
        if not 0 < f < 1:
            raise ValueError(f"baselines.blur.sigmas: {f} is not a fraction of the frame side in (0, 1)")
        px = round(float(f) * side, 2)
        if f"blur-s{px:g}" in sweep:
            raise ValueError(
                f"baselines.blur.sigmas: {f} gives {px:g} px at {side} px, as another sigma does"
            )
        sweep[f"blur-s{px:g}"] = px
    return sweep


def robust_variants(robust: Mapping[str, Any]) -> dict[str, float]:
    """The robust representations G-robust* the config asks for -> their L1 anchor weight: ``G-robust``
    (robust.l1_weight, the Table 1 row) and, with robust.sweep.enabled, ``G-robust-l1w{w}`` per sweep weight."""
    weights = [robust["l1_weight"], *(robust["sweep"]["l1_weights"] if robust["sweep"]["enabled"] else [])]
    return {
        "G-robust" if float(w) == float(robust["l1_weight"]) else f"G-robust-l1w{w:g}": float(w)
        for w in weights
    }


def compensated_name(grep: str) -> str:
    """The feature-compensated representation of a robust G: G-robust... -> ours-robust..."""
    if not grep.startswith("G-robust"):
        raise ValueError(f"not a robust G representation: {grep!r}")
    return f"ours{grep[1:]}"


# ------------------------------------------------------------------------------ anonymiser inputs

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".flv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".3gp")
"""Video file extensions of the folder rule (the same as ppfer_core.anonymize.media's; a test checks)."""


def input_videos(folder: str | Path) -> dict[str, list[Path]]:
    """Videos directly inside ``folder`` (by extension) by name without extension, sorted; none when
    the folder does not exist. A name with more than one video is refused by :func:`the_video`."""
    folder = Path(folder)
    found: dict[str, list[Path]] = {}
    if folder.is_dir():
        for f in sorted(folder.iterdir()):
            if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS:
                found.setdefault(f.stem, []).append(f)
    return found


def the_video(folder: str | Path, name: str) -> Path:
    """The one video of ``folder`` named ``name`` (without extension); ValueError naming the folder otherwise."""
    found = input_videos(folder).get(name, [])
    if len(found) != 1:
        raise ValueError(
            f"{folder}: {len(found)} videos named {name}.* (need exactly one; extensions "
            f"{' '.join(VIDEO_EXTENSIONS)})"
        )
    return found[0]


# ------------------------------------------------------------------------------ wiring check
REPS_DIR = "/reps/"
ATTACKS = ("/reps/recovered-",)  # the recovery attack's outputs (Table 3) are not methods


def methods_trained_against(rules: Mapping[str, tuple[Sequence, Sequence]], validator: str) -> list[str]:
    """Rules that produce a method's representation (an output under ``results/reps/``, other than
    a recovery attack's) and take ``validator``'s weights as an input (as a controller, adversary
    or initialisation). ``rules``: rule name -> (inputs, outputs); input functions are skipped."""
    bad = []
    for name, (inputs, outputs) in rules.items():
        produces = any(REPS_DIR in str(o) and not any(a in str(o) for a in ATTACKS) for o in outputs)
        if produces and any(isinstance(i, str) and i == validator for i in inputs):
            bad.append(name)
    return sorted(bad)


def check_not_trained_against_validator(
    rules: Mapping[str, tuple[Sequence, Sequence]], validator: str
) -> None:
    """Raise naming every method that is trained against the validator that scores its PLR."""
    bad = methods_trained_against(rules, validator)
    if bad:
        raise ValueError(
            f"rules {', '.join(bad)} produce a representation from {validator}, the validator V_pl that scores "
            "their PLR: give them their own controller (e.g. one fine-tuned from V_pl, as train_controller)"
        )


def check_producers(representations: Mapping[str, Mapping[str, Any]], rules: Any) -> None:
    """Raise naming every representation of the design whose producer is no rule of the workflow
    (``rules``: Snakemake's ``rules`` namespace)."""
    bad = sorted(
        f"{rep} ({r['producer']})" for rep, r in representations.items() if not hasattr(rules, r["producer"])
    )
    if bad:
        raise ValueError(f"config/design.yaml: representations whose producer is no rule: {', '.join(bad)}")


def rule_stages(snakefile: str | Path) -> dict[str, str]:
    """Stage of every rule (for the report's run time per stage): the rules/*.smk file (or the
    Snakefile) it is defined in, read from the Snakefile's includes and the files' ``rule NAME:``
    lines, in include order, the Snakefile's own rules last."""
    snakefile = Path(snakefile)
    includes = re.findall(r'^include: "([^"]+)"', snakefile.read_text(), re.MULTILINE)
    stages = {}
    for f in [*(snakefile.parent / i for i in includes), snakefile]:
        for rule in re.findall(r"^(?:rule|checkpoint) (\w+):", f.read_text(), re.MULTILINE):
            stages[rule] = f.stem
    return stages
