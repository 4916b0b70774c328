"""Throughput of each training stage against its model's bare forward/backward on the same batch shape.

For every stage of the default config it builds the model exactly as the workflow does, then times
(a) the workflow's training path -- the stage's Dataset over a uint8 clip array of the config's
shape, ``make_loader`` and the one training loop ``ppfer_core.training.train`` -- and (b) the bare
step: forward, loss, backward and optimiser step on one batch already converted to float and held
in memory. It prints items per second of both and their ratio (the issue-13 goal: >= 0.8). The gap
is what data loading, uint8 -> float conversion, collation and the loop's bookkeeping cost.

Times are process CPU seconds (``time.process_time``) as well as wall seconds, with one torch thread
(as a CPU-policy job runs), so the ratio holds on a loaded machine where wall time does not.

``--dtype`` picks what the forward passes run in (config key ``cpu_dtype``: ``float32``, or ``bfloat16``
autocast as :func:`ppfer_core.training.train_autocast` does); ``both`` measures each stage in both and
prints the workflow path's items/s in fp32 and bf16 and their ratio (and the bare step's ratio): what
bf16 autocast buys per model family (issue 30, lever 3).

    python bench/train_throughput.py                      # default config, all stages
    python bench/train_throughput.py --stages utility expression --batches 20
    python bench/train_throughput.py --config config/tiny.yaml
    python bench/train_throughput.py --dtype both         # fp32 against bf16 autocast
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from snakemake.utils import update_config  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import Dataset  # noqa: E402

from ppfer_core import EMOTIONS  # noqa: E402
from ppfer_core.arrays import BandDataset, ClipDataset, FrameDataset, PairedFrameDataset  # noqa: E402
from ppfer_core.classifiers import cross_entropy_loss  # noqa: E402
from ppfer_core.compensator import compensation_loss  # noqa: E402
from ppfer_core.enhancer import l1_identity_loss  # noqa: E402
from ppfer_core.nets import UNet, build_image_classifier, build_video_classifier  # noqa: E402
from ppfer_core.registry import create_model  # noqa: E402
from ppfer_core.threat import recovery_loss  # noqa: E402
from ppfer_core.training import (  # noqa: E402
    Player,
    cpu_has_bf16,
    freeze,
    make_loader,
    optimizer,
    seed_everything,
    train,
    train_autocast,
)

CPU = torch.device("cpu")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class Stage:
    """One training: its model, the dataset the workflow trains it on, its loss and settings."""

    name: str
    model: nn.Module
    dataset: Dataset
    loss: Callable[[nn.Module], Callable]
    settings: dict


def merged_config(files: list[str]) -> dict:
    """config.yaml with the given files merged over it (nested keys)."""

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    for f in files:
        update_config(cfg, yaml.safe_load(Path(f).read_text()) or {})
    return cfg


def random_arrays(cfg: dict, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Random train clips (uint8), their expression and identity labels, low bands and wild clips of the config's shapes."""
    syn, ing = cfg["data"]["synthetic"], cfg["ingest"]
    n = int(syn["actors"] * len(EMOTIONS) * syn["clips_per_cell"] * (1 - ing["test_fraction"]))
    t, (h, w) = ing["frames"], ing["size"]
    clips = rng.integers(0, 256, (n, t, h, w, 3), dtype=np.uint8)
    emo = rng.integers(0, len(EMOTIONS), n)
    ident = rng.integers(0, syn["actors"], n)
    low = rng.normal(0, 1, (n, t, 3, h // 2, w // 2)).astype(np.float32)
    n_wild = int(syn["wild_clips_per_class"] * len(EMOTIONS) * 0.8)
    return clips, emo, ident, low, rng.integers(0, 256, (n_wild, t, h, w, 3), dtype=np.uint8)


def stages(cfg: dict) -> list[Stage]:
    """The default DAG's trainings, each with data of the shape the workflow gives it."""
    tr, models, n_actors = cfg["train"], cfg["models"], cfg["data"]["synthetic"]["actors"]
    rng = np.random.default_rng(0)
    clips, emo, ident, low, wild = random_arrays(cfg, rng)
    n_wild = len(wild)
    unet = dict(base_width=models["unet"]["base_width"], depth=models["unet"]["depth"])
    fu = models["utility"]
    ce = cross_entropy_loss
    return [
        Stage(
            "identity",
            build_image_classifier(models["identity"]["arch"], n_actors),
            FrameDataset(clips, ident),
            ce,
            tr["identity"],
        ),
        Stage(
            "controller",
            build_image_classifier(models["identity"]["arch"], n_actors),
            BandDataset(low, ident, "low", 1),
            ce,
            tr["controller"],
        ),
        Stage(
            "expression",
            build_image_classifier(
                models["expression"]["arch"], len(EMOTIONS), width=models["expression"].get("width")
            ),
            FrameDataset(wild, rng.integers(0, len(EMOTIONS), n_wild), per_clip=1),
            ce,
            tr["expression"],
        ),
        Stage(
            "utility",
            build_video_classifier(fu["arch"], len(EMOTIONS), None, width=fu["width"]),
            ClipDataset(clips, emo, augment=fu.get("augment", False)),
            ce,
            tr["utility"],
        ),
        Stage(
            "enhancer_pretrain",
            UNet(**unet),
            BandDataset(low, ident, "low", 1),
            l1_identity_loss,
            tr["enhancer_pretrain"],
        ),
        Stage(
            "recover",
            UNet(**unet),
            PairedFrameDataset(clips, emo, clips),
            recovery_loss,
            cfg["threat"]["recovery"],
        ),
        compensator_stage(cfg, PairedFrameDataset(clips, emo, clips)),
    ]


def compensator_stage(cfg: dict, frames: Dataset) -> Stage:
    """F_fc (U-ViT) against a frozen C_fc of the configured architecture (cross-entropy, as the workflow)."""
    expression = cfg["models"]["expression"]
    controller = freeze(
        build_image_classifier(expression["arch"], len(EMOTIONS), width=expression.get("width"))
    )
    return Stage(
        "compensator",
        create_model(
            "compensator", "uvit", settings=cfg["models"]["uvit"], img_size=cfg["ingest"]["size"][1]
        ),
        frames,
        lambda m: compensation_loss(m, controller, "ce"),
        cfg["train"]["compensator"],
    )


def workflow_rate(stage: Stage, batches: int, dtype: torch.dtype) -> tuple[float, float]:
    """Items per CPU second and per wall second of the workflow's training path for ``batches`` batches."""
    bs = stage.settings["batch_size"]
    opt = optimizer(stage.model.parameters(), stage.settings["optimizer"], stage.settings["lr"])
    loader = make_loader(stage.dataset, bs, True, 0, CPU, 0, items_per_epoch=bs * batches)
    player = Player(stage.name, [stage.model], opt, stage.loss(stage.model))
    items = len(loader.sampler)  # fewer than bs x batches when the dataset is smaller (one pass at most)
    c0, w0 = time.process_time(), time.perf_counter()
    train([player], loader, 1, CPU, 0, log=lambda _: None, desc=stage.name, cpu_dtype=dtype)
    return items / (time.process_time() - c0), items / (time.perf_counter() - w0)


def bare_rate(stage: Stage, batches: int, dtype: torch.dtype) -> tuple[float, float]:
    """Items per CPU second and per wall second of forward + loss + backward + step on one in-memory batch."""
    bs = stage.settings["batch_size"]
    items = [stage.dataset[i] for i in range(bs)]
    batch = [torch.stack([it[k] for it in items]) for k in range(len(items[0]))]
    opt = optimizer(stage.model.parameters(), stage.settings["optimizer"], stage.settings["lr"])
    loss_fn = stage.loss(stage.model)
    stage.model.train()
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(batches):
        opt.zero_grad(set_to_none=True)
        with train_autocast(CPU, dtype):
            loss, _ = loss_fn(batch)
        loss.float().backward()
        opt.step()
    return bs * batches / (time.process_time() - c0), bs * batches / (time.perf_counter() - w0)


def measure(st: Stage, batches: int, dtype: torch.dtype) -> tuple[float, float, float, float]:
    """Workflow and bare items/s (CPU time, wall time) of one stage in one dtype, after a warm-up."""
    bare_rate(st, 2, dtype)  # warm-up (allocator, oneDNN kernels of this dtype)
    wc, ww = workflow_rate(st, batches, dtype)
    bc, bw = bare_rate(st, batches, dtype)
    return wc, ww, bc, bw


def print_one(st: Stage, batches: int, dtype: torch.dtype) -> None:
    wc, ww, bc, bw = measure(st, batches, dtype)
    print(
        f"{st.name:<18}{st.settings['batch_size']:>6}{wc:>12.1f} ({ww:>7.1f}){bc:>12.1f} ({bw:>7.1f}){wc / bc:>8.2f}",
        flush=True,
    )


def print_both(st: Stage, batches: int) -> None:
    w32, _, b32, _ = measure(st, batches, torch.float32)
    w16, _, b16, _ = measure(st, batches, torch.bfloat16)
    print(
        f"{st.name:<18}{st.settings['batch_size']:>6}{w32:>12.1f}{w16:>12.1f}{w16 / w32:>9.2f}x{b16 / b32:>9.2f}x",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", nargs="*", default=[], help="YAML files merged over config.yaml")
    ap.add_argument("--stages", nargs="*", default=None, help="only these stages")
    ap.add_argument(
        "--batches", type=int, default=10, help="timed batches per measurement (after 2 warm-up batches)"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--dtype",
        choices=[*DTYPES, "both"],
        default="float32",
        help="forward passes in fp32 or bf16 autocast (config key cpu_dtype); both: the two and their ratio",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(0)  # as every job does (setup_job): also asks for deterministic kernels
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}, native bf16: {cpu_has_bf16()}; items/s in CPU time"
    )
    if args.dtype == "both":
        print(f"{'stage':<18}{'batch':>6}{'fp32':>12}{'bf16':>12}{'bf16/fp32':>10}{'bare':>10}")
    else:
        print(f"{args.dtype}; wall time in brackets")
        print(f"{'stage':<18}{'batch':>6}{'workflow items/s':>22}{'bare items/s':>22}{'ratio':>8}")
    for st in stages(merged_config(args.config)):
        if args.stages and st.name not in args.stages:
            continue
        if args.dtype == "both":
            print_both(st, args.batches)
        else:
            print_one(st, args.batches, DTYPES[args.dtype])


if __name__ == "__main__":
    main()
