"""The privacy pipeline: the method's one inference path (paper §3.2-3.3), shared by the DAG and the anonymiser.

wavelet split -> F_lpr on the low band, F_hpr on every high subband -> inverse transform -> uint8
quantisation (G is stored as uint8 clips) -> F_fc on G (C, the representation ``ours``).

:class:`PrivacyPipeline` is what rule ``merge_enhanced`` writes G with (:meth:`~PrivacyPipeline.enhance_bands`,
from the stored band arrays), what rule ``openset_apply_closed`` applies to the open split
(:meth:`~PrivacyPipeline.write`) and what a bundle method runs on face crops
(:meth:`~PrivacyPipeline.transform`), so the anonymiser cannot drift from the evaluated model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ppfer_core import wavelet
from ppfer_core.arrays import batches, frames_to_tensor, write_representation
from ppfer_core.enhancer import apply_enhancers
from ppfer_core.training import to_device

if TYPE_CHECKING:
    from ppfer_core.bundle import Bundle

__all__ = ["PrivacyPipeline"]


class PrivacyPipeline:
    """Enhancers -> inverse wavelet merge -> uint8 G -> compensator, on frames of side ``size``.

    ``None`` for an enhancer leaves its band unchanged; without a compensator the output is G.
    The networks are moved to ``device`` and put in eval mode."""

    def __init__(
        self,
        enhancer_low: nn.Module | None,
        enhancer_high: nn.Module | None,
        compensator: nn.Module | None,
        wavelet_name: str,
        level: int,
        size: tuple[int, int],
        device: torch.device | str = "cpu",
    ):
        self.device = torch.device(device)
        self.enhancer_low, self.enhancer_high, self.compensator = (
            None if m is None else to_device(m, self.device).eval()
            for m in (enhancer_low, enhancer_high, compensator)
        )
        self.wavelet_name, self.level, self.size = wavelet_name, int(level), (int(size[0]), int(size[1]))

    @classmethod
    def from_files(
        cls,
        unet: Mapping[str, Any],
        low: str | Path,
        high: str | Path,
        wavelet_cfg: Mapping[str, Any],
        size: Sequence[int],
        compensator: tuple[Mapping[str, Any], str | Path] | None = None,
        device: torch.device | str = "cpu",
    ) -> PrivacyPipeline:
        """The pipeline from the DAG's weight files: F_lpr / F_hpr checkpoints built with ``unet``
        (models.unet), the wavelet entry {name, level}, the frame ``size`` and optionally
        ``compensator`` = (models.uvit entry, F_fc checkpoint)."""
        from ppfer_core.registry import create_model

        nets = [create_model("unet", "unet", settings=unet, weights=f) for f in (low, high)]
        comp = None
        if compensator is not None:
            comp = create_model(
                "compensator", "uvit", settings=compensator[0], img_size=size[0], weights=compensator[1]
            )
        return cls(nets[0], nets[1], comp, wavelet_cfg["name"], wavelet_cfg["level"], tuple(size), device)

    @classmethod
    def from_bundle(
        cls, bundle: Bundle | str | Path, method: str | None = None, device: torch.device | str = "cpu"
    ) -> PrivacyPipeline:
        """The pipeline of one method of an anonymiser bundle (a loaded :class:`~ppfer_core.bundle.Bundle`
        or its file; default: the bundle's default method)."""
        from ppfer_core.bundle import load_bundle

        if not hasattr(bundle, "method"):
            bundle = load_bundle(bundle)
        return bundle.method(method, device).pipeline

    # ------------------------------------------------------------------ the chain on float frames

    def _merge(self, low: torch.Tensor, highs: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        """Enhance the bands in the coefficient domain and inverse-transform (float, unclamped)."""
        low, highs = apply_enhancers(low, highs, self.enhancer_low, self.enhancer_high)
        return wavelet.idwt(low, highs, self.wavelet_name, size)

    @torch.no_grad()
    def enhance(self, x: torch.Tensor) -> torch.Tensor:
        """G of float frames ``[B, 3, H, W]`` in [0, 1]: float, quantised to the uint8 grid as the DAG stores it."""
        low, highs = wavelet.dwt(x.to(self.device), self.wavelet_name, self.level)
        return wavelet.to_uint8(self._merge(low, highs, tuple(x.shape[-2:]))).float() / 255.0

    @torch.no_grad()
    def compensate(self, g: torch.Tensor) -> torch.Tensor:
        """F_fc on float G frames (G itself without a compensator)."""
        return g if self.compensator is None else self.compensator(g).float()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """C = F_fc(G) of float frames ``[B, 3, H, W]`` in [0, 1], float in [0, 1] (not yet quantised)."""
        return self.compensate(self.enhance(x))

    # ------------------------------------------------------------------ arrays

    @torch.no_grad()
    def transform(self, frames: np.ndarray) -> np.ndarray:
        """uint8 frames ``[B, H, W, 3]`` of the pipeline's size -> uint8 C frames (G without a compensator)."""
        if frames.shape[1:3] != self.size:
            raise ValueError(f"frames must be {self.size[0]} x {self.size[1]}, got {frames.shape[1:3]}")
        out = wavelet.to_uint8(self(frames_to_tensor(frames)))
        return out.permute(0, 2, 3, 1).cpu().numpy()

    @torch.no_grad()
    def enhance_bands(
        self, low: np.ndarray, highs: list[np.ndarray], out: np.ndarray, batch: int = 64
    ) -> np.ndarray:
        """G of stored band arrays (:func:`ppfer_core.wavelet.clips_to_bands`: low ``[N, T, 3, h, w]``,
        highs ``[N, T, 3, 3, h_k, w_k]``) written as uint8 clips into ``out`` ``[N, T, H, W, 3]``."""
        n, t = low.shape[:2]
        flat_low = low.reshape(n * t, *low.shape[2:])
        flat_highs = [h.reshape(n * t, *h.shape[2:]) for h in highs]
        dst = out.reshape(n * t, *out.shape[2:])
        for sl in batches(n * t, batch):
            lo = torch.from_numpy(np.ascontiguousarray(flat_low[sl])).to(self.device)
            hs = [torch.from_numpy(np.ascontiguousarray(h[sl])).to(self.device) for h in flat_highs]
            dst[sl] = wavelet.to_uint8(self._merge(lo, hs, self.size)).permute(0, 2, 3, 1).cpu().numpy()
        return out

    def write(self, sources: list[np.ndarray], outputs: list[str]) -> None:
        """C of every frame of each uint8 clip array in ``sources``, written as the .npy ``outputs``."""
        write_representation(self, self.device, sources, outputs)
