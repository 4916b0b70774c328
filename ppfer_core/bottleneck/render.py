"""Re-rendering a code onto one face that belongs to nobody: a piecewise-affine warp of a fixed
template frame from its neutral landmarks to ``template neutral + basis x code``.

The template is a neutral frame of a synthetic identity outside the corpus, drawn by the project's
own renderer (:func:`~ppfer_core.baselines.synthetic_donor`); its landmarks define the canonical
frame. The mesh is the Delaunay triangulation of its 68 landmarks plus fixed anchors on the frame
border, so the whole frame (background included) is warped and nothing but the code varies: the
output is a function of the code alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ppfer_core.baselines import bilinear, donor_mesh, synthetic_donor
from ppfer_core.bottleneck.basis import ExpressionBasis
from ppfer_core.bottleneck.shapes import Similarity, normalise


@dataclass(frozen=True)
class Template:
    """The template face: uint8 image [H, W, 3], its 68 landmarks [68, 2] (px), the canonical shape
    (centred, unit RMS), the canonical -> pixel transform, the border anchors [A, 2] and the mesh."""

    image: np.ndarray
    landmarks: np.ndarray
    canonical: np.ndarray
    frame: Similarity
    anchors: np.ndarray
    mesh: np.ndarray

    @classmethod
    def from_image(cls, image: np.ndarray, landmarks: np.ndarray) -> Template:
        """A template from a face image and its 68 landmarks (e.g. a higher-resolution render)."""
        h, w = image.shape[:2]
        xs, ys = np.array([-0.5, (w - 1) / 2, w - 0.5]), np.array([-0.5, (h - 1) / 2, h - 0.5])
        anchors = np.array([[x, y] for x in xs for y in ys if not (x == xs[1] and y == ys[1])])
        lm = np.asarray(landmarks, dtype=np.float64)
        canonical, frame = normalise(lm)
        mesh = donor_mesh(np.concatenate([lm, anchors]))
        return cls(np.asarray(image, dtype=np.uint8), lm, canonical, frame, anchors, mesh)

    def shape_pixels(self, canonical_shape: np.ndarray) -> np.ndarray:
        """Canonical shape [68, 2] -> the template frame's pixels."""
        return self.frame.invert(canonical_shape)


def synthetic_template(actor: int, size: int, seed: int) -> Template:
    """The embedded corpus' template: a neutral frame of synthetic identity ``actor`` (outside the
    corpus) at ``size`` px, drawn by the project's renderer."""
    image, lm = synthetic_donor(actor, size, seed)
    return Template.from_image(image, lm)


def coded_shape(code: np.ndarray, template: Template, basis: ExpressionBasis) -> np.ndarray:
    """Pixel landmarks [68, 2] of a code [k]: template neutral + basis x code, in the template frame."""
    offset = (basis.basis @ np.asarray(code, dtype=np.float64)).reshape(-1, 2)
    return template.shape_pixels(template.canonical + offset)


def _triangle_affines(dst_tri: np.ndarray, src_tri: np.ndarray) -> np.ndarray:
    """Per-triangle affine maps [K, 3, 2] sending dst corners [K, 3, 2] onto src corners ([x, y, 1] @ A)."""
    ones = np.ones((*dst_tri.shape[:2], 1))
    a = np.concatenate([dst_tri, ones], -1)  # [K, 3, 3]
    ok = np.abs(np.linalg.det(a)) > 1e-9
    maps = np.zeros((len(a), 3, 2))
    maps[ok] = np.linalg.solve(a[ok], src_tri[ok])
    maps[~ok] = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])  # a flat triangle keeps its pixels
    return maps


def warp_template(template: Template, target: np.ndarray) -> np.ndarray:
    """The template image warped so that its landmarks land on ``target`` [68, 2]: uint8 [H, W, 3].
    Each target mesh triangle is rasterised and filled from the same template triangle (affine);
    pixels no triangle covers keep the template's own pixel."""
    from skimage.draw import polygon

    h, w = template.image.shape[:2]
    dst = np.concatenate([np.asarray(target, dtype=np.float64), template.anchors])[template.mesh]
    src = np.concatenate([template.landmarks, template.anchors])[template.mesh]
    maps = _triangle_affines(dst, src)
    yy, xx = np.mgrid[0:h, 0:w]
    coords = np.stack([xx, yy], -1).astype(np.float64)  # [H, W, 2]: identity by default
    for tri, m in zip(dst, maps):
        rr, cc = polygon(tri[:, 1], tri[:, 0], (h, w))
        coords[rr, cc] = np.stack([cc, rr, np.ones_like(rr)], 1) @ m
    vals = bilinear(template.image, coords.reshape(-1, 2))
    return np.clip(np.rint(vals), 0, 255).astype(np.uint8).reshape(h, w, 3)


def render_codes(codes: np.ndarray, template: Template, basis: ExpressionBasis, out: np.ndarray) -> None:
    """Render codes [N, T, k] into ``out`` uint8 [N, T, H, W, 3] (the template's size)."""
    for i, clip in enumerate(codes):
        out[i] = np.stack([warp_template(template, coded_shape(c, template, basis)) for c in clip])


def face_template(actor: int, size: int, seed: int, upsample: int = 1) -> Template:
    """The real-face template: synthetic identity ``actor`` rendered at ``size`` px (not a photograph
    of anyone), with the landmarks dlib's HOG detector + 68-point predictor find on it (the convention
    real faces are measured in). ValueError when dlib finds no face in it."""
    from ppfer_core.baselines import DlibLandmarks

    image, _ = synthetic_donor(actor, size, seed)
    lm = DlibLandmarks(upsample).detect(image)
    if lm is None:
        raise ValueError(
            f"dlib finds no face in the template of synthetic actor {actor} at {size} px: pick another"
        )
    return Template.from_image(image, lm)
