"""A real-face test video from a photograph an installed package ships: scikit-image's
``astronaut`` (Eileen Collins, public domain), panned and zoomed over the frames, with a sine
tone as audio. Used by the tests, the benchmarks and the README figure; nothing is downloaded.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def astronaut_frames(n: int, size: tuple[int, int] = (360, 480), faces: int = 1) -> list[np.ndarray]:
    """``n`` RGB frames [H, W, 3]: a window over the astronaut photograph that zooms in from 100 % to
    70 % of the photo and pans sideways. ``faces=2``: the photo and its mirror image side by side,
    shown whole (two faces; use a 2:1 ``size``)."""
    from PIL import Image
    from skimage import data

    photo = data.astronaut()
    if faces == 2:
        photo = np.concatenate([photo, photo[:, ::-1]], axis=1)
    elif faces != 1:
        raise ValueError("faces must be 1 or 2")
    ph, pw = photo.shape[:2]
    h, w = size
    img = Image.fromarray(photo)
    out = []
    for i in range(n):
        s = i / max(n - 1, 1)
        zoom = 1.0 - 0.3 * s if faces == 1 else 1.0
        cw = min(pw, ph * w / h) * zoom
        ch = cw * h / w
        cx = pw / 2 + (pw - cw) / 2 * 0.6 * np.sin(2 * np.pi * s)
        cy = ph / 2 - (ph - ch) / 2 * 0.5 if faces == 1 else ph / 2
        box = (cx - cw / 2, cy - ch / 2, cx + cw / 2, cy + ch / 2)
        out.append(np.asarray(img.resize((w, h), Image.Resampling.BILINEAR, box=box)))
    return out


EXPRESSION_KEYS = (
    (0, -1.0, -0.5, 0.0),
    (6, -1.0, -0.5, 0.0),
    (12, 1.0, 0.0, 0.0),
    (16, 1.0, 0.0, 0.0),
    (20, 0.0, 1.0, 0.0),
    (24, -1.0, 1.0, 0.0),
    (28, -1.0, -0.5, 0.0),
    (32, -1.0, -0.5, 1.0),
    (35, -1.0, -0.5, 1.0),
    (39, -1.0, -0.5, 0.0),
)
"""Key frames (frame of 40, smile, mouth open, brows raised) of :func:`astronaut_expressions`: the
photograph's smile toned down and her lips closed (near neutral), a broader smile, the mouth
opening, the brows rising."""


def expression_landmarks(landmarks: np.ndarray, smile: float, mouth: float, brows: float) -> np.ndarray:
    """68 landmarks [68, 2] moved by an expression, in inter-ocular distances d: mouth corners up by
    0.07 d and outward by 0.05 d per unit ``smile`` (the lip points next to them half as much); lower
    lip down by 0.2 d and the chin by 0.15 d per unit ``mouth``; brows up by 0.12 d per unit ``brows``."""
    lm = np.array(landmarks, dtype=np.float64)
    d = float(np.linalg.norm(lm[45] - lm[36]))
    for idx, side, w in ((48, -1, 1.0), (54, 1, 1.0), (49, -1, 0.5), (59, -1, 0.5), (60, -1, 0.5),
                         (53, 1, 0.5), (55, 1, 0.5), (64, 1, 0.5)):  # fmt: skip
        lm[idx] += w * smile * d * np.array([0.05 * side, -0.07])
    for idx, w in ((55, 0.7), (56, 0.9), (57, 1.0), (58, 0.9), (59, 0.7), (65, 0.9), (66, 1.0), (67, 0.9)):
        lm[idx, 1] += w * mouth * 0.2 * d
    for idx, w in ((6, 0.5), (7, 0.8), (8, 1.0), (9, 0.8), (10, 0.5)):
        lm[idx, 1] += w * mouth * 0.15 * d
    lm[17:27, 1] -= brows * 0.12 * d
    return lm


def astronaut_expressions(n: int = 40) -> tuple[list[np.ndarray], np.ndarray]:
    """A 480 x 360 video of the astronaut photograph (its top 360 rows, centred) whose face changes
    expression (:data:`EXPRESSION_KEYS` stretched over ``n`` frames): her dlib landmarks moved by
    :func:`expression_landmarks` and the face warped piecewise-affinely onto them (scikit-image's
    ``PiecewiseAffineTransform`` over the landmarks and a fixed ring around the face). Returns the
    frames and the expression [n, 3] (smile, mouth, brows) of each. Needs dlib (the faces extra)."""
    from skimage import data
    from skimage.transform import warp

    from ppfer_core.baselines import DlibLandmarks

    photo = data.astronaut()[:360, 16:496]
    lm = DlibLandmarks().detect(photo).astype(np.float64)
    x0, y0 = np.floor(lm.min(0) - 40).astype(int).clip(0)
    x1, y1 = np.ceil(lm.max(0) + 40).astype(int)
    crop = photo[y0:y1, x0:x1]
    h, w = crop.shape[:2]
    ring = np.array([[x, y] for x in np.linspace(0, w - 1, 5) for y in np.linspace(0, h - 1, 5)
                     if x in (0, w - 1) or y in (0, h - 1)])  # fmt: skip
    keys = np.array(EXPRESSION_KEYS, dtype=np.float64)
    t = np.linspace(0, keys[-1, 0], n)
    expr = np.stack([np.interp(t, keys[:, 0], keys[:, j]) for j in (1, 2, 3)], 1)
    frames = []
    for smile, mouth, brows in expr:
        target = expression_landmarks(lm, smile, mouth, brows) - (x0, y0)
        tf = _piecewise_affine(np.concatenate([target, ring]), np.concatenate([lm - (x0, y0), ring]))
        frame = photo.copy()
        frame[y0:y1, x0:x1] = np.rint(warp(crop, tf, preserve_range=True)).astype(np.uint8)
        frames.append(frame)
    return frames, expr


def _piecewise_affine(dst: np.ndarray, src: np.ndarray):
    """scikit-image's piecewise-affine map from ``dst`` to ``src`` points (``from_estimate`` since 0.26)."""
    from skimage.transform import PiecewiseAffineTransform

    if hasattr(PiecewiseAffineTransform, "from_estimate"):
        return PiecewiseAffineTransform.from_estimate(dst, src)
    tf = PiecewiseAffineTransform()  # scikit-image < 0.26 (pyproject allows >= 0.22)
    tf.estimate(dst, src)
    return tf


def write_video(
    path: str | Path,
    frames: list[np.ndarray],
    fps: int = 25,
    tone: float | None = 440.0,
    codec: str = "libx264",
    audio_codec: str = "aac",
) -> None:
    """Write frames (and a sine tone as long as the video) with PyAV; the container follows the suffix."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        aus = None
        if tone is not None:
            aus = out.add_stream(audio_codec, rate=44100)
            aus.layout = "mono"
        for i, img in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, fps)
            for pkt in vs.encode(vf):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if aus is not None:
            _write_tone(out, aus, len(frames) / fps, tone)


def _write_tone(out, stream, seconds: float, freq: float) -> None:
    import av

    rate, chunk = 44100, 1024
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    fmt = stream.codec_context.format.name if stream.codec_context.format else "fltp"
    resampler = av.AudioResampler(format=fmt, layout="mono", rate=rate)
    for start in range(0, len(samples), chunk):
        af = av.AudioFrame.from_ndarray(samples[None, start : start + chunk], format="flt", layout="mono")
        af.sample_rate, af.pts = rate, start
        for rf in resampler.resample(af):
            for pkt in stream.encode(rf):
                out.mux(pkt)
    for pkt in stream.encode():
        out.mux(pkt)
