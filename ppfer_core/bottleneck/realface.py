"""Real faces (issue 27, item 8): a face's expression code, re-rendered as the template face and
pasted back where the face was.

Per face: dlib's 68 points (:class:`ShapePredictor`, started from the tracker's YuNet box) ->
similarity-Procrustes alignment onto the basis' canonical shape (:class:`FaceCoder`) -> the code
``B^T (x - r) * a`` (``r`` the face track's neutral reference, or the mean face for a photograph;
``a`` the amplitude normalisation if the basis uses it) -> the template face warped to
``template neutral + B x code`` and pasted into the frame by the inverse of the source face's
similarity (:class:`FaceRenderer`), blended with a feathered mask. Inside the mask's full-weight
region every output pixel is a function of the code and of where the face sits (the similarity)
alone: no source pixel reaches it.

The warp is a piecewise-affine map over the template's Delaunay mesh (its 68 landmarks and 8
border anchors), computed in the frame's coordinates: each mesh triangle, placed in the frame, is
rasterised with OpenCV into a triangle-index map, each pixel's template coordinates come from its
triangle's affine map (vectorised numpy), and ``cv2.remap`` samples a pyramid level of the template
at about the output's resolution (no aliasing on small faces). OpenCV is in the ``faces`` extra.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ppfer_core.bottleneck.basis import _AMP_FLOOR, DIM, ExpressionBasis, clip_rms, neutral_reference
from ppfer_core.bottleneck.render import Template, _triangle_affines
from ppfer_core.bottleneck.shapes import OUTER_EYE_CORNERS, Similarity, procrustes

Box = tuple[float, float, float, float]

DLIB_RECT_SHIFT, DLIB_RECT_SIDE = 0.06, 1.04
"""dlib's HOG face rectangle from a YuNet box (x0, y0, x1, y1): a square of side 1.04 x the box
width, centred 0.06 x the box height below the box centre (the medians over 43 faces found by both
detectors: the astronaut at 480 x 360 and 960 x 720, panned and zoomed, and synthetic renders at
128-256 px; spread of the side 0.90-1.16 w, of the shift 0.0-0.11 h). dlib's shape predictor was
trained from HOG rectangles, so it is started from one."""
JAW, BROWS = slice(0, 17), slice(17, 27)
FOREHEAD = 0.15
"""The face region's top edge: the brows raised by this share of the inter-ocular distance."""
LEVELS = 3
"""Pyramid levels of the template (full, 1/2, 1/4 size)."""


@dataclass(frozen=True)
class TemplateSettings:
    """The real-face template: synthetic identity ``actor`` (outside the corpus) rendered by the
    project's renderer at ``size`` px with ``seed``; dlib's HOG detector, upsampling ``upsample``
    times, must find a face in it (:func:`real_face_template`)."""

    actor: int = 9004
    size: int = 256
    seed: int = 0
    upsample: int = 1


INNER_UPPER, INNER_LOWER, INNER_MOUTH = [61, 62, 63], [67, 66, 65], slice(60, 68)
MOUTH_GAP, MOUTH_INSIDE = 3.0, (70, 24, 30)
"""The template's closed lips are parted by this many pixels (at its 256 px) and the gap is painted
this dark red, so that an opening mouth shows an inside instead of stretched lips."""
BROW_WIDTH = 0.1
"""The template's brows are drawn again this thick (share of the inter-ocular distance): dlib's
predictor loses the renderer's thin brow lines once they are raised."""


def real_face_template(settings: TemplateSettings) -> Template:
    """The real-face template: the synthetic identity rendered at ``settings.size`` px by the
    project's renderer (not a photograph of anyone), with the renderer's own landmarks (they lie on
    the drawn brows, eyes, lips and jaw, so the warp moves what is drawn) and its mouth's inside
    painted (:data:`MOUTH_GAP`). ValueError when dlib's HOG detector finds no face in it."""
    import cv2

    from ppfer_core.baselines import DlibLandmarks, synthetic_donor

    s = settings
    image, lm = synthetic_donor(s.actor, s.size, s.seed)
    if DlibLandmarks(s.upsample).detect(image) is None:
        raise ValueError(f"dlib finds no face in the template of synthetic actor {s.actor} at {s.size} px")
    lm = np.asarray(lm, dtype=np.float64).copy()
    gap = MOUTH_GAP * s.size / 256
    lm[INNER_UPPER, 1] = np.minimum(lm[INNER_UPPER, 1], lm[INNER_LOWER, 1]) - gap / 2
    lm[INNER_LOWER, 1] = lm[INNER_UPPER, 1] + gap
    image = np.ascontiguousarray(image)
    cv2.fillPoly(image, [np.rint(lm[INNER_MOUTH] * 16).astype(np.int32)], MOUTH_INSIDE, cv2.LINE_AA, 4)
    iod = float(np.linalg.norm(lm[OUTER_EYE_CORNERS[1]] - lm[OUTER_EYE_CORNERS[0]]))
    colour = tuple(int(v) for v in image[int(round(lm[19, 1])), int(round(lm[19, 0]))])
    for brow in (lm[17:22], lm[22:27]):
        pts = np.rint(brow * 16).astype(np.int32)
        cv2.polylines(image, [pts], False, colour, max(1, round(BROW_WIDTH * iod)), cv2.LINE_AA, 4)
    return Template.from_image(image, lm)


