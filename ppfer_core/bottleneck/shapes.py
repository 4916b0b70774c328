"""68-point shapes: similarity-Procrustes alignment to a canonical frame, and landmark errors.

Shapes are float arrays ``[..., 68, 2]`` of (x, y) in pixels; the canonical frame is a reference
shape centred at the origin with unit RMS radius (:func:`normalise`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_POINTS = 68
OUTER_EYE_CORNERS = (36, 45)
"""iBUG/dlib indices of the outer eye corners: the inter-ocular distance."""


@dataclass(frozen=True)
class Similarity:
    """x_canonical = scale * (x - centre) @ rotation.T, per shape (arrays with the shapes' batch axes)."""

    centre: np.ndarray  # [..., 2]
    rotation: np.ndarray  # [..., 2, 2]
    scale: np.ndarray  # [...]

    def apply(self, pts: np.ndarray) -> np.ndarray:
        """Map pixel points [..., P, 2] into the canonical frame."""
        c = pts - self.centre[..., None, :]
        return self.scale[..., None, None] * np.einsum("...pj,...ij->...pi", c, self.rotation)

    def invert(self, pts: np.ndarray) -> np.ndarray:
        """Map canonical points [..., P, 2] back to pixels."""
        back = np.einsum("...pi,...ij->...pj", pts / self.scale[..., None, None], self.rotation)
        return back + self.centre[..., None, :]


def normalise(shape: np.ndarray) -> tuple[np.ndarray, Similarity]:
    """A shape [68, 2] centred at 0 with unit RMS radius, and the transform that does it."""
    s = np.asarray(shape, dtype=np.float64)
    centre = s.mean(0)
    scale = 1.0 / np.sqrt(((s - centre) ** 2).sum(1).mean())
    tf = Similarity(centre, np.eye(2), np.asarray(scale))
    return tf.apply(s), tf


def procrustes(shapes: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, Similarity]:
    """Similarity-align shapes [..., 68, 2] onto ``target`` [68, 2] (centred, unit RMS): rotation
    (no reflection), isotropic scale and translation by least squares (Umeyama). Returns the aligned
    shapes and the per-shape transforms. Shapes with NaN come back NaN."""
    x = np.asarray(shapes, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    centre = x.mean(-2)
    xc = x - centre[..., None, :]
    cov = np.einsum("...pi,pj->...ij", xc, y)  # sum_p x_p y_p^T
    cov = np.nan_to_num(cov)
    u, sv, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones(sv.shape)
    fix[..., -1] = d
    rot = np.einsum("...ji,...j,...kj->...ik", vt, fix, u)  # R = V diag(fix) U^T
    var = (xc**2).sum((-1, -2))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (sv * fix).sum(-1) / var
    tf = Similarity(centre, rot, scale)
    return tf.apply(x), tf


def point_errors(pred: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    """Mean point-to-point error of predicted landmarks [..., 68, 2] against true ones, in pixels and
    normalised by the true inter-ocular (outer eye corner) distance; frames with NaN truth are skipped."""
    p = np.asarray(pred, dtype=np.float64).reshape(-1, N_POINTS, 2)
    t = np.asarray(true, dtype=np.float64).reshape(-1, N_POINTS, 2)
    ok = np.isfinite(t).all((1, 2))
    if not ok.any():
        raise ValueError("point_errors: no frame with complete true landmarks")
    err = np.linalg.norm(p[ok] - t[ok], axis=-1).mean(-1)
    a, b = OUTER_EYE_CORNERS
    iod = np.linalg.norm(t[ok, a] - t[ok, b], axis=-1)
    return float(err.mean()), float((err / iod).mean())
