"""The paper's baselines (§4.3) as representations, and the rule that picks the two blur rows.

- Gaussian blur (distortion): :func:`gaussian_blur`; a sweep of sigmas, of which
  :mod:`ppfer_core.blur_match` picks "Gaussian Blur 1" (PLR nearest ours from above) and "Gaussian
  Blur 2" (ACC nearest ours from below, on F_u's validation slice of train).
- Optical flow (de-identification by modality change): :func:`flow_clip` renders TV-L1 flow
  between consecutive grey frames as images (u, v, magnitude) on a fixed scale.
- Image swapping: :func:`swap_frame` warps a donor face (an identity not in the corpus) onto a
  frame's 68 landmarks with a triangle (piecewise affine) warp over the donor's Delaunay mesh and
  blends it inside the landmarks' convex hull with a feathered mask.
- Landmarks for real data: the :class:`LandmarkProvider` protocol and :class:`DlibLandmarks`,
  dlib's 68-point predictor from the optional ``faces`` extra (weights shipped in a package).

The trade-off framework (SPAct-style adversarial anonymiser) lives in :mod:`ppfer_core.tradeoff`.
Everything here is NumPy / SciPy / scikit-image (no torch import), so the jobs start fast.

Points are (x, y) pixels with integer coordinates at pixel centres (see :mod:`ppfer_core.ingest`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

N_LANDMARKS = 68
MATCH_PLR = "blur@plr"
"""Table 1 placeholder: the blur sigma whose PLR is nearest ours from above ("Gaussian Blur 1")."""
MATCH_ACC = "blur@acc"
"""Table 1 placeholder: the blur sigma whose ACC is nearest ours from below ("Gaussian Blur 2")."""


# --------------------------------------------------------------------------------------------- blur


def blur_rep(sigma: float) -> str:
    """Representation name of one blur sigma, e.g. ``blur-s2`` or ``blur-s0.5``."""
    return f"blur-s{float(sigma):g}"


def gaussian_blur(frames: np.ndarray, sigma: float) -> np.ndarray:
    """Blur uint8 frames ``[..., H, W, 3]`` spatially with a Gaussian of std ``sigma`` px (edges replicated)."""
    from scipy.ndimage import gaussian_filter

    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return frames.copy()
    axes_sigma = [0.0] * (frames.ndim - 3) + [float(sigma), float(sigma), 0.0]
    out = gaussian_filter(frames.astype(np.float32), sigma=axes_sigma, mode="nearest", truncate=4.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def map_clips(fn, clips: np.ndarray, out: np.ndarray, chunk: int = 32) -> np.ndarray:
    """Apply a clip-array function (uint8 ``[n, T, H, W, 3]`` -> same shape) chunk by chunk into ``out``."""
    from ppfer_core.arrays import batches

    for sl in batches(len(clips), chunk):
        out[sl] = fn(np.asarray(clips[sl]))
    return out


# --------------------------------------------------------------------------------------------- optical flow


def render_flow(u: np.ndarray, v: np.ndarray, scale: float) -> np.ndarray:
    """Flow ``(u, v)`` [H, W] (px) as a uint8 image [H, W, 3]: u and v mapped from [-scale, scale]
    to [0, 255] (128 = still), magnitude from [0, scale] to [0, 255]; clipped, same scale for every frame."""
    if scale <= 0:
        raise ValueError(f"flow scale must be > 0, got {scale}")
    mag = np.hypot(u, v)
    img = np.stack([128.0 + 127.0 * u / scale, 128.0 + 127.0 * v / scale, 255.0 * mag / scale], axis=-1)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def to_grey(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB ``[..., H, W, 3]`` -> float32 luminance in [0, 1] (ITU-R 601 weights, as rgb2gray)."""
    w = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)
    return (frames.astype(np.float32) @ w) / 255.0


def tvl1_flow(prev: np.ndarray, nxt: np.ndarray, **tvl1: float) -> tuple[np.ndarray, np.ndarray]:
    """TV-L1 flow (u, v) in px from grey frame ``prev`` to ``nxt``: content at (x, y) in ``prev``
    is at (x + u, y + v) in ``nxt``. ``tvl1``: options of ``skimage.registration.optical_flow_tvl1``."""
    from skimage.registration import optical_flow_tvl1

    # optical_flow_tvl1(reference, moving) returns (v, u) with reference(r, c) ~ moving(r + v, c + u)
    v, u = optical_flow_tvl1(prev, nxt, **tvl1)
    return u, v


