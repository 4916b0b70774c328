"""The training engine: one loop for every training in the workflow.

A training is a list of :class:`Player` s stepped in order on every batch. A supervised
training (classifiers, L1 pretraining, enhancers against a frozen controller, the
compensator) is one player; an adversarial minimax (trade-off framework) is several.
The loop seeds every epoch from (seed, epoch), writes a resumable state after every
epoch and resumes from it when rerun, so a preempted job ends with the same weights as
an uninterrupted one. Final weights are the caller's to write once :func:`train` returns.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler
from tqdm import tqdm

Batch = Sequence[torch.Tensor]
LossFn = Callable[[Batch], tuple[torch.Tensor, dict[str, float]]]


def select_device(prefer: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else CPU."""
    if prefer == "cpu" or (prefer == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) and ask for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def autocast(
    device: torch.device, cpu_dtype: torch.dtype = torch.float32
) -> contextlib.AbstractContextManager:
    """Inference precision: bf16 mixed precision on CUDA; on CPU fp32 (a no-op), or bf16 autocast where
    the caller passes ``cpu_dtype`` bfloat16 (an attacker scored in the dtype it trained in)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if cpu_dtype == torch.bfloat16:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


CPU_DTYPES = ("auto", "float32", "bfloat16")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU does bf16 arithmetic natively: torch's oneDNN has bf16 kernels and the CPU
    reports ``avx512_bf16`` or ``amx_bf16`` (Linux ``/proc/cpuinfo``; False where it cannot be read)."""
    if not torch.backends.mkldnn.is_available() or not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    try:
        flags = set(cpuinfo.read_text().split())
    except OSError:
        return False
    return any(f in flags for f in BF16_CPU_FLAGS)


def resolve_cpu_dtype(setting: str) -> torch.dtype:
    """The config key ``cpu_dtype`` as the dtype CPU trainings autocast to: ``float32``, ``bfloat16``,
    or ``auto`` (bfloat16 where :func:`cpu_has_bf16`, float32 otherwise)."""
    if setting not in CPU_DTYPES:
        raise ValueError(f"config key cpu_dtype must be one of {', '.join(CPU_DTYPES)}, got {setting!r}")
    if setting == "auto":
        return torch.bfloat16 if cpu_has_bf16() else torch.float32
    return getattr(torch, setting)


def train_autocast(
    device: torch.device, cpu_dtype: torch.dtype = torch.float32
) -> contextlib.AbstractContextManager:
    """Training precision of a forward + loss: bf16 autocast on CUDA (as :func:`autocast`); on CPU bf16
    autocast when ``cpu_dtype`` is bfloat16, else plain fp32. Weights and optimiser stay fp32 either way."""
    if device.type != "cuda" and cpu_dtype not in (torch.float32, torch.bfloat16):
        raise ValueError(f"cpu_dtype must be torch.float32 or torch.bfloat16, got {cpu_dtype}")
    return autocast(device, cpu_dtype)


def has_depthwise(module: nn.Module) -> bool:
    """Whether a model has depthwise convolutions (``groups`` equal to the input channels, more than one)."""
    return any(
        isinstance(m, (nn.Conv2d, nn.Conv3d)) and m.groups > 1 and m.groups == m.in_channels
        for m in module.modules()
    )


def cpu_dtype_for(modules: Sequence[nn.Module], cpu_dtype: torch.dtype) -> torch.dtype:
    """The CPU dtype a training of ``modules`` runs in: ``cpu_dtype``, except float32 for a model with depthwise
    convolutions, whose bf16 kernels on CPU are slower than fp32 (MobileNetV3-Small, the validator: 4.5 ms
    against 1.9 ms a 64-px frame trained in channels-last memory; bench/README.md, issue 30)."""
    if cpu_dtype == torch.bfloat16 and any(has_depthwise(m) for m in modules):
        return torch.float32
    return cpu_dtype


def train_dtype(device: torch.device, cpu_dtype: torch.dtype = torch.float32) -> str:
    """The name of the dtype :func:`train_autocast` trains in (what metric files record as ``train_dtype``)."""
    return "bfloat16" if device.type == "cuda" else str(cpu_dtype).removeprefix("torch.")


