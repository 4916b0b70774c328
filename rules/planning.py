"""Planning-time helpers of the workflow: what Snakemake computes when it parses the rules.

Standard library only (no numpy, pandas or torch; of ppfer_core only its standard-library modules
design and suite), so that Snakemake plans the workflow without the heavy dependencies; rules/common.smk
imports this module (Snakemake puts rules/ on the import path). The run's plan itself (representations,
table rows, final outputs) is :mod:`ppfer_core.design`.

* the scheduling policy of the GPU rules (below);
* the GPU rules (:func:`gpu_rules`: every rule that declares ``resources: **GPU``) and the SLURM
  profile's entries for them (:func:`slurm_gpu_entries`);
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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the representations the config makes (blur sweep, robust variants) are the plan's (ppfer_core.design,
# standard library only); named here too for the rule files and tests that read them from planning
from ppfer_core.design import (  # noqa: F401
    RobustPoint,
    blur_sweep,
    bottleneck_points,
    compensated_name,
    robust_variants,
)


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


METRICS_DIR = "results/metrics/"


def _strings(value: Any) -> Iterator[str]:
    """Every string in ``value`` (nested mappings, lists and tuples; callables and numbers skipped)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def readers_beyond_metrics(rules: Mapping[str, tuple[Sequence, Sequence]], path: str) -> list[str]:
    """Rules that read ``path`` (``rules``: rule name -> (inputs and params, outputs); a string anywhere
    in them, nested mappings and lists included) and write anything outside results/metrics/ (a
    representation, a model, codes: something a representation could be made from)."""
    return sorted(
        name
        for name, (reads, outputs) in rules.items()
        if path in _strings(list(reads)) and any(not str(o).startswith(METRICS_DIR) for o in outputs)
    )


def check_metrics_only_readers(
    rules: Mapping[str, tuple[Sequence, Sequence]], path: str, exempt: Mapping[str, str] | None = None
) -> None:
    """Raise naming every rule that reads ``path`` and writes more than metrics
    (:func:`readers_beyond_metrics`), but those ``exempt`` names (rule -> why): e.g. the test clips'
    true landmarks, which may score an estimator but never reach a representation (issue 27)."""
    if bad := [r for r in readers_beyond_metrics(rules, path) if r not in (exempt or {})]:
        raise ValueError(
            f"rules {', '.join(bad)} read {path} and write more than metrics ({METRICS_DIR}): the test "
            "clips' ground truth may score a method, never feed one"
        )


def check_producers(representations: Mapping[str, Any], rules: Any) -> None:
    """Raise naming every representation of the plan (name -> ppfer_core.design.Representation, or
    a mapping with a ``producer``) whose producer is no rule of the workflow (``rules``: Snakemake's
    ``rules`` namespace)."""

    def producer(r: Any) -> str:
        return r["producer"] if isinstance(r, Mapping) else r.producer

    bad = sorted(
        f"{rep} ({producer(r)})" for rep, r in representations.items() if not hasattr(rules, producer(r))
    )
    if bad:
        raise ValueError(f"config/design.yaml: representations whose producer is no rule: {', '.join(bad)}")


RULE_HEAD = re.compile(r"^(?:rule|checkpoint) (\w+):|^use rule (\w+) as (\w+)(?: with:)?", re.MULTILINE)


def workflow_files(snakefile: str | Path) -> list[Path]:
    """The Snakefile's includes in include order, then the Snakefile itself."""
    snakefile = Path(snakefile)
    includes = re.findall(r'^include: "([^"]+)"', snakefile.read_text(), re.MULTILINE)
    return [*(snakefile.parent / i for i in includes), snakefile]


