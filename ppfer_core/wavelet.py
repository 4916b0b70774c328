"""High/low-frequency split of frames (paper §3.2) with ptwt, and its inverse.

Bands are kept in the coefficient domain (DESIGN §4): the approximation LL of the
last level is the low-frequency input, each detail subband (H, V, D) of each level is
a 3-channel image for the high-frequency enhancer. For the enhancers and controllers
the bands are mapped to image-like values around [0, 1] by :func:`low_to_image` /
:func:`high_to_image` and back by their inverses, so one architecture with one
initialisation serves both frequency streams.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import ptwt
import pywt
import torch


def dwt(frames: torch.Tensor, wavelet: str, level: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Split float frames [B, 3, H, W] into low [B, 3, h, w] and, per level from the finest,
    high [B, 3(subband H,V,D), 3, h_k, w_k]."""
    coeffs = ptwt.wavedec2(frames, pywt.Wavelet(wavelet), level=level, mode="reflect")
    low = coeffs[0]
    # ptwt orders details coarsest first; store finest first (level 1 = index 0).
    highs = [torch.stack(tuple(c), dim=1) for c in reversed(coeffs[1:])]
    return low, highs


def idwt(low: torch.Tensor, highs: list[torch.Tensor], wavelet: str, size: tuple[int, int]) -> torch.Tensor:
    """Invert :func:`dwt` and crop to the original frame size (H, W)."""
    details = [ptwt.WaveletDetailTuple2d(h[:, 0], h[:, 1], h[:, 2]) for h in reversed(highs)]
    frames = ptwt.waverec2([low, *details], pywt.Wavelet(wavelet))
    return frames[..., : size[0], : size[1]]


def low_to_image(low: torch.Tensor, level: int) -> torch.Tensor:
    """Scale approximation coefficients of an orthonormal 2-D DWT to pixel range (divide by 2**level)."""
    return low / (2.0**level)


def image_to_low(image: torch.Tensor, level: int) -> torch.Tensor:
    """Inverse of :func:`low_to_image`."""
    return image * (2.0**level)


def high_to_image(high: torch.Tensor, level_k: int) -> torch.Tensor:
    """Map detail coefficients of level k (1 = finest; |c| <= 2**k for Haar on pixels in [0, 1])
    to image values centred at 0.5."""
    return 0.5 + high / (2.0**level_k)


def image_to_high(image: torch.Tensor, level_k: int) -> torch.Tensor:
    """Inverse of :func:`high_to_image`."""
    return (image - 0.5) * (2.0**level_k)


Alloc = Callable[[str, tuple[int, ...]], np.ndarray]


def band_shapes(
    frame_size: tuple[int, int], wavelet: str, level: int
) -> tuple[tuple[int, ...], list[tuple[int, ...]]]:
    """Per-frame shapes of the low band [3, h, w] and of each level's high band [3, 3, h_k, w_k]."""
    low, highs = dwt(torch.zeros(1, 3, *frame_size), wavelet, level)
    return tuple(low.shape[1:]), [tuple(h.shape[1:]) for h in highs]


def clips_to_bands(
    clips: np.ndarray, wavelet: str, level: int, alloc: Alloc | None = None, batch: int = 64
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Wavelet-split uint8 clips [N, T, H, W, 3] into float32 band arrays
    low [N, T, 3, h, w] and highs[k] [N, T, 3, 3, h_k, w_k] (k = 0 is the finest level).

    ``alloc(name, shape)`` makes the output arrays ("low", "high_1", ...), e.g. memory maps
    on disk so that a large corpus streams through; by default they are in memory."""
    alloc = alloc or (lambda _name, shape: np.empty(shape, dtype=np.float32))
    n, t = clips.shape[:2]
    low_shape, high_shapes = band_shapes(clips.shape[2:4], wavelet, level)
    low_out = alloc("low", (n, t, *low_shape))
    high_outs = [alloc(f"high_{k + 1}", (n, t, *s)) for k, s in enumerate(high_shapes)]
    flat = clips.reshape(n * t, *clips.shape[2:])
    flat_low = low_out.reshape(n * t, *low_shape)
    flat_highs = [h.reshape(n * t, *s) for h, s in zip(high_outs, high_shapes)]
    for start in range(0, len(flat), batch):
        sl = slice(start, start + batch)
        frames = torch.from_numpy(np.ascontiguousarray(flat[sl])).permute(0, 3, 1, 2)
        low, hs = dwt(frames.float() / 255.0, wavelet, level)
        flat_low[sl] = low.numpy()
        for out, h in zip(flat_highs, hs):
            out[sl] = h.numpy()
    return low_out, high_outs


def bands_to_clips(
    low: np.ndarray, highs: list[np.ndarray], wavelet: str, size: tuple[int, int], batch: int = 64
) -> np.ndarray:
    """Invert band arrays from :func:`clips_to_bands` to uint8 clips [N, T, H, W, 3]."""
    n, t = low.shape[:2]
    out = np.empty((n * t, size[0], size[1], 3), dtype=np.uint8)
    flat_low = low.reshape(n * t, *low.shape[2:])
    flat_highs = [h.reshape(n * t, *h.shape[2:]) for h in highs]
    for start in range(0, n * t, batch):
        sl = slice(start, start + batch)
        frames = idwt(
            torch.from_numpy(np.ascontiguousarray(flat_low[sl])),
            [torch.from_numpy(np.ascontiguousarray(h[sl])) for h in flat_highs],
            wavelet,
            size,
        )
        out[sl] = to_uint8(frames).permute(0, 2, 3, 1).numpy()
    return out.reshape(n, t, size[0], size[1], 3)


def to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """Quantise float frames in [0, 1] to uint8 with rounding."""
    return (frames.clamp(0, 1) * 255.0).round().to(torch.uint8)
