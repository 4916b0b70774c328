"""Controlled privacy preservation (paper §3.2, Algorithm 1): privacy enhancers F_lpr / F_hpr
trained against frozen identity budget controllers C_lpr / C_hpr, then merged into G."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ppfer_core import wavelet
from ppfer_core.arrays import band_to_image, image_to_band

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


@torch.no_grad()
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
    into ``out`` [N, T, H, W, 3]. A ``None`` enhancer leaves its band unchanged."""
    level = len(highs)
    n, t = low.shape[:2]
    flat_low = low.reshape(n * t, *low.shape[2:])
    flat_highs = [h.reshape(n * t, *h.shape[2:]) for h in highs]
    dst = out.reshape(n * t, *out.shape[2:])
    for m in (enhancer_low, enhancer_high):
        if m is not None:
            m.to(device).eval()
    for start in range(0, n * t, batch):
        sl = slice(start, start + batch)
        lo = torch.from_numpy(np.ascontiguousarray(flat_low[sl])).to(device)
        if enhancer_low is not None:
            lo = image_to_band(enhancer_low(band_to_image(lo, "low", level)).float(), "low", level)
        hs = []
        for k, h in enumerate(flat_highs, start=1):
            hb = torch.from_numpy(np.ascontiguousarray(h[sl])).to(device)  # [B, 3, 3, h, w]
            if enhancer_high is not None:
                b = hb.shape[0]
                img = band_to_image(hb.flatten(0, 1), "high", k)
                hb = image_to_band(enhancer_high(img).float(), "high", k).unflatten(0, (b, 3))
            hs.append(hb)
        frames = wavelet.idwt(lo, hs, wavelet_name, size)
        dst[sl] = wavelet.to_uint8(frames).permute(0, 2, 3, 1).cpu().numpy()
    return out