def rule_blocks(files: Sequence[str | Path]) -> dict[str, tuple[str, str]]:
    """Every rule's stage (the file it is defined in, without suffix) and the text of its block, read
    from ``files`` in order (:func:`workflow_files`). A rule derived by ``use rule A as B with:`` gets
    its own block (what it overrides) followed by A's (what it inherits): the first match of a
    directive in the text is the one that applies."""
    blocks: dict[str, tuple[str, str]] = {}
    for f in map(Path, files):
        text = f.read_text()
        heads = list(RULE_HEAD.finditer(text))
        ends = [h.start() for h in heads[1:]] + [len(text)]
        for head, end in zip(heads, ends):  # a file without rules: no block
            body = text[head.start() : end]
            name, base, derived = head.groups()
            if name:
                blocks[name] = (f.stem, body)
            elif base in blocks:
                blocks[derived] = (f.stem, body + blocks[base][1])
            else:
                raise ValueError(
                    f"{f.name}: use rule {base} as {derived}: {base} is defined after it or nowhere"
                )
    return blocks


def rule_stages(snakefile: str | Path) -> dict[str, str]:
    """Stage of every rule (for the report's run time per stage): the rules/*.smk file (or the
    Snakefile) it is defined in (:func:`rule_blocks`)."""
    return {rule: stage for rule, (stage, _) in rule_blocks(workflow_files(snakefile)).items()}


# ------------------------------------------------------------------------------ GPU rules
GPU_DECLARATION = "**GPU,"  # a GPU rule's one declaration: `resources: **GPU` (rules/common.smk)


def gpu_rules(snakefile: str | Path) -> list[str]:
    """The GPU rules, in include order: every rule whose block declares ``resources: **GPU`` (or
    inherits it: :func:`rule_blocks`). The one list of GPU rules: the SLURM profile
    (:func:`slurm_gpu_entries`) and the tests derive theirs from it."""
    gpu = re.compile(r"^\s+resources:\s*\n\s+" + re.escape(GPU_DECLARATION), re.MULTILINE)
    blocks = rule_blocks(workflow_files(snakefile))
    return [rule for rule, (_, block) in blocks.items() if gpu.search(block)]


SLURM_GPU_RESOURCES = {"slurm_partition": "gpu", "gpu": 1, "cpus_per_gpu": "threads"}
"""A GPU rule's ``set-resources`` entry in profiles/slurm (partition, one GPU, its threads per GPU)."""
SLURM_GPU_THREADS = 8  # a GPU rule's ``set-threads`` in profiles/slurm: DataLoader workers + main process


def slurm_gpu_entries(rules: Sequence[str]) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """The SLURM profile's ``set-threads`` and ``set-resources`` entries of the GPU rules ``rules``."""
    return {r: SLURM_GPU_THREADS for r in rules}, {r: dict(SLURM_GPU_RESOURCES) for r in rules}


def _entry(rule: str, value: Any) -> str:
    if isinstance(value, Mapping):
        value = "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return f"  {rule}: {value}"


def sync_slurm_profile(text: str, rules: Sequence[str]) -> str:
    """The SLURM profile's text with a ``set-threads`` and a ``set-resources`` line for every GPU rule
    of ``rules`` that has none (appended to its block), and without the ``set-resources`` lines of rules
    that are no GPU rule; every other line (comments, a rule's own overrides) kept as it is."""
    threads, resources = slurm_gpu_entries(rules)
    lines, out, block = text.splitlines(), [], None
    for i, line in enumerate(lines):
        top = re.match(r"^([\w-]+):", line)
        block = top.group(1) if top else block
        entry = re.match(r"^  (\w+):", line)
        if block == "set-resources" and entry and entry.group(1) not in resources:
            continue
        out.append(line)
        ends = i + 1 == len(lines) or not lines[i + 1].startswith("  ")
        if block in ("set-threads", "set-resources") and ends:
            wanted = threads if block == "set-threads" else resources
            section = "\n".join(out[max(i for i, x in enumerate(out) if x.startswith(f"{block}:")) :])
            present = set(re.findall(r"^  (\w+):", section, re.MULTILINE))
            out += [_entry(r, v) for r, v in wanted.items() if r not in present]
    return "\n".join(out) + "\n"


if __name__ == "__main__":  # python rules/planning.py: write profiles/slurm's lines of the GPU rules
    root = Path(__file__).resolve().parents[1]
    profile = root / "profiles" / "slurm" / "config.yaml"
    profile.write_text(sync_slurm_profile(profile.read_text(), gpu_rules(root / "Snakefile")))
    print(f"{profile}: set-threads / set-resources of {len(gpu_rules(root / 'Snakefile'))} GPU rules")
