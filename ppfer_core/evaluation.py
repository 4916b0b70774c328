"""The one evaluation path every representation flows through (paper §3.4, §3.5):
privacy leakage validation V_pl -> PLR, utility task F_u -> ACC and per-class accuracy."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ppfer_core.arrays import batches, frames_to_tensor
from ppfer_core.training import autocast


def leakage_frames(n_clips: int, n_frames: int, seed: int) -> np.ndarray:
    """The seeded random frame of each test clip that the validator sees."""
    return np.random.default_rng(seed).integers(0, n_frames, size=n_clips)


@torch.no_grad()
def privacy_leakage(
    validator: nn.Module,
    clips: np.ndarray,
    identities: np.ndarray,
    n_identities: int,
    seed: int,
    device: torch.device,
    batch: int = 64,
) -> dict[str, float]:
    """PLR: the validator's identity accuracy on one seeded random frame per clip (percent), with chance,
    and ``hits`` (1 per clip re-identified, in the clips' order: the test index rows' order), for the
    actor-clustered intervals and paired tests of the tables."""
    frames = leakage_frames(len(clips), clips.shape[1], seed)
    validator.to(device).eval()
    preds = []
    for sl in batches(len(clips), batch):
        idx = np.arange(len(clips))[sl]
        x = frames_to_tensor(np.stack([clips[i, frames[i]] for i in idx])).to(device)
        with autocast(device):
            preds.append(validator(x).argmax(1).cpu().numpy())
    pred = np.concatenate(preds)
    correct = int((pred == identities).sum())
    return {
        "plr": 100.0 * correct / len(clips),
        "chance": 100.0 / n_identities,
        "correct": correct,
        "n": int(len(clips)),
        "n_identities": int(n_identities),
        "hits": (pred == identities).astype(int).tolist(),
    }