def flow_clip(clip: np.ndarray, scale: float, **tvl1: float) -> np.ndarray:
    """A clip [T, H, W, 3] as T rendered flow frames: flow between consecutive grey frames (T-1),
    padded to T by repeating the last (a one-frame clip gives one still frame)."""
    t = clip.shape[0]
    grey = to_grey(clip)
    out = np.empty_like(clip, dtype=np.uint8)
    if t == 1:
        out[0] = render_flow(
            np.zeros(grey.shape[1:], np.float32), np.zeros(grey.shape[1:], np.float32), scale
        )
        return out
    for i in range(t - 1):
        out[i] = render_flow(*tvl1_flow(grey[i], grey[i + 1], **tvl1), scale)
    out[t - 1] = out[t - 2]
    return out


# --------------------------------------------------------------------------------------------- image swapping


def donor_mesh(donor_landmarks: np.ndarray) -> np.ndarray:
    """Delaunay triangles ``[K, 3]`` (landmark indices) of the donor's landmarks: the swap's mesh."""
    from scipy.spatial import Delaunay

    return Delaunay(np.asarray(donor_landmarks, dtype=np.float64)).simplices.astype(np.int64)


def hull_mask(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Boolean [H, W] mask of the pixels (centres) inside the landmarks' convex hull."""
    from scipy.spatial import ConvexHull
    from skimage.draw import polygon

    pts = np.asarray(landmarks, dtype=np.float64)
    hull = pts[ConvexHull(pts).vertices]
    mask = np.zeros(shape, dtype=bool)
    rr, cc = polygon(hull[:, 1], hull[:, 0], shape)
    mask[rr, cc] = True
    return mask


def warp_points(
    points: np.ndarray, target_landmarks: np.ndarray, donor_landmarks: np.ndarray, mesh: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Donor coordinates of target-frame points ``[P, 2]`` (x, y) under the triangle warp that
    sends each target mesh triangle onto the same donor triangle (barycentric coordinates kept).

    Returns (donor points [P, 2], inside [P] bool: the point lies in a non-degenerate target triangle).
    A target landmark maps exactly onto the donor's landmark of the same index.
    """
    p = np.asarray(points, dtype=np.float64)
    tri_t = np.asarray(target_landmarks, dtype=np.float64)[mesh]  # [K, 3, 2]
    tri_d = np.asarray(donor_landmarks, dtype=np.float64)[mesh]
    a = tri_t[:, 0]
    e1, e2 = tri_t[:, 1] - a, tri_t[:, 2] - a  # [K, 2]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]  # twice the signed area
    ok = np.abs(det) > 1e-6
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    rx = p[:, 0:1] - a[None, :, 0]  # [P, K]
    ry = p[:, 1:2] - a[None, :, 1]
    w1 = (rx * e2[:, 1] - ry * e2[:, 0]) * inv
    w2 = (ry * e1[:, 0] - rx * e1[:, 1]) * inv
    w0 = 1.0 - w1 - w2
    score = np.minimum(np.minimum(w0, w1), w2)  # how far inside each triangle
    score[:, ~ok] = -np.inf
    k = score.argmax(1)
    rows = np.arange(len(p))
    inside = score[rows, k] >= -1e-6
    wk = np.stack([w0[rows, k], w1[rows, k], w2[rows, k]], axis=1)  # [P, 3]
    donor_pts = np.einsum("pi,pij->pj", wk, tri_d[k])
    return donor_pts, inside


def bilinear(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Sample image [H, W, C] at (x, y) points [P, 2] bilinearly (edges replicated): [P, C] float32."""
    from scipy.ndimage import map_coordinates

    coords = np.stack([points[:, 1], points[:, 0]])
    img = image.astype(np.float32)
    return np.stack(
        [map_coordinates(img[..., c], coords, order=1, mode="nearest") for c in range(img.shape[-1])], -1
    )


def feather_alpha(mask: np.ndarray, feather: float) -> np.ndarray:
    """Blend weight [H, W] in [0, 1]: 0 outside ``mask``, rising to 1 over ``feather`` px inside it."""
    from scipy.ndimage import distance_transform_edt

    if feather <= 0:
        return mask.astype(np.float32)
    return np.clip(distance_transform_edt(mask) / feather, 0.0, 1.0).astype(np.float32)


def swap_frame(
    frame: np.ndarray,
    landmarks: np.ndarray,
    donor: np.ndarray,
    donor_landmarks: np.ndarray,
    mesh: np.ndarray,
    feather: float = 2.0,
) -> np.ndarray:
    """Swap the donor face into a uint8 frame [H, W, 3]: warp it onto the frame's landmarks [68, 2]
    and blend inside their convex hull (feathered); pixels outside the hull are left untouched. A
    frame whose landmarks are missing (NaN) is returned unchanged."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if not np.isfinite(lm).all():
        return frame.copy()
    h, w = frame.shape[:2]
    mask = hull_mask(lm, (h, w))
    ys, xs = np.nonzero(mask)
    out = frame.copy()
    if len(ys) == 0:
        return out
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    src, inside = warp_points(pts, lm, donor_landmarks, mesh)
    alpha = feather_alpha(mask, feather)[ys, xs] * inside
    vals = bilinear(donor, src)
    mixed = alpha[:, None] * vals + (1.0 - alpha[:, None]) * frame[ys, xs].astype(np.float32)
    out[ys, xs] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return out


def swap_clip(
    clip: np.ndarray,
    landmarks: np.ndarray,
    donor: np.ndarray,
    donor_landmarks: np.ndarray,
    feather: float = 2.0,
) -> np.ndarray:
    """:func:`swap_frame` on every frame of a clip [T, H, W, 3] with its landmarks [T, 68, 2]."""
    mesh = donor_mesh(donor_landmarks)
    return np.stack(
        [swap_frame(f, lm, donor, donor_landmarks, mesh, feather) for f, lm in zip(clip, landmarks)]
    )


def synthetic_donor(actor: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A neutral frame [size, size, 3] and its 68 landmarks of a synthetic identity (use an actor id
    outside the corpus, e.g. 9001)."""
    from ppfer_core.synthetic import render_clip

    frames, lm = render_clip(actor, "NEU", 0.0, 2, size, seed)
    return frames[0], lm[0]


PHOTO_DONOR = "skimage.data.astronaut"
"""The default donor of a real corpus: a photograph that scikit-image ships (Eileen Collins, not in CREMA-D)."""


def choose_donor(
    cfg: Mapping,
    source: str,
    size: int,
    seed: int,
    actors: set[str],
    detect: Callable[[np.ndarray], np.ndarray | None],
) -> tuple[np.ndarray, np.ndarray, str]:
    """The swap's donor face (image, 68 landmarks, description) from config ``baselines.swap``:
    the photograph ``donor_image`` when named; else, for a real corpus (``source`` real), scikit-image's
    astronaut photograph; else (the synthetic corpus) the synthetic identity ``donor_actor``, which
    must lie outside the corpus' ``actors``. ``detect``: landmarks of a photograph (dlib)."""
    if cfg["donor_image"] or source == "real":
        if cfg["donor_image"]:
            from skimage.io import imread

            donor, name = imread(cfg["donor_image"])[..., :3], str(cfg["donor_image"])
        else:
            from skimage import data

            donor, name = data.astronaut(), PHOTO_DONOR
        lm = detect(donor)
        if lm is None:
            raise ValueError(f"no face found in the donor photograph {name} (baselines.swap.donor_image)")
        return donor, lm, f"photograph {name} {donor.shape}"
    if str(cfg["donor_actor"]) in actors:
        raise ValueError(
            f"baselines.swap.donor_actor {cfg['donor_actor']} is in the corpus: pick an identity outside it"
        )
    donor, lm = synthetic_donor(cfg["donor_actor"], size, seed)
    return donor, lm, f"synthetic actor {cfg['donor_actor']} (not in the corpus) at {size} px"


# --------------------------------------------------------------------------------------------- landmark providers


class LandmarkProvider(Protocol):
    """Anything that gives 68 (x, y) landmarks per frame: frames uint8 [T, H, W, 3] -> float32
    [T, 68, 2], NaN for a frame without a face."""

    def __call__(self, frames: np.ndarray) -> np.ndarray: ...


def dlib_model_file(name: str = "shape_predictor_68_face_landmarks.dat") -> str:
    """Path of a dlib model file shipped by the ``face-recognition-models`` package (located
    without importing it: its ``__init__`` needs ``pkg_resources``, gone from recent setuptools)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("face-recognition-models is not installed: pip install 'ppfer-core[faces]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing from face-recognition-models")
    return str(path)


class DlibLandmarks:
    """dlib's HOG face detector + 68-point shape predictor (iBUG layout, as the corpus landmarks),
    with weights shipped in the optional ``faces`` extra (``dlib-bin``, ``face-recognition-models``).

    The largest-scoring face of each frame is used; small frames are upsampled ``upsample`` times
    for detection. A frame without a detection reuses the previous frame's landmarks (NaN before any).
    """

    def __init__(self, upsample: int = 1):
        import dlib

        self.upsample = int(upsample)
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(dlib_model_file())

    def detect(self, image: np.ndarray) -> np.ndarray | None:
        """68 landmarks [68, 2] of the best face in one uint8 RGB image, or None."""
        img = np.ascontiguousarray(image, dtype=np.uint8)
        rects, scores, _ = self.detector.run(img, self.upsample, 0.0)
        if len(rects) == 0:
            return None
        best = rects[int(np.argmax(scores))]
        shape = self.predictor(img, best)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Landmarks [T, 68, 2] of every frame."""
        out = np.full((len(frames), N_LANDMARKS, 2), np.nan, dtype=np.float32)
        last = None
        for i, f in enumerate(frames):
            lm = self.detect(f)
            last = lm if lm is not None else last
            if last is not None:
                out[i] = last
        return out
