"""Threat model (paper §4.5, Table 3) and an adaptive attacker (beyond the paper).

- Recovery attack: a white-box attacker who has a method's outputs on the training set and the
  original training frames trains a U-Net with L1 to map one to the other, frame by frame, in full
  passes until the L1 of a validation slice of train plateaus (:func:`fit_recovery`), then recovers the method's test outputs (:func:`recover_clips`). The
  recovered frames are a representation ``recovered-{rep}`` scored by the usual PLR, and by
  :func:`frame_quality` (scikit-image SSIM and PSNR against the original test frames).
- Adaptive attacker (SPAct's protocol): an identity classifier fine-tuned from V_pl on the method's
  anonymised training frames and tested like the validator (one seeded random frame per test clip,
  and by voting over a clip's frames) on its anonymised test split (:func:`adaptive_leakage`), one
  member of the attack suite (:mod:`ppfer_core.attacks`).

Both train with :func:`ppfer_core.training.train` (the one loop).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ppfer_core.arrays import PairedFrameDataset, batches, frames_to_tensor, map_frames
from ppfer_core.attacks import Convergence, frame_attack
from ppfer_core.plateau import CONVERGED, BestOnValidation, FromConfig, Plateau
from ppfer_core.training import (
    Player,
    Run,
    TrainResult,
    TrainSettings,
    autocast,
    cpu_dtype_for,
    fit,
    to_device,
)

PSNR_CAP = 100.0
"""PSNR (dB) reported for a frame recovered exactly (scikit-image returns inf), so that means stay finite."""


# --------------------------------------------------------------------------------------------- metrics


def frame_ssim(recovered: np.ndarray, original: np.ndarray) -> float:
    """SSIM of one uint8 RGB frame [H, W, 3] against the original (scikit-image, 7x7 window, data range 255)."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(original, recovered, channel_axis=-1, data_range=255))


def frame_psnr(recovered: np.ndarray, original: np.ndarray) -> float:
    """PSNR (dB) of one uint8 frame against the original (scikit-image, data range 255), capped at :data:`PSNR_CAP`."""
    from skimage.metrics import peak_signal_noise_ratio

    if np.array_equal(recovered, original):
        return PSNR_CAP
    return float(min(peak_signal_noise_ratio(original, recovered, data_range=255), PSNR_CAP))


def frame_quality(recovered: np.ndarray, original: np.ndarray, chunk: int = 64) -> dict[str, float]:
    """Mean SSIM and PSNR over every frame of uint8 clips ``[N, T, H, W, 3]`` (or frames ``[N, H, W, 3]``)."""
    if recovered.shape != original.shape:
        raise ValueError(f"recovered and original differ in shape: {recovered.shape} vs {original.shape}")
    rec = recovered.reshape(-1, *recovered.shape[-3:])
    orig = original.reshape(-1, *original.shape[-3:])
    ssim, psnr = [], []
    for sl in batches(len(rec), chunk):
        r, o = np.asarray(rec[sl]), np.asarray(orig[sl])
        for a, b in zip(r, o):
            ssim.append(frame_ssim(a, b))
            psnr.append(frame_psnr(a, b))
    return {"ssim": float(np.mean(ssim)), "psnr": float(np.mean(psnr)), "frames": len(ssim)}


# --------------------------------------------------------------------------------------------- recovery attack


def recovery_loss(model: nn.Module) -> Callable:
    """L1 between the recovery of a method's frame and the original frame, on a batch (src, label, dst)."""

    def loss(batch):
        src, dst = batch[0], batch[2]
        return F.l1_loss(model(src).float(), dst), {}

    return loss


@dataclass(frozen=True)
class RecoveryStop(FromConfig):
    """When the recovery U-Net has converged (issue 26; ``threat.recovery``'s ``val_fraction``,
    ``patience``, ``min_delta``, ``lr_factor``, ``lr_patience``): ``val_fraction`` of the train clips
    are held out, and training (full passes over the other clips' frames) stops once their L1 has not
    fallen by more than ``min_delta`` (pixels in [0, 1]) for ``patience`` passes; the learning rate is
    reduced on its plateau and the best-validation weights are kept. ``frames``: a pass is every frame
    of every train clip (``all``) or one random frame per clip (``one``, T times cheaper)."""

    val_fraction: float = 0.1
    patience: int = 5
    min_delta: float = 1e-4
    lr_factor: float = 0.5
    lr_patience: int = 2
    frames: str = "all"

    ENTRY: ClassVar[str] = "threat.recovery"

    def __post_init__(self) -> None:
        if self.frames not in ("all", "one"):
            raise ValueError(f"threat.recovery.frames must be all or one, got {self.frames!r}")

    def plateau(self) -> Plateau:
        return Plateau(self.patience, self.min_delta, self.lr_factor, self.lr_patience)


