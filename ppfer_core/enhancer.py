"""Controlled privacy preservation (paper §3.2, Algorithm 1): privacy enhancers F_lpr / F_hpr
trained against frozen identity budget controllers C_lpr / C_hpr, then merged into G."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ppfer_core import wavelet
from ppfer_core.arrays import band_to_image, image_to_band
from ppfer_core.training import Player, Run, TrainResult, TrainSettings, fit, freeze

OBJECTIVES = ("ce", "entropy")


def l1_identity_loss(model: nn.Module) -> Callable:
    """L1 reconstruction of the input (identity-map pretraining of the U-Nets, as SPAct)."""

    def loss(batch):
        x = batch[0]
        return F.l1_loss(model(x).float(), x), {}

    return loss


def privacy_loss(enhancer: nn.Module, controller: nn.Module, objective: str, l1_weight: float) -> Callable:
    """Enhancer loss against a frozen identity controller on a batch (band image, identity).

    ``ce``: maximise the controller's identity cross-entropy (the paper); ``entropy``: minimise the
    cross-entropy to the uniform distribution (SPAct's privacy objective). ``l1_weight`` adds an L1
    anchor to the input. Metric ``controller_acc``: the controller's accuracy on the enhanced batch.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"enhancer objective {objective!r} not in {OBJECTIVES}")

    def loss(batch):
        x, y = batch[0], batch[1]
        out = enhancer(x)
        logits = controller(out).float()
        if objective == "ce":
            value = -F.cross_entropy(logits, y)
        else:
            value = -F.log_softmax(logits, dim=1).mean()
        if l1_weight > 0:
            value = value + l1_weight * F.l1_loss(out.float(), x)
        return value, {"controller_acc": (logits.argmax(1) == y).float().mean().item()}

    return loss


def budget_stop(budget: float | None) -> Callable[[dict[str, float]], str | None]:
    """Stop rule: end training once the controller's epoch accuracy is at or below the identity budget."""

    def stop(row: dict[str, float]) -> str | None:
        if budget is not None and row.get("controller_acc", 1.0) <= budget:
            return f"identity budget reached: controller accuracy {row['controller_acc']:.4f} <= {budget}"
        return None

    return stop


def apply_enhancers(
    low: torch.Tensor,
    highs: list[torch.Tensor],
    enhancer_low: nn.Module | None,
    enhancer_high: nn.Module | None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """F_lpr on the low band [B, 3, h, w] and F_hpr on every subband of every high band
    [B, 3, 3, h_k, w_k], in the coefficient domain (differentiable). ``None`` leaves a band as it is."""
    level = len(highs)
    if enhancer_low is not None:
        low = image_to_band(enhancer_low(band_to_image(low, "low", level)).float(), "low", level)
    out = []
    for k, hb in enumerate(highs, start=1):
        if enhancer_high is not None:
            img = band_to_image(hb.flatten(0, 1), "high", k)
            hb = image_to_band(enhancer_high(img).float(), "high", k).unflatten(0, (hb.shape[0], 3))
        out.append(hb)
    return low, out


def enhance_frames(
    frames: torch.Tensor,
    enhancer_low: nn.Module | None,
    enhancer_high: nn.Module | None,
    wavelet_name: str,
    level: int,
) -> torch.Tensor:
    """Transform, enhance both streams and inverse-transform float frames [B, 3, H, W] (differentiable)."""
    low, highs = wavelet.dwt(frames, wavelet_name, level)
    low, highs = apply_enhancers(low, highs, enhancer_low, enhancer_high)
    return wavelet.idwt(low, highs, wavelet_name, tuple(frames.shape[-2:])).clamp(0, 1)


def enhance_bands(
    enhancer_low: nn.Module | None,
    enhancer_high: nn.Module | None,
    low: np.ndarray,
    highs: list[np.ndarray],
    wavelet_name: str,
    size: tuple[int, int],
    out: np.ndarray,
    device: torch.device,
    batch: int = 64,
) -> np.ndarray:
    """G = inverse transform of F_lpr(low) and F_hpr(each high subband), written as uint8 clips
    into ``out`` [N, T, H, W, 3]: :meth:`ppfer_core.pipeline.PrivacyPipeline.enhance_bands` without a
    compensator. A ``None`` enhancer leaves its band unchanged."""
    from ppfer_core.pipeline import PrivacyPipeline

    pipeline = PrivacyPipeline(enhancer_low, enhancer_high, None, wavelet_name, len(highs), size, device)
    return pipeline.enhance_bands(low, highs, out, batch)


def joint_utility_loss(enhance: Callable[[torch.Tensor], torch.Tensor], utility: nn.Module) -> Callable:
    """Controller-free enhancement trained jointly with the utility model (ablation tasks 2 and 6):
    clips [B, 3, T, H, W] -> enhance every frame -> F_u -> expression cross-entropy."""

    def loss(batch):
        clips, e = batch[0], batch[1]
        b, c, t, h, w = clips.shape
        frames = clips.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        enhanced = enhance(frames).reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)
        logits = utility(enhanced).float()
        return F.cross_entropy(logits, e), {"acc": (logits.argmax(1) == e).float().mean().item()}

    return loss


def fit_enhancer(
    enhancer: nn.Module,
    controller: nn.Module,
    dataset: Dataset,
    settings: TrainSettings | Mapping[str, Any],
    objective: dict[str, Any],
    run: Run,
) -> TrainResult:
    """Algorithm 1 for one stream: train ``enhancer`` against the frozen ``controller`` with the
    configured objective {objective, l1_weight, identity_budget[, holdout]} and training ``settings``
    (:class:`TrainSettings` or its config entry; its weight decay does not apply).

    With an identity budget, ``holdout`` (default 0.1) of the training clips are held out and the
    stop is decided on the controller's accuracy on their enhanced images with the enhancer in eval
    mode (:mod:`ppfer_core.holdout`); without one, every training item is used and nothing stops early."""
    from ppfer_core.holdout import heldout_budget_stop, holdout_split

    s = TrainSettings.from_config(settings)
    freeze(controller.to(run.device))
    enhancer.to(run.device)
    opt = s.make_optimizer(enhancer.parameters())
    budget = objective["identity_budget"]
    stop = budget_stop(None)
    if budget is not None:
        dataset, held = holdout_split(dataset, objective.get("holdout", 0.1), run.seed)
        run.log(
            f"[{run.desc}] identity budget {budget}: {len(held)} held-out train items decide the stop, {len(dataset)} train"
        )
        stop = heldout_budget_stop(enhancer, controller, held, budget, run.device, s.batch_size, run.log)
    player = Player(
        "privacy",
        [enhancer],
        opt,
        privacy_loss(enhancer, controller, objective["objective"], objective["l1_weight"]),
    )
    return fit(
        [player], dataset, s, run, {"train": s.config(), "objective": objective, "desc": run.desc}, stop
    )
