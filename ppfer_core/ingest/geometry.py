"""Geometry of a clip's frames: the region kept (:func:`crop_box`), and the crop + resize of
frames (:func:`fit_frame`) and of points (:func:`fit_points`) through it.

Points (landmarks) are x, y in pixels with integer coordinates at pixel centres (pixel (0, 0)
covers [-0.5, 0.5]²), the same convention PIL's resize uses, so the centre of a W-wide frame is
x = (W - 1) / 2.
"""

from __future__ import annotations

import math

import numpy as np

CROPS = ("center", "none", "face")


def crop_box(
    h: int, w: int, size: tuple[int, int], crop: str, box: tuple[float, float, float, float] | None = None
) -> tuple[float, float, float, float]:
    """Region ``(left, top, width, height)`` of an ``h x w`` frame that is resized to ``size`` = (H, W).

    ``"center"``: the largest centred region with the target aspect ratio (sub-pixel exact);
    ``"none"``: the whole frame (aspect ratio not preserved);
    ``"face"``: ``box`` = (x0, y0, x1, y1), the clip's face box (:func:`ppfer_core.faces.clip_box`).
    """
    H, W = size
    if crop == "face":
        if box is None:
            raise ValueError('crop "face" needs the clip\'s face box')
        x0, y0, x1, y1 = (float(v) for v in box)
        return x0, y0, x1 - x0, y1 - y0
    if crop == "none":
        return 0.0, 0.0, float(w), float(h)
    if crop != "center":
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    cw = min(float(w), h * W / H)
    ch = min(float(h), w * H / W)
    return (w - cw) / 2, (h - ch) / 2, cw, ch


def fit_frame(
    frame: np.ndarray, size: tuple[int, int], crop: str, box: tuple[float, float, float, float] | None = None
) -> np.ndarray:
    """Crop (``"center"``, ``"none"`` or ``"face"`` with its ``box``, see :func:`crop_box`) and resize
    (antialiased, PIL bilinear) to ``size`` = (H, W).

    Returns uint8 RGB ``[H, W, 3]``; a grey frame is repeated over 3 channels, alpha dropped.
    """
    from PIL import Image

    a = np.asarray(frame)
    if a.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, got {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an [h, w, 3] frame, got shape {a.shape}")
    H, W = size
    h, w = a.shape[:2]
    left, top, cw, ch = crop_box(h, w, size, crop, box)
    if (h, w) == (H, W) and (cw, ch) == (w, h):
        return np.ascontiguousarray(a).copy()
    # hard crop to the whole pixels the region touches (nothing outside it bleeds in through the
    # filter), then resize the exact, possibly sub-pixel, region
    x0, y0 = int(math.floor(left + 1e-6)), int(math.floor(top + 1e-6))
    x1, y1 = min(w, int(math.ceil(left + cw - 1e-6))), min(h, int(math.ceil(top + ch - 1e-6)))
    img = Image.fromarray(np.ascontiguousarray(a[y0:y1, x0:x1]))
    box = (left - x0, top - y0, left - x0 + cw, top - y0 + ch)
    out = img.resize((W, H), Image.Resampling.BILINEAR, box=box)
    return np.asarray(out, dtype=np.uint8)


def fit_points(
    points: np.ndarray,
    frame_hw: tuple[int, int],
    size: tuple[int, int],
    crop: str,
    box: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Map x, y points (``[..., 2]``, pixel centres at integers) of an ``frame_hw`` frame through
    the same crop + resize as :func:`fit_frame`; returns float32."""
    h, w = frame_hw
    H, W = size
    left, top, cw, ch = crop_box(h, w, size, crop, box)
    p = np.asarray(points, dtype=np.float64)
    out = np.empty_like(p)
    out[..., 0] = (p[..., 0] - left + 0.5) * (W / cw) - 0.5
    out[..., 1] = (p[..., 1] - top + 0.5) * (H / ch) - 0.5
    return out.astype(np.float32)