def recovery_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train clip rows the U-Net fits and the validation rows held out: ``fraction`` of ``n`` (at least
    one when ``fraction`` > 0 and ``n`` > 1), chosen with ``seed``."""
    k = min(max(int(n * fraction), 1 if fraction > 0 else 0), n - 1) if n > 1 else 0
    val = np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))
    return np.setdiff1d(np.arange(n), val), val


@torch.no_grad()
def recovery_l1(
    model: nn.Module,
    outputs: np.ndarray,
    originals: np.ndarray,
    device: torch.device,
    cpu_dtype: torch.dtype = torch.float32,
) -> float:
    """Mean L1 (pixels in [0, 1]) of the model's recovery of every frame of ``outputs`` against ``originals``
    (the forward pass under :func:`~ppfer_core.training.autocast` with ``cpu_dtype``; the L1 in fp32)."""
    to_device(model, device).eval()
    src = outputs.reshape(-1, *outputs.shape[-3:])
    dst = originals.reshape(-1, *originals.shape[-3:])
    total = 0.0
    for sl in batches(len(src), 64):
        x, y = frames_to_tensor(src[sl]).to(device), frames_to_tensor(dst[sl]).to(device)
        with autocast(device, cpu_dtype):
            recovered = model(x)
        total += float((recovered.float() - y).abs().mean(dim=(1, 2, 3)).sum())
    return total / len(src)


@dataclass
class RecoveryRun:
    """The recovery U-Net's training: the loop's result and its record (status converged / budget,
    epochs, best validation L1 and its epoch, :meth:`ppfer_core.plateau.BestOnValidation.record`)."""

    result: TrainResult
    record: dict[str, Any]

    @property
    def history(self) -> list[dict[str, float]]:
        return self.result.history


def fit_recovery(
    model: nn.Module,
    outputs: np.ndarray,
    originals: np.ndarray,
    settings: TrainSettings | Mapping[str, Any],
    run: Run,
    stop: RecoveryStop | None = None,
) -> RecoveryRun:
    """Train the recovery model (outputs -> originals, every frame, L1) with ``settings``
    (:class:`TrainSettings` or its config entry; epochs: the cap) in full passes over the train clips
    minus a validation slice, until the slice's L1 plateaus (:class:`RecoveryStop`); the model ends
    with its best-validation weights."""
    s, stop = TrainSettings.from_config(settings), stop or RecoveryStop()
    fit_rows, val_rows = recovery_split(len(outputs), stop.val_fraction, run.seed)
    data = PairedFrameDataset(
        np.asarray(outputs[fit_rows]),
        np.zeros(len(fit_rows), dtype=np.int64),
        np.asarray(originals[fit_rows]),
        per_clip=stop.frames == "one",
    )
    if s.items_per_epoch is not None and s.items_per_epoch < len(data):
        raise ValueError(
            f"[{run.desc}] items_per_epoch {s.items_per_epoch} is less than one pass over the recovery's "
            f"{len(data)} train frames: its epochs are full passes (set threat.recovery.items_per_epoch: null)"
        )
    val_out, val_orig = np.asarray(outputs[val_rows]), np.asarray(originals[val_rows])
    dtype = cpu_dtype_for([model], run.cpu_dtype)  # validated in the dtype it trains in, as frame_attack

    def evaluate() -> dict[str, float] | None:
        return {"val_l1": recovery_l1(model, val_out, val_orig, run.device, dtype)} if len(val_rows) else None

    opt = s.make_optimizer(model.parameters())
    monitor = BestOnValidation(model, opt, evaluate, "val_l1", "min", stop.plateau(), log=run.log)
    fingerprint = {"settings": s.config(), "stop": asdict(stop), "desc": run.desc, "n": len(data)}
    result = fit([Player("l1", [model], opt, recovery_loss(model))], data, s, run, fingerprint, monitor)
    monitor.restore_best()
    record = {
        **monitor.record(result.stopped, len(result.history)),
        "train_clips": len(fit_rows),
        "val_clips": len(val_rows),
        "train_dtype": result.dtype,
    }
    if record["status"] != CONVERGED:
        run.log(f"[{run.desc}] WARNING: {record['stopped']} before the L1 plateau: status {record['status']}")
    return RecoveryRun(result, record)


def recover_clips(
    model: nn.Module, clips: np.ndarray, out: np.ndarray, device: torch.device, batch: int = 64
) -> np.ndarray:
    """Recovered uint8 clips of a method's outputs, written into ``out`` (e.g. a memory map)."""
    to_device(model, device).eval()
    return map_frames(lambda x: model(x.to(device)).float(), clips, out, batch)


# --------------------------------------------------------------------------------------------- adaptive attacker


def adaptive_leakage(
    model: nn.Module,
    train_clips: np.ndarray,
    train_identities: np.ndarray,
    test_clips: np.ndarray,
    test_identities: np.ndarray,
    n_identities: int,
    settings: TrainSettings | Mapping[str, Any],
    run: Run,
    leakage_seed: int,
    convergence: Convergence | None = None,
) -> dict[str, Any]:
    """Train an identity classifier (e.g. started from V_pl's weights) on every flipped / shifted frame
    of a method's anonymised train clips until it converges (:func:`ppfer_core.attacks.frame_attack`),
    then score it on the anonymised test clips on V_pl's random frame per clip (``plr``, percent) and by
    voting over all frames (``plr_vote``). Returns the metrics with the attacker's training record."""
    m = frame_attack(
        model,
        train_clips,
        train_identities,
        test_clips,
        test_identities,
        settings,
        convergence or Convergence(),
        run,
        leakage_seed,
    )
    m["chance"], m["n_identities"] = 100.0 / n_identities, int(n_identities)
    return m
