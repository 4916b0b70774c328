"""The two enhancers as one module through the inverse wavelet transform, and the clips they train on.

:class:`JointEnhancer` maps a clip batch's wavelet bands (low ``[B, T, 3, h, w]``, high band k
``[B, T, 3, 3, h_k, w_k]``) to reconstructed frames ``[B, T, 3, H, W]`` in [0, 1]: F_lpr on the low band,
F_hpr on every high subband (:func:`ppfer_core.enhancer.apply_enhancers`), the inverse transform, and
optionally a frozen F_fc, all differentiable, so every adversary judges the frame the attack suite sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ppfer_core import wavelet
from ppfer_core.attacks import validation_split
from ppfer_core.enhancer import apply_enhancers
from ppfer_core.training import freeze


class JointEnhancer(nn.Module):
    """F_lpr and F_hpr (and a frozen F_fc when given) as one differentiable map from bands to frames."""

    def __init__(
        self,
        low: nn.Module,
        high: nn.Module,
        wavelet_name: str,
        size: tuple[int, int],
        compensator: nn.Module | None = None,
    ):
        super().__init__()
        self.low, self.high = low, high
        self.wavelet_name, self.size = wavelet_name, tuple(size)
        self.compensator = freeze(compensator) if compensator is not None else None

    def train(self, mode: bool = True) -> JointEnhancer:
        super().train(mode)
        if self.compensator is not None:
            self.compensator.eval()
        return self

    def frames(self, low: torch.Tensor, highs: list[torch.Tensor], enhance: bool = True) -> torch.Tensor:
        """Frames ``[B, T, 3, H, W]`` of bands with a leading (clip, frame) shape; ``enhance=False``: the input frames."""
        b, t = low.shape[:2]
        lo, hs = low.flatten(0, 1), [h.flatten(0, 1) for h in highs]
        if enhance:
            lo, hs = apply_enhancers(lo, hs, self.low, self.high)
        out = wavelet.idwt(lo, hs, self.wavelet_name, self.size).clamp(0, 1)
        if enhance and self.compensator is not None:
            out = self.compensator(out).float().clamp(0, 1)
        return out.unflatten(0, (b, t))

    def forward(self, low: torch.Tensor, *highs: torch.Tensor) -> torch.Tensor:
        return self.frames(low, list(highs))

    def enhancer_state(self) -> dict[str, torch.Tensor]:
        """The two enhancers' weights (F_fc is fixed and not part of a checkpoint)."""
        return {
            k: v.detach().clone() for k, v in self.state_dict().items() if not k.startswith("compensator.")
        }

    def load_enhancer_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load :meth:`enhancer_state`'s weights back, strictly: every key of each U-Net, nothing else."""
        parts = {"low": self.low, "high": self.high}
        stray = sorted(k for k in state if k.split(".", 1)[0] not in parts)
        if stray:
            raise ValueError(f"enhancer state has keys of no enhancer: {stray[:5]}")
        for name, net in parts.items():
            net.load_state_dict({k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(name + ".")})


@dataclass
class BandClips:
    """A split's wavelet bands (arrays or memory maps: low ``[N, T, 3, h, w]``, highs ``[N, T, 3, 3, h_k, w_k]``)
    and the identity of every clip."""

    low: np.ndarray
    highs: list[np.ndarray]
    ids: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ids)
        if len(self.low) != n or any(len(h) != n for h in self.highs):
            raise ValueError(
                f"band arrays hold {len(self.low)} / {[len(h) for h in self.highs]} clips, labels {n}"
            )

    def __len__(self) -> int:
        return len(self.ids)

    def take(
        self, rows: np.ndarray | list[int], device: torch.device
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """Bands and identities of clips ``rows`` as tensors on ``device``."""
        rows = np.sort(np.asarray(rows, dtype=np.int64))

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a[rows])).float().to(device)

        return t(self.low), [t(h) for h in self.highs], torch.as_tensor(self.ids[rows], device=device)

    def item(self, row: int) -> tuple[torch.Tensor, ...]:
        """One clip's bands and identity as CPU tensors (a dataset item)."""
        bands = [self.low[row], *(h[row] for h in self.highs)]
        return (
            *(
                torch.from_numpy(np.array(b, dtype=np.float32)) for b in bands
            ),  # a copy: memory maps are read-only
            torch.tensor(int(self.ids[row])),
        )


def holdout_clips(clips: BandClips, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the train split the enhancer trains on and rows held out for the fresh-attacker stop
    (``fraction`` of each identity's clips: :func:`ppfer_core.attacks.validation_split`)."""
    fit_rows, held = validation_split(clips.ids, fraction, seed)
    if len(held) == 0:
        raise ValueError(
            f"robust.stop.holdout {fraction}: no train clip held out (too few clips per identity)"
        )
    return fit_rows, held


class ClipBandDataset(Dataset):
    """Clips of :class:`BandClips` (rows ``rows``) as (low, high_1, ..., high_L, identity) items."""

    def __init__(self, clips: BandClips, rows: np.ndarray):
        self.clips, self.rows = clips, np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return self.clips.item(int(self.rows[i]))