@torch.no_grad()
def channels_last(module: nn.Module) -> nn.Module:
    """Hold every 4-D parameter (2-D convolution weights) in channels-last memory and every 5-D one (3-D
    convolutions) in channels-last-3d, in place; other parameters and buffers keep their layout (a video
    model's 5-D normalisation buffers next to 2-D convolutions are why this is not ``module.to(memory_format=...)``).
    Only strides change, not values: convolutions then take oneDNN's channels-last kernels, on CPU 1.1-1.6x
    faster to train and 1.1-1.9x faster to apply (bench/README.md, issue 30)."""
    for p in module.parameters():
        if nn.parameter.is_lazy(p):  # a lazy module's weights take their shape at its first forward
            continue
        fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(p.dim())
        if fmt is not None and not p.is_contiguous(memory_format=fmt):
            p.data = p.data.contiguous(memory_format=fmt)
    return module


def to_device(module: nn.Module, device: torch.device) -> nn.Module:
    """Move a model to the device with its convolution weights in channels-last memory (:func:`channels_last`)."""
    return channels_last(module.to(device))


def freeze(module: nn.Module) -> nn.Module:
    """Put a module in eval mode with gradients off (controllers, validator)."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


@dataclass
class Player:
    """One trainable party: its modules, optimiser and the loss it minimises on a batch."""

    name: str
    modules: list[nn.Module]
    optimizer: torch.optim.Optimizer
    loss: LossFn
    scheduler: Any | None = None


@dataclass
class TrainResult:
    """What a training did: per-epoch metrics and why it stopped."""

    history: list[dict[str, float]] = field(default_factory=list)
    stopped: str = "completed"
    resumed_from: int = 0
    dtype: str = "float32"  # what the forward passes ran in (:func:`train_dtype`); metric files' train_dtype


@dataclass(frozen=True)
class TrainSettings:
    """One ``train.*`` entry of the config (schema ``$defs/training``): epochs, batch size, learning
    rate, optimiser name, weight decay and the random items drawn per epoch (None: every item).
    ``source`` keeps the entry as written, which is what resumable-state fingerprints hash."""

    epochs: int
    batch_size: int
    lr: float
    optimizer: str = "adam"
    weight_decay: float = 0.0
    items_per_epoch: int | None = None
    source: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | TrainSettings) -> TrainSettings:
        """Settings of a config entry (other keys of the entry, e.g. a trade-off's weights, are kept in ``source`` only)."""
        if isinstance(cfg, TrainSettings):
            return cfg
        known = {f.name for f in fields(cls)} - {"source"}
        return cls(**{k: v for k, v in cfg.items() if k in known}, source=dict(cfg))

    def config(self) -> dict[str, Any]:
        """The entry as written in the config (its fields when built directly)."""
        if self.source:
            return dict(self.source)
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "source"}

    def make_optimizer(self, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """The configured optimiser over ``params``, with the entry's weight decay (every training
        honours it; an entry without one gets none)."""
        return optimizer(params, self.optimizer, self.lr, self.weight_decay)

    def loader(self, dataset: Dataset, seed: int, device: torch.device, workers: int = 0) -> DataLoader:
        """A shuffled training loader of ``dataset`` with this batch size and items per epoch (:func:`make_loader`)."""
        return make_loader(dataset, self.batch_size, True, seed, device, workers, self.items_per_epoch)


@dataclass(frozen=True)
class Run:
    """Where and how one training runs: device, seed, resumable state file (None: not resumable),
    log function, label (progress bars, log lines, fingerprints), DataLoader worker processes and
    the dtype CPU forward passes autocast to (:func:`resolve_cpu_dtype` of config key ``cpu_dtype``)."""

    device: torch.device
    seed: int
    state_path: Path | None = None
    log: Callable[[str], None] = print
    desc: str = "train"
    workers: int = 0
    cpu_dtype: torch.dtype = torch.float32


def fit(
    players: list[Player],
    dataset: Dataset,
    settings: TrainSettings,
    run: Run,
    fingerprint: dict[str, Any],
    stop: Callable[[dict[str, float]], str | None] | None = None,
) -> TrainResult:
    """:func:`train` the players on a shuffled loader of ``dataset`` (:meth:`TrainSettings.loader`) for
    ``settings.epochs`` as ``run`` says; ``fingerprint``: the settings its resumable state belongs to."""
    loader = settings.loader(dataset, run.seed, run.device, run.workers)
    return train(
        players,
        loader,
        settings.epochs,
        run.device,
        run.seed,
        run.state_path,
        fingerprint,
        stop=stop,
        log=run.log,
        desc=run.desc,
        cpu_dtype=run.cpu_dtype,
    )


def fingerprint(settings: dict[str, Any]) -> str:
    """Stable hash of the settings a resumable state belongs to."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool,
    seed: int,
    device: torch.device,
    workers: int = 0,
    items_per_epoch: int | None = None,
) -> DataLoader:
    """DataLoader with a seeded generator (reseeded per epoch by :func:`train`) and pinned memory on CUDA.
    ``items_per_epoch`` draws that many random items (without replacement) per epoch instead of all.
    Workers are not persistent, so every epoch's worker RNG derives from the reseeded generator
    and a resumed training draws the same random frames as an uninterrupted one. A shuffled
    (training) loader whose last batch would hold a single item drops it: batch-norm cannot train
    on one item, and one item per epoch less changes nothing else."""
    gen = torch.Generator()
    gen.manual_seed(seed)
    sampler = None
    if items_per_epoch is not None and items_per_epoch < len(dataset):
        sampler = RandomSampler(dataset, num_samples=items_per_epoch, generator=gen)
    drawn = items_per_epoch if sampler is not None else len(dataset)
    drop_last = (shuffle or sampler is not None) and drawn > batch_size and drawn % batch_size == 1
    if sampler is not None:
        shuffle = False
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        sampler=sampler,
        generator=gen,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=drop_last,
    )


def train(
    players: list[Player],
    loader: DataLoader,
    epochs: int,
    device: torch.device,
    seed: int,
    state_path: Path | None = None,
    settings: dict[str, Any] | None = None,
    stop: Callable[[dict[str, float]], str | None] | None = None,
    log: Callable[[str], None] = print,
    desc: str = "train",
    cpu_dtype: torch.dtype = torch.float32,
) -> TrainResult:
    """Run ``epochs`` epochs; each batch steps every player in order (the one loop).

    ``state_path`` holds a resumable state (modules, optimisers, schedulers, epoch, history,
    RNG) written after every epoch and removed on completion; a state written under other
    ``settings`` is ignored. ``stop`` sees an epoch's metrics and returns a reason to stop early;
    a stop rule with ``state_dict`` / ``load_state_dict`` (e.g. :class:`ppfer_core.plateau.BestOnValidation`)
    has its state saved and resumed with the rest. Forward passes and losses run under
    :func:`train_autocast` (``cpu_dtype`` on CPU); the state belongs to that dtype too.
    """
    cpu_dtype = cpu_dtype_for([m for p in players for m in p.modules], cpu_dtype)
    dtype = train_dtype(device, cpu_dtype)
    fp = fingerprint({**(settings or {}), "train_dtype": dtype})
    for p in players:
        for m in p.modules:
            to_device(m, device)
    result = TrainResult(dtype=dtype)
    if state_path is not None and state_path.exists():
        if _resume(players, state_path, fp, epochs, result, log, desc, stop):
            return result
    for epoch in range(result.resumed_from, epochs):
        t0 = time.time()
        sums, count = _epoch(players, loader, device, seed, epoch, f"{desc} {epoch + 1}/{epochs}", cpu_dtype)
        row = {
            "epoch": epoch + 1,
            **{k: v / max(count, 1) for k, v in sums.items()},
            "seconds": time.time() - t0,
        }
        result.history.append(row)
        log(
            f"[{desc}] "
            + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        )
        reason = stop(row) if stop is not None else None
        if state_path is not None:
            _save_state(state_path, players, epoch, result.history, fp, reason, stop)
        if reason:
            result.stopped = reason
            log(f"[{desc}] stopped after epoch {epoch + 1}: {reason}")
            break
    return result


def _resume(
    players: list[Player],
    state_path: Path,
    fp: str,
    epochs: int,
    result: TrainResult,
    log: Callable[[str], None],
    desc: str,
    stop: Any = None,
) -> bool:
    """Load a resumable state written under the same settings into the players and ``result``
    (history, the epoch to resume from, why it stopped); ignore one of other settings. True when
    the state's training had stopped early (nothing left to run)."""
    state = torch.load(state_path, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != fp:
        log(f"[{desc}] ignoring state {state_path}: written under other settings")
        return False
    if hasattr(stop, "load_state_dict") and state.get("stop") is None:
        log(f"[{desc}] ignoring state {state_path}: it has no stop-rule state")
        return False
    for p, ps in zip(players, state["players"], strict=True):
        for m, ms in zip(p.modules, ps["modules"], strict=True):
            m.load_state_dict(ms)
        p.optimizer.load_state_dict(ps["optimizer"])
        if p.scheduler is not None and ps.get("scheduler") is not None:
            p.scheduler.load_state_dict(ps["scheduler"])
    if hasattr(stop, "load_state_dict"):
        stop.load_state_dict(state["stop"])
    result.history = state["history"]
    result.resumed_from = state["epoch"] + 1
    log(f"[{desc}] resumed from {state_path} at epoch {result.resumed_from}/{epochs}")
    if state.get("stopped"):
        result.stopped = state["stopped"]
        return True
    return False


def _epoch(
    players: list[Player],
    loader: DataLoader,
    device: torch.device,
    seed: int,
    epoch: int,
    desc: str,
    cpu_dtype: torch.dtype = torch.float32,
) -> tuple[dict[str, float], int]:
    """One epoch seeded from (seed, epoch): every batch steps every player in order, then the
    schedulers step. Returns the item-weighted sums of the losses and metrics and the item count."""
    torch.manual_seed(seed * 1000 + epoch)
    np.random.seed((seed * 1000 + epoch) % 2**32)
    random.seed(seed * 1000 + epoch)
    if isinstance(loader.generator, torch.Generator):
        loader.generator.manual_seed(seed * 1000 + epoch)
    sums: dict[str, float] = {}
    count = 0
    for batch in tqdm(loader, desc=desc, file=sys.stderr, leave=False, mininterval=5):
        batch = [b.to(device, non_blocking=True) for b in batch]
        n = int(batch[0].shape[0])
        for p in players:
            for m in p.modules:
                m.train()
            p.optimizer.zero_grad(set_to_none=True)
            with train_autocast(device, cpu_dtype):
                loss, metrics = p.loss(batch)
            loss.float().backward()
            p.optimizer.step()
            sums[f"{p.name}_loss"] = sums.get(f"{p.name}_loss", 0.0) + float(loss.detach()) * n
            for k, v in metrics.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
        count += n
    for p in players:
        if p.scheduler is not None:
            p.scheduler.step()
    return sums, count


def _save_state(
    path: Path,
    players: list[Player],
    epoch: int,
    history: list[dict],
    fp: str,
    stopped: str | None,
    stop: Any = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "fingerprint": fp,
        "epoch": epoch,
        "history": history,
        "stopped": stopped,
        "stop": stop.state_dict() if hasattr(stop, "state_dict") else None,
        "players": [
            {
                "modules": [m.state_dict() for m in p.modules],
                "optimizer": p.optimizer.state_dict(),
                "scheduler": p.scheduler.state_dict() if p.scheduler is not None else None,
            }
            for p in players
        ],
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def finish(state_path: Path | None) -> None:
    """Remove the resumable state once the final weights are written."""
    if state_path is not None and state_path.exists():
        state_path.unlink()


def optimizer(
    params: Iterable[torch.nn.Parameter], name: str, lr: float, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """Adam / AdamW / SGD by name (fused Adam when every parameter is on one device type, which is much faster on CPU)."""
    params = [p for p in params if p.requires_grad]
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r} (adam, adamw, sgd)")


def save_weights(model: nn.Module, path: str | Path) -> None:
    """Write final weights (a state_dict) atomically."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".tmp")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a PPFER checkpoint written by :func:`save_weights` into the same architecture (strict)."""
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model


@contextlib.contextmanager
def no_param_grads(*modules: nn.Module) -> Iterator[None]:
    """Build the graph without gradients for these modules' parameters (inputs still get gradients)."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)
