"""Threat model (paper §4.5, Table 3) and an adaptive attacker (beyond the paper).

- Recovery attack: a white-box attacker who has a method's outputs on the training set and the
  original training frames trains a U-Net with L1 to map one to the other, frame by frame
  (:func:`fit_recovery`), then recovers the method's test outputs (:func:`recover_clips`). The
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
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ppfer_core.arrays import PairedFrameDataset, batches, map_frames
from ppfer_core.attacks import Convergence, frame_attack
from ppfer_core.training import Player, Run, TrainResult, TrainSettings, fit

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


def fit_recovery(
    model: nn.Module,
    outputs: np.ndarray,
    originals: np.ndarray,
    settings: TrainSettings | Mapping[str, Any],
    run: Run,
) -> TrainResult:
    """Train the recovery model (outputs -> originals, every frame, L1) with settings
    ``settings`` (:class:`TrainSettings` or its config entry)."""
    s = TrainSettings.from_config(settings)
    data = PairedFrameDataset(outputs, np.zeros(len(outputs), dtype=np.int64), originals)
    return fit(
        [Player("l1", [model], s.make_optimizer(model.parameters()), recovery_loss(model))],
        data,
        s,
        run,
        {"settings": s.config(), "desc": run.desc, "n": len(data)},
    )


def recover_clips(
    model: nn.Module, clips: np.ndarray, out: np.ndarray, device: torch.device, batch: int = 64
) -> np.ndarray:
    """Recovered uint8 clips of a method's outputs, written into ``out`` (e.g. a memory map)."""
    model.to(device).eval()
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
