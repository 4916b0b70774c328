"""Per face: crop, transform, paste back with a feathered mask; and the replacements used when a
face cannot be processed (``blur``, ``solid``, ``mosaic``) or a frame has no face.

The crop is the face box grown by the margin on every side and given the model's aspect ratio
(:func:`ppfer_core.faces.fit_box`), resized exactly as ingest resizes its face crops
(:func:`ppfer_core.ingest.fit_frame`, PIL bilinear with antialiasing), so the networks see what
they saw in training. The transformed crop is resized back to the region and blended in with a
mask that is 1 inside and ramps linearly to 0 over the outer ``feather`` fraction of the region.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ppfer_core.baselines import gaussian_blur
from ppfer_core.faces import fit_box
from ppfer_core.ingest import fit_frame

Box = tuple[float, float, float, float]
REPLACEMENTS = ("blur", "solid", "mosaic")
"""What replaces a face the method cannot process (deface's ``--replacewith`` choices)."""


def crop_region(box: Box, frame_hw: tuple[int, int], margin: float, size: tuple[int, int]) -> Box:
    """The region of the frame the model sees for a face ``box``: grown by ``margin``, model aspect, clamped."""
    return fit_box(box, frame_hw, margin, aspect=size[1] / size[0])


def crop(frame: np.ndarray, region: Box, size: tuple[int, int]) -> np.ndarray:
    """Crop ``region`` of the frame and resize it to ``size`` (H, W) as ingest does."""
    return fit_frame(frame, size, "face", region)


def pixel_bounds(region: Box, frame_hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """Whole pixels (x0, y0, x1, y1) covered by a region, inside the frame."""
    h, w = frame_hw
    x0, y0 = max(0, int(math.floor(region[0]))), max(0, int(math.floor(region[1])))
    x1, y1 = min(w, int(math.ceil(region[2]))), min(h, int(math.ceil(region[3])))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def feather_mask(h: int, w: int, feather: float) -> np.ndarray:
    """Float mask [h, w, 1]: 1 inside, linear ramp to 0 over the outer ``feather`` x size at every edge."""

    def ramp(n: int) -> np.ndarray:
        width = feather * n
        d = np.minimum(np.arange(n) + 0.5, n - np.arange(n) - 0.5)
        return np.ones(n) if width <= 0 else np.clip(d / width, 0.0, 1.0)

    return np.minimum.outer(ramp(h), ramp(w))[:, :, None].astype(np.float32)


def paste(frame: np.ndarray, patch: np.ndarray, region: Box, feather: float) -> None:
    """Resize ``patch`` (any size) to the region's pixels and blend it into ``frame`` in place."""
    from PIL import Image

    x0, y0, x1, y1 = pixel_bounds(region, frame.shape[:2])
    h, w = y1 - y0, x1 - x0
    if patch.shape[:2] != (h, w):
        patch = np.asarray(Image.fromarray(patch).resize((w, h), Image.Resampling.BILINEAR))
    mask = feather_mask(h, w, feather)
    dst = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(np.rint(dst + mask * (patch.astype(np.float32) - dst)), 0, 255).astype(
        np.uint8
    )


def replacement(kind: str, region_pixels: np.ndarray) -> np.ndarray:
    """A face region replaced: ``blur`` (Gaussian, std = 1/8 of the region's size), ``solid`` (black)
    or ``mosaic`` (8 x 8 blocks)."""
    h, w = region_pixels.shape[:2]
    if kind == "blur":
        return gaussian_blur(region_pixels, max(h, w) / 8.0)
    if kind == "solid":
        return np.zeros_like(region_pixels)
    if kind == "mosaic":
        from PIL import Image

        img = Image.fromarray(region_pixels)
        small = img.resize(
            (max(1, math.ceil(w / max(w, h) * 8)), max(1, math.ceil(h / max(w, h) * 8))), Image.Resampling.BOX
        )
        return np.asarray(small.resize((w, h), Image.Resampling.NEAREST))
    raise ValueError(f"unknown replacement {kind!r} ({', '.join(REPLACEMENTS)})")


def replace_region(frame: np.ndarray, region: Box, kind: str, feather: float) -> None:
    """Replace a region of ``frame`` in place by :func:`replacement`, feathered like a pasted face."""
    x0, y0, x1, y1 = pixel_bounds(region, frame.shape[:2])
    paste(frame, replacement(kind, frame[y0:y1, x0:x1]), region, feather)


def blur_frame(frame: np.ndarray) -> np.ndarray:
    """A whole frame blurred beyond recognition (std = 1/20 of its shorter side); for frames without a face."""
    return gaussian_blur(frame, min(frame.shape[:2]) / 20.0)


def down_up(size: tuple[int, int]) -> Callable[[np.ndarray], np.ndarray]:
    """Reference transform for the face-recogniser benchmark: crops are returned as they are, so the
    only change is the down-and-up resize to the model's crop size done by crop + paste."""

    def transform(crops: np.ndarray) -> np.ndarray:
        if crops.shape[1:3] != tuple(size):
            raise ValueError(f"crops must be {size}, got {crops.shape[1:3]}")
        return crops

    return transform