def dlib_rect(box: Box) -> tuple[int, int, int, int]:
    """The dlib rectangle (left, top, right, bottom) the shape predictor starts from for a YuNet box."""
    w, h = box[2] - box[0], box[3] - box[1]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2 + DLIB_RECT_SHIFT * h
    half = DLIB_RECT_SIDE * w / 2
    return round(cx - half), round(cy - half), round(cx + half), round(cy + half)


class ShapePredictor:
    """dlib's 68-point shape predictor (``face-recognition-models``) on a face box of a frame."""

    def __init__(self):
        import dlib

        from ppfer_core.baselines import dlib_model_file

        self._rect = dlib.rectangle
        self._predict = dlib.shape_predictor(dlib_model_file())

    def __call__(self, image: np.ndarray, box: Box) -> np.ndarray:
        """Landmarks [68, 2] (x, y px, float64) of the face in ``box`` of a uint8 RGB image."""
        shape = self._predict(np.ascontiguousarray(image, dtype=np.uint8), self._rect(*dlib_rect(box)))
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


class FaceCoder:
    """Landmarks -> aligned shapes -> codes on an :class:`ExpressionBasis`."""

    def __init__(self, basis: ExpressionBasis):
        self.basis = basis

    def align(self, landmarks: np.ndarray) -> tuple[np.ndarray, Similarity]:
        """Shapes [..., 68, 2] (px) -> aligned, flattened [..., 136] and their pixel -> canonical maps."""
        aligned, tf = procrustes(landmarks, self.basis.canonical)
        return aligned.reshape(*aligned.shape[:-2], DIM), tf

    def reference(self, x: np.ndarray, relative: bool) -> tuple[np.ndarray, float]:
        """A face track's reference shape [136] and amplitude factor from its aligned shapes [T, 136]:
        relative, the mean of its least expressive frames (the basis' ``neutral_fraction``, as the
        basis was fitted); absolute, the mean face ``mu``. The factor scales the track's codes to
        the train population's RMS when the basis uses amplitude normalisation, else 1."""
        b, s = self.basis, self.basis.settings
        ref = neutral_reference(x[None], b.mu, b.b0, s.neutral_fraction)[0] if relative else b.mu
        if not s.amplitude_norm:
            return ref, 1.0
        rms = float(np.nan_to_num(clip_rms(((x - ref) @ b.basis)[None]))[0])
        return ref, b.code_rms / max(rms, _AMP_FLOOR * b.code_rms)

    def code(self, x: np.ndarray, reference: np.ndarray, factor: float) -> np.ndarray:
        """The code [k] of one aligned shape [136]."""
        return (x - reference) @ self.basis.basis * factor


def face_polygon(landmarks: np.ndarray) -> np.ndarray:
    """The face region's outline [27, 2]: the jaw line, then the brows raised by :data:`FOREHEAD` x
    the inter-ocular distance (perpendicular to the eye line)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    a, b = OUTER_EYE_CORNERS
    eye = lm[b] - lm[a]
    up = np.array([eye[1], -eye[0]])  # eye line turned by -90 degrees: towards the forehead
    return np.concatenate([lm[JAW], lm[BROWS][::-1] + FOREHEAD * up])


def face_mask(landmarks: np.ndarray, shape: tuple[int, int], feather: float) -> np.ndarray:
    """Blend weight [H, W] float32 of a face in an image: 1 inside the convex hull of
    :func:`face_polygon` shrunk by the feather width, ramping linearly to 0 at the hull; the
    width is ``feather`` x the square root of the hull's area."""
    import cv2

    hull = cv2.convexHull(face_polygon(landmarks).astype(np.float32))[:, 0]
    inside = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(inside, np.rint(hull * 16).astype(np.int32), 1, cv2.LINE_8, 4)
    width = feather * math.sqrt(max(cv2.contourArea(hull), 1.0))
    if width <= 0:
        return inside.astype(np.float32)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.clip(dist / width, 0.0, 1.0).astype(np.float32)


class FaceRenderer:
    """The template face at a code, pasted into frames (see the module docstring). Precomputed
    once: the template's mesh, its pyramid, its face mask (``feather``) and its neutral shape in
    the basis' canonical frame."""

    def __init__(self, template: Template, basis: ExpressionBasis, feather: float):
        import cv2

        self._cv2, self.basis = cv2, basis
        self.mesh = template.mesh
        points = np.concatenate([template.landmarks, template.anchors])
        self.src = points[self.mesh]  # [K, 3, 2] template pixels
        aligned, tf = procrustes(template.landmarks[None], basis.canonical)  # onto the basis' canonical
        self.neutral = aligned[0]
        self.anchors = tf.apply(template.anchors[None])[0]
        self.template_scale = float(tf.scale[0])  # canonical units per template pixel
        mask = face_mask(template.landmarks, template.image.shape[:2], feather)
        self.images, self.masks = [template.image], [mask]
        for _ in range(1, LEVELS):
            h, w = self.images[-1].shape[:2]
            size = (max(1, w // 2), max(1, h // 2))
            self.images.append(cv2.resize(self.images[-1], size, interpolation=cv2.INTER_AREA))
            self.masks.append(cv2.resize(self.masks[-1], size, interpolation=cv2.INTER_AREA))

    def shape(self, code: np.ndarray) -> np.ndarray:
        """Canonical landmarks [68, 2] of a code: template neutral + basis x code."""
        return self.neutral + (self.basis.basis @ np.asarray(code, dtype=np.float64)).reshape(-1, 2)

    def points(self, code: np.ndarray, placement: Similarity) -> np.ndarray:
        """The template mesh's points [68 + 8, 2] at ``code``, in the frame (``placement``: the
        source face's pixel -> canonical map)."""
        return placement.invert(np.concatenate([self.shape(code), self.anchors])[None])[0]

    def paste(
        self, frame: np.ndarray, code: np.ndarray, placement: Similarity
    ) -> tuple[int, int, int, int] | None:
        """Render the template at ``code`` where ``placement`` puts it, blended into ``frame`` (uint8
        RGB, in place). Returns the pixels (x0, y0, x1, y1) touched, or None if off the frame."""
        cv2 = self._cv2
        pts = self.points(code, placement)
        h, w = frame.shape[:2]
        x0, y0 = (max(0, int(math.floor(v))) for v in pts.min(0))
        x1, y1 = min(w, int(math.ceil(pts[:, 0].max())) + 1), min(h, int(math.ceil(pts[:, 1].max())) + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        dst = pts[self.mesh] - (x0, y0)
        index = np.full((y1 - y0, x1 - x0), -1, np.int32)
        for k, tri in enumerate(np.rint(dst * 16).astype(np.int32)):
            cv2.fillConvexPoly(index, tri, k, cv2.LINE_8, 4)
        level = self._level(placement)
        maps = _triangle_affines(dst, (self.src + 0.5) / 2**level - 0.5).astype(np.float32)[index]
        yy, xx = np.mgrid[0 : y1 - y0, 0 : x1 - x0].astype(np.float32)
        mx = xx * maps[..., 0, 0] + yy * maps[..., 1, 0] + maps[..., 2, 0]
        my = xx * maps[..., 0, 1] + yy * maps[..., 1, 1] + maps[..., 2, 1]
        face = cv2.remap(self.images[level], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.remap(self.masks[level], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        alpha = np.where(index >= 0, alpha, 0.0)[..., None]
        region = frame[y0:y1, x0:x1]
        blend = region + alpha * (face.astype(np.float32) - region)
        region[:] = np.clip(np.rint(blend), 0, 255).astype(np.uint8)
        return x0, y0, x1, y1

    def _level(self, placement: Similarity) -> int:
        """The pyramid level whose pixels are closest to (not smaller than half) the frame's."""
        ratio = (
            float(np.asarray(placement.scale).reshape(-1)[0]) / self.template_scale
        )  # template px per frame px
        return int(np.clip(math.floor(math.log2(max(ratio, 1e-6))), 0, LEVELS - 1))
