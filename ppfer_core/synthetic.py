"""Embedded procedural corpora: drawn talking faces written as real video files.

Two layouts are produced from one renderer:

* :func:`generate_cremad` -- CREMA-D form: ``VideoFlash/{actor}_{sentence}_{EMO}_{level}.flv``
  (FLV container, Sorenson H.263 video, PyAV encoder ``flv``) plus ``landmarks.npz`` with the
  68 iBUG/dlib landmarks of every frame (x, y in pixels of the written frame).
* :func:`generate_dfew` -- DFEW form: ``Clip/clip_224x224/{id:05d}/{id:05d}_{n:05d}.jpg``
  (frame folders, 1-based frame numbers, as in the released ``clip_224x224`` part) and
  ``EmoLabel_DataSplit/{train,test}(single-labeled)/set_1.csv`` (``video_name,label``,
  labels 1..7 = happiness, sadness, neutral, anger, surprise, disgust, fear).

Identity lives in persistent per-actor traits (head shape, skin, hair, eyes, nose, mouth,
brows, beard, glasses) drawn from an RNG seeded by ``(seed, corpus stream, actor)``.
Expression lives in the dynamics of a clip: an onset-apex-offset envelope scaling
emotion-specific action-unit-like deformations (mouth corners, opening, stretch, press,
upper-lip raise, brow raise/inner raise/lowering, eye widening/narrowing, nose wrinkle).
Nuisance that is tied neither to identity nor to emotion: head position and scale, smooth
pose jitter (translation, roll, a little yaw/pitch), lighting gain, colour cast and a
directional gradient, per-clip background and clothing, blinks, gaze, pixel noise and a
speaking mouth rhythm present in every clip. Shapes are drawn with ``skimage.draw`` at 2x
resolution and box-downsampled (anti-aliasing).
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
from PIL import Image
from skimage.transform import resize as _sk_resize

from ppfer_core import EMOTIONS
from ppfer_core.datasets import CREMAD_SENTENCES

SENTENCES: tuple[str, ...] = CREMAD_SENTENCES
"""CREMA-D's 12 sentence codes."""
LEVELS: tuple[str, ...] = ("LO", "MD", "HI", "XX")
"""CREMA-D's emotion-level codes (XX = unspecified)."""

DFEW_LABEL_CODES: dict[str, int] = {"HAP": 1, "SAD": 2, "NEU": 3, "ANG": 4, "SUR": 5, "DIS": 6, "FEA": 7}
"""DFEW's 7-class label of each generated emotion code (SUR = surprise, absent from CREMA-D)."""

LEVEL_INTENSITY: dict[str, float] = {"LO": 0.45, "MD": 0.7, "HI": 1.0}
"""Expression intensity per CREMA-D level; XX draws uniformly from 0.6-0.9."""

MIN_SIZE = 16
"""Smallest frame size (px) the renderer accepts."""
MAX_SIZE = 4095
"""Largest frame size (px): H.263-in-FLV stores width/height in 16 bits; kept well below."""

EXPRESSION_GAIN = 2.5
"""Scale of the emotion deformations (action units) at apex relative to the prototypes."""
SPEECH_GAIN = 0.6
"""Scale of the speaking mouth motion present in every clip (a nuisance to expression)."""

_STREAM_CREMAD = 1
_STREAM_DFEW = 2
_SS = 2  # supersampling factor

# Action-unit-like controls of the face model, in this order.
AU_NAMES: tuple[str, ...] = (
    "corner",  # mouth corners up (+) / down (-)
    "open",  # jaw/mouth opening
    "stretch",  # lips stretched horizontally (+) / rounded (-)
    "press",  # lips pressed, thinner
    "ulip",  # upper lip raise
    "brow_raise",  # whole brow up
    "brow_inner",  # inner brow up
    "brow_lower",  # brows down and together (frown)
    "widen",  # eyes wide open
    "narrow",  # eyes narrowed / cheek raise
    "wrinkle",  # nose wrinkle
)
_AU = {n: i for i, n in enumerate(AU_NAMES)}

_PROTOTYPES: dict[str, dict[str, float]] = {
    "ANG": dict(corner=-0.25, open=0.15, press=0.7, brow_lower=1.0, widen=0.3, narrow=0.1, ulip=0.1),
    "DIS": dict(corner=-0.4, ulip=0.9, wrinkle=1.0, brow_lower=0.45, narrow=0.5, open=0.1, press=0.1),
    "FEA": dict(
        corner=-0.2, open=0.45, stretch=0.8, brow_raise=0.6, brow_inner=0.7, brow_lower=0.3, widen=0.9
    ),
    "HAP": dict(corner=1.0, stretch=0.5, open=0.3, narrow=0.55, brow_raise=0.05),
    "SAD": dict(corner=-0.8, brow_inner=0.9, brow_lower=0.2, narrow=0.35, press=0.25, stretch=0.1),
    "NEU": dict(),
    "SUR": dict(open=1.0, stretch=-0.35, brow_raise=1.0, brow_inner=0.2, widen=1.0),
}

_SKIN = np.array(
    [
        [0.97, 0.84, 0.74],
        [0.93, 0.75, 0.62],
        [0.84, 0.64, 0.49],
        [0.70, 0.50, 0.36],
        [0.52, 0.36, 0.25],
        [0.36, 0.24, 0.17],
    ]
)
_HAIR = np.array(
    [
        [0.07, 0.06, 0.05],
        [0.20, 0.13, 0.08],
        [0.38, 0.25, 0.15],
        [0.80, 0.66, 0.40],
        [0.58, 0.25, 0.11],
        [0.62, 0.61, 0.60],
        [0.12, 0.10, 0.09],
    ]
)
_IRIS = np.array(
    [
        [0.30, 0.18, 0.10],
        [0.15, 0.09, 0.06],
        [0.45, 0.38, 0.18],
        [0.25, 0.45, 0.30],
        [0.25, 0.45, 0.70],
        [0.45, 0.50, 0.55],
    ]
)


# ----------------------------------------------------------------------------- helpers


def _rng(*keys: int) -> np.random.Generator:
    """A NumPy generator seeded by a tuple of non-negative integers."""
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in keys])


def _check_size(size: int) -> None:
    """Raise ValueError unless the FLV/H.263 encoder and the renderer accept ``size``."""
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
        raise ValueError(f"size must be an integer number of pixels, got {size!r}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be in [{MIN_SIZE}, {MAX_SIZE}] px, got {size}")


def _check_frames(n_frames: tuple[int, int]) -> tuple[int, int]:
    """Validate a (min, max) frame-count range."""
    lo, hi = (int(v) for v in n_frames)
    if lo < 2 or hi < lo:
        raise ValueError(f"n_frames must be (min, max) with 2 <= min <= max, got {n_frames!r}")
    return lo, hi


def _catmull(pts: np.ndarray, k: int, closed: bool) -> np.ndarray:
    """Catmull-Rom spline through ``pts`` [n,2] with ``k`` samples per segment."""
    p = np.asarray(pts, dtype=np.float64)
    if closed:
        ext = np.concatenate([p[-1:], p, p[:2]])
        nseg = len(p)
    else:
        ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
        nseg = len(p) - 1
    p0, p1, p2, p3 = (ext[i : i + nseg, None, :] for i in range(4))
    t = np.linspace(0.0, 1.0, k, endpoint=False)[None, :, None]
    out = 0.5 * (
        (2 * p1)
        + (p2 - p0) * t
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t
        + (3 * p1 - p0 - 3 * p2 + p3) * t * t * t
    )
    out = out.reshape(-1, 2)
    return out if closed else np.concatenate([out, p[-1:]])


def _poly_mask(poly: np.ndarray | list[np.ndarray], shape: tuple[int, int]) -> tuple[int, int, np.ndarray]:
    """Even-odd scanline fill of one polygon or a list of rings (x, y vertices; pixel centres at
    integers) clipped to ``shape``: returns (row0, col0, mask) with mask the bounding-box crop."""
    rings = poly if isinstance(poly, list) else [poly]
    p0 = np.concatenate(rings)
    p1 = np.concatenate([x for r in rings for x in (r[1:], r[:1])])
    x0, y0, x1, y1 = p0[:, 0], p0[:, 1], p1[:, 0], p1[:, 1]
    H, W = shape
    lo, hi = p0.min(0), p0.max(0)
    r0, r1 = max(int(np.ceil(lo[1])), 0), min(int(np.floor(hi[1])), H - 1)
    c0, c1 = max(int(np.ceil(lo[0])), 0), min(int(np.floor(hi[0])), W - 1)
    if r1 < r0 or c1 < c0:
        return 0, 0, np.zeros((0, 0), dtype=bool)
    rc = np.arange(r0, r1 + 1, dtype=np.float64)[:, None]
    cross = (y0 <= rc) != (y1 <= rc)
    dy = y1 - y0
    dy[dy == 0] = 1.0
    xc = np.where(cross, x0 + (rc - y0) * ((x1 - x0) / dy), np.inf)
    kmax = int(cross.sum(1).max())
    R, Wb = r1 - r0 + 1, c1 - c0 + 1
    if kmax < 2:
        return r0, c0, np.zeros((R, Wb), dtype=bool)
    xc.sort(axis=1)
    xc = xc[:, : kmax - kmax % 2]
    cs = np.ceil(xc[:, 0::2]) - c0
    ce = np.floor(xc[:, 1::2]) - c0
    ok = np.isfinite(ce)
    cs = np.clip(np.where(ok, cs, 0), 0, Wb).astype(np.int64)
    ce = np.clip(np.where(ok, ce, -1), -1, Wb - 1).astype(np.int64)
    ok &= cs <= ce
    ri = np.broadcast_to(np.arange(R)[:, None] * (Wb + 1), cs.shape)[ok]
    n = R * (Wb + 1)
    d = np.bincount(ri + cs[ok], minlength=n) - np.bincount(ri + ce[ok] + 1, minlength=n)
    return r0, c0, np.cumsum(d.reshape(R, Wb + 1), axis=1)[:, :Wb] > 0


def _thick(line: np.ndarray, width: np.ndarray | float) -> np.ndarray:
    """Polygon [2n,2] of a polyline [n,2] widened to ``width`` (scalar or per point)."""
    d = np.empty_like(line)
    d[1:-1] = line[2:] - line[:-2]
    d[0], d[-1] = line[1] - line[0], line[-1] - line[-2]
    nrm = d[:, ::-1] * (-1.0, 1.0)
    nrm /= np.sqrt((nrm * nrm).sum(1))[:, None] + 1e-9
    nrm *= np.asarray(width, dtype=np.float64).reshape(-1, 1) / 2
    return np.concatenate([line + nrm, (line - nrm)[::-1]])


_UNIT_CIRCLES: dict[int, np.ndarray] = {}


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 20) -> np.ndarray:
    """Closed polygon [n,2] approximating an axis-aligned ellipse."""
    u = _UNIT_CIRCLES.get(n)
    if u is None:
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        u = _UNIT_CIRCLES[n] = np.stack([np.cos(a), np.sin(a)], 1)
    return u * (rx, ry) + (cx, cy)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    """Cubic smoothstep on [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _smooth_noise(
    rng: np.random.Generator, n: int, n_waves: int = 3, period: tuple[float, float] = (12, 60)
) -> np.ndarray:
    """A smooth zero-mean unit-ish random signal of length ``n`` (sum of random sinusoids)."""
    t = np.arange(n, dtype=np.float64)[:, None]
    per = rng.uniform(*period, size=n_waves)
    ph = rng.uniform(0, 2 * np.pi, size=n_waves)
    amp = rng.uniform(0.5, 1.0, size=n_waves)
    s = (amp * np.sin(2 * np.pi * t / per + ph)).sum(1)
    return s / np.sqrt((amp**2).sum() / 2)


# ----------------------------------------------------------------------------- identity


def actor_traits(actor: int, seed: int, stream: int = _STREAM_CREMAD) -> dict:
    """Persistent appearance traits of one actor, drawn from an RNG seeded by (seed, stream, actor)."""
    r = _rng(seed, stream, actor, 7)
    pal = lambda p, t: p[int(np.floor(t))] * (1 - t % 1) + p[min(int(np.floor(t)) + 1, len(p) - 1)] * (t % 1)
    skin = np.clip(pal(_SKIN, r.uniform(0, len(_SKIN) - 1)) * r.normal(1, 0.03, 3), 0.05, 1)
    hair = np.clip(_HAIR[r.integers(len(_HAIR))] * r.normal(1, 0.08, 3) + r.normal(0, 0.02, 3), 0.02, 0.95)
    style = int(r.choice(4, p=[0.08, 0.42, 0.3, 0.2]))  # 0 bald, 1 short, 2 long, 3 side-swept
    fw = r.uniform(0.86, 1.08)
    t = dict(
        skin=skin,
        hair=hair,
        lip=np.clip(
            skin * np.array([0.86, 0.58, 0.58]) * r.uniform(0.85, 1.05) + np.array([0.06, 0, 0.02]), 0, 1
        ),
        iris=np.clip(_IRIS[r.integers(len(_IRIS))] * r.normal(1, 0.1, 3), 0.02, 1),
        fw=fw,  # face half-width (local unit ~ 1)
        fh=r.uniform(1.22, 1.45),  # chin below face centre
        fhead=r.uniform(1.05, 1.3),  # top of skull above face centre
        jaw_sq=r.uniform(2.0, 3.4),  # superellipse exponent of the jaw (2 round .. 3.4 square)
        temple=r.uniform(0.0, 0.12),
        style=style,
        hl=r.uniform(-0.95, -0.5) if style != 0 else -1.6,  # hairline height
        hl_slant=r.uniform(-0.3, 0.3) if style == 3 else r.uniform(-0.06, 0.06),
        hl_m=r.uniform(0.0, 0.18),  # receding "M" hairline amplitude
        hvol=r.uniform(0.05, 0.22),  # hair volume above the skull
        sideburn=r.uniform(-0.05, 0.25),
        hlen=r.uniform(1.0, 1.9),  # long-hair length (below face centre)
        es=r.uniform(0.34, 0.46),  # eye half-spacing
        ew=r.uniform(0.14, 0.19),  # eye half-width
        eh=r.uniform(0.055, 0.085),  # eye half-height (upper lid)
        ey=r.uniform(-0.34, -0.22),  # eye level
        etilt=r.uniform(-0.025, 0.03),  # outer-corner drop
        iris_r=r.uniform(0.065, 0.085),
        bgap=r.uniform(0.13, 0.2),  # brow above eye
        barch=r.uniform(0.015, 0.06),
        bthick=r.uniform(0.03, 0.075),
        blen=r.uniform(1.0, 1.25),
        nlen=r.uniform(0.1, 0.28),  # nose tip level
        nw=r.uniform(0.11, 0.18),  # nostril half-width
        mgap=r.uniform(0.22, 0.32),  # nose tip to mouth
        mw=r.uniform(0.24, 0.35),  # mouth half-width
        ut=r.uniform(0.05, 0.085),  # upper lip thickness
        lt=r.uniform(0.07, 0.115),  # lower lip thickness
        rest_corner=r.uniform(-0.25, 0.2),  # resting mouth-corner curve
        expressive=r.uniform(0.8, 1.2),
        ear=r.uniform(0.85, 1.2),
        neck=r.uniform(0.42, 0.56),
        beard=int(r.choice(3, p=[0.75, 0.15, 0.1])),  # 0 none, 1 full, 2 stubble/goatee
        glasses=bool(r.random() < 0.15),
        glasses_col=np.array([0.05, 0.05, 0.05]) if r.random() < 0.6 else r.uniform(0.1, 0.7, 3),
    )
    return t


# ----------------------------------------------------------------------------- dynamics


def _clip_params(
    r: np.random.Generator,
    tr: dict,
    emotion: str,
    intensity: float,
    n: int,
    fps: float,
    size: int,
    wild: bool,
) -> dict:
    """All per-clip randomness: expression trajectory, speech, pose, lighting, background.

    Four independent child streams (expression, speech/eyes, pose, look) are spawned from ``r``,
    so two clips rendered from the same ``r`` seed share every nuisance and differ only in
    their expression.
    """
    re_, rs, rp, rl = r.spawn(4)
    # expression: prototype with per-clip variation, onset-apex-offset envelope
    proto = np.zeros(len(AU_NAMES))
    for k, v in _PROTOTYPES[emotion].items():
        proto[_AU[k]] = v
    jitter = re_.uniform(0.7, 1.3, proto.shape), re_.normal(0, 0.08, proto.shape)
    if emotion != "NEU":
        proto = (proto * jitter[0] + jitter[1]) * tr["expressive"] * EXPRESSION_GAIN
    x = np.arange(n) / max(n - 1, 1)
    a = re_.uniform(0.0, 0.3)
    b = a + re_.uniform(0.15, 0.35)
    c = b + re_.uniform(0.15, 0.4)
    d = c + re_.uniform(0.1, 0.35)
    resid = re_.uniform(0.2, 0.6)
    env = _smoothstep((x - a) / (b - a)) * (1 - (1 - resid) * _smoothstep((x - c) / (d - c)))
    au = env[:, None] * intensity * proto[None, :]
    au[:, _AU["brow_lower"]] = np.minimum(au[:, _AU["brow_lower"]], 1.2)  # brows stay above the eyelids
    # speaking: syllable rhythm, present in every clip
    rate = rs.uniform(3.0, 5.5) / fps  # syllables per frame
    phase = np.cumsum(np.full(n, rate) * rs.uniform(0.8, 1.2, n))
    syl_amp = rs.uniform(0.4, 1.0, int(phase[-1]) + 3)
    speak = (
        (0.5 - 0.5 * np.cos(2 * np.pi * phase)) ** 1.3
        * syl_amp[phase.astype(int)]
        * rs.uniform(0.2, 0.45)
        * SPEECH_GAIN
    )
    au[:, _AU["open"]] += speak
    au[:, _AU["stretch"]] += 0.25 * np.sin(2 * np.pi * phase * 0.5 + rs.uniform(0, 6)) * rs.uniform(0, 0.8)
    au[:, _AU["corner"]] += tr["rest_corner"]
    # blinks and gaze
    blink = np.ones(n)
    if rs.random() < 0.35:
        f = rs.integers(0, n)
        blink[f] = 0.1
        if f + 1 < n:
            blink[f + 1] = 0.45
    gaze = np.stack([np.full(n, rs.uniform(-0.5, 0.5)), np.full(n, rs.uniform(-0.3, 0.3))], 1)
    gaze += 0.12 * np.stack([_smooth_noise(rs, n), _smooth_noise(rs, n)], 1)

    # pose: placement + smooth jitter
    k = 1.8 if wild else 1.0
    # framing of a face-cropped clip: the face fills most of the frame, as after ingest's face crop
    scale = size * (rp.uniform(0.40, 0.47) if wild else rp.uniform(0.42, 0.46))
    cx = size * (0.5 + rp.uniform(-0.03, 0.03) * k)
    cy = size * (rp.uniform(0.36, 0.42) if wild else rp.uniform(0.37, 0.41))
    pose = dict(
        tx=cx + size * 0.008 * k * _smooth_noise(rp, n) + rp.normal(0, 0.08 * size / 64, n),
        ty=cy + size * 0.008 * k * _smooth_noise(rp, n) + rp.normal(0, 0.08 * size / 64, n),
        s=scale * (1 + 0.015 * k * _smooth_noise(rp, n)),
        roll=np.deg2rad(rp.uniform(-4, 4) * k * (2 if wild else 1) + 1.5 * k * _smooth_noise(rp, n)),
        yaw=rp.uniform(-0.12, 0.12) * (3 if wild else 1) + 0.04 * k * _smooth_noise(rp, n),
        pitch=rp.uniform(-0.08, 0.08) * k + 0.03 * k * _smooth_noise(rp, n),
    )
    # appearance nuisance
    light = dict(
        gain=rl.uniform(0.55, 1.3) if wild else rl.uniform(0.8, 1.15),
        cast=rl.normal(1, 0.1 if wild else 0.04, 3),
        grad=rl.uniform(0.0, 0.5 if wild else 0.22),
        gdir=rl.uniform(0, 2 * np.pi),
        noise=rl.uniform(3, 9) if wild else rl.uniform(1.5, 4.5),
        flicker=0.03 if wild else 0.01,
    )
    return dict(
        au=au,
        env=env,
        blink=blink,
        gaze=gaze,
        pose=pose,
        light=light,
        cloth=rl.uniform(0.05, 0.9, 3),
        bg_seed=int(rl.integers(2**31)),
        noise_seed=int(rl.integers(2**31)),
        jpeg_q=int(rl.integers(70, 96)) if wild else 95,
        wild=wild,
    )


# ----------------------------------------------------------------------------- geometry


def _geometry(tr: dict, au: np.ndarray, blink: float, gaze: np.ndarray) -> dict:
    """Local face geometry (unit ~ face half-width, y down, origin between eyes and nose)."""
    A = {n: float(au[i]) for n, i in _AU.items()}
    opn = float(np.clip(A["open"], 0.0, 1.4))
    fw, fh, fhead = tr["fw"], tr["fh"], tr["fhead"]
    g: dict = {}

    # jaw (0-16) and face outline
    y0 = -0.12
    jd = 0.12 * opn  # jaw drop

    def jaw(t: np.ndarray) -> np.ndarray:
        c, s = -np.cos(np.pi * t), np.sin(np.pi * t)
        e = 2.0 / tr["jaw_sq"]
        x = fw * np.sign(c) * np.abs(c) ** e
        y = y0 + (fh - y0) * np.abs(s) ** e + jd * s**2
        return np.stack([x, y], 1)

    lm_jaw = jaw(np.linspace(0, 1, 17))
    a = np.linspace(0, np.pi, 24)
    top = np.stack([fw * np.cos(a) * (1 - tr["temple"] * np.sin(a) ** 2), y0 - (fhead + y0) * np.sin(a)], 1)
    g["face"] = np.concatenate([jaw(np.linspace(0, 1, 33)), top[1:-1]])

    # brows (17-21 left outer->inner, 22-26 right inner->outer)
    ey, es, ew = tr["ey"], tr["es"], tr["ew"]
    u = np.linspace(0, 1, 5)  # 0 outer .. 1 inner
    bx_out, bx_in = es + ew * 1.15 * tr["blen"], es - ew * 1.05
    bx = bx_out + (bx_in - bx_out) * u
    by = (
        ey
        - tr["bgap"]
        - tr["barch"] * 4 * u * (1 - u)
        + 0.02 * (1 - u)
        - 0.11 * A["brow_raise"]
        - 0.1 * A["brow_inner"] * u**1.5
        + 0.07 * A["brow_lower"] * (0.4 + 0.6 * u)
    )
    bx = bx - 0.035 * max(A["brow_lower"], 0) * u
    brow_r = np.stack([bx, by], 1)  # image-right brow, outer->inner
    brow_l = brow_r[:, ::1] * np.array([-1, 1])
    lm_brow = np.concatenate([brow_l, brow_r[::-1]])
    bth = tr["bthick"] * (0.55 + 0.45 * np.sin(np.pi * (0.2 + 0.7 * u)))
    for side, b in (("l", brow_l), ("r", brow_r)):
        g["brow_" + side] = _thick(_catmull(b, 3, False), np.interp(np.linspace(0, 1, 13), u, bth))

    # nose (27-35)
    nt = tr["nlen"] - 0.035 * A["wrinkle"]
    nw = tr["nw"] * (1 + 0.2 * max(A["wrinkle"], 0))
    lm_nose = np.array(
        [
            [0, ey - 0.04],
            [0, ey + (nt - ey) * 0.36],
            [0, ey + (nt - ey) * 0.68],
            [0, nt],
            [-nw, nt + 0.02],
            [-nw * 0.5, nt + 0.05],
            [0, nt + 0.06],
            [nw * 0.5, nt + 0.05],
            [nw, nt + 0.02],
        ]
    )

    # eyes (36-41 left, 42-47 right)
    up = tr["eh"] * np.clip(1 + 0.75 * A["widen"] - 0.45 * A["narrow"], 0.2, 2.2) * blink
    lo = tr["eh"] * 0.78 * np.clip(1 + 0.3 * A["widen"] - 0.55 * A["narrow"], 0.25, 1.6) * max(blink, 0.35)
    lm_eyes = []
    for sgn in (-1, 1):
        cx = sgn * es
        outer, inner = cx + sgn * ew, cx - sgn * ew
        ring = np.array(
            [
                [inner, ey],
                [cx - sgn * ew / 3, ey - up],
                [cx + sgn * ew / 3, ey - up],
                [outer, ey + tr["etilt"]],
                [cx + sgn * ew / 3, ey + lo],
                [cx - sgn * ew / 3, ey + lo],
            ]
        )
        if sgn < 0:  # left eye: 36 outer, 37, 38 upper, 39 inner, 40, 41 lower
            ring = ring[[3, 2, 1, 0, 5, 4]]
        lm_eyes.append(ring)
        key = "l" if sgn < 0 else "r"
        g["eye_" + key] = _catmull(ring, 4, True)
        upper = ring[[0, 1, 2, 3]]
        g["lid_" + key] = _thick(_catmull(upper, 3, False), 0.022 + 0.012 * (blink < 0.5))
        icx = cx + gaze[0] * ew * 0.35
        icy = ey + gaze[1] * tr["eh"] * 0.3 + 0.1 * tr["eh"]
        g["iris_" + key] = _ellipse(icx, icy, tr["iris_r"], tr["iris_r"], 16)
        g["pupil_" + key] = _ellipse(icx, icy, tr["iris_r"] * 0.42, tr["iris_r"] * 0.42, 10)
        g["glint_" + key] = _ellipse(icx + 0.3 * tr["iris_r"], icy - 0.3 * tr["iris_r"], 0.018, 0.018, 6)
        if tr["glasses"]:
            g["glass_" + key] = _thick(
                _catmull(_ellipse(cx, ey + 0.01, ew * 1.7, ew * 1.25, 10), 2, True), 0.03
            )
    if tr["glasses"]:
        g["glass_bridge"] = _thick(
            np.array([[-es + ew * 1.65, ey - 0.02], [es - ew * 1.65, ey - 0.02]]), 0.03
        )
    lm_eyes = np.concatenate(lm_eyes)

    # mouth (48-59 outer, 60-67 inner)
    my = nt + tr["mgap"]
    mw = tr["mw"] * (1 + 0.2 * A["stretch"] - 0.1 * max(A["press"], 0) + 0.1 * max(A["corner"], 0))
    ut = tr["ut"] * (1 - 0.6 * np.clip(A["press"], 0, 1))
    lt = tr["lt"] * (1 - 0.6 * np.clip(A["press"], 0, 1))
    gap = 0.17 * opn
    gup = 0.02 * opn + 0.05 * max(A["ulip"], 0)
    ur = 0.05 * max(A["ulip"], 0)
    xo = np.array([-1, -0.6, -0.25, 0, 0.25, 0.6, 1, 0.6, 0.25, 0, -0.25, -0.6]) * mw
    yo = np.array(
        [
            0,
            -ut * 0.8 - ur,
            -ut - ur,
            -ut * 0.82 - ur,
            -ut - ur,
            -ut * 0.8 - ur,
            0,
            lt * 0.8 + gap * 0.85,
            lt + gap,
            lt + gap,
            lt + gap,
            lt * 0.8 + gap * 0.85,
        ]
    )
    xi = np.array([-0.88, -0.35, 0, 0.35, 0.88, 0.35, 0, -0.35]) * mw
    yi = np.array([0, -gup, -gup * 1.1, -gup, 0, gap * 0.9, gap, gap * 0.9])
    curve = lambda x: -0.13 * A["corner"] * (x / mw) ** 2
    lm_mouth = np.concatenate(
        [np.stack([xo, my + yo + curve(xo)], 1), np.stack([xi, my + yi + curve(xi)], 1)]
    )

    lm = np.concatenate([lm_jaw, lm_brow, lm_nose, lm_eyes, lm_mouth])
    g["lm"] = lm
    g["lips"] = _catmull(lm[48:60], 3, True)
    inner = lm[60:68]
    g["mouth_in"] = _catmull(inner, 3, True)
    g["lipline"] = _thick(_catmull(inner[[0, 1, 2, 3, 4]], 3, False), 0.012)
    teeth_top = _catmull(inner[[0, 1, 2, 3, 4]], 3, False)
    g["teeth"] = np.concatenate([teeth_top, (teeth_top + [0, 0.055])[::-1]])
    g["open"] = gap + gup

    # nose drawing
    n27 = lm_nose[0]
    g["nose_side_l"] = _thick(
        _catmull(np.array([n27 + [-0.07, 0.1], [-nw * 0.75, nt - 0.08], lm_nose[4] + [0, -0.01]]), 4, False),
        0.022,
    )
    g["nose_side_r"] = g["nose_side_l"] * np.array([-1, 1])
    g["nose_base"] = _ellipse(0, nt + 0.025, nw * 0.95, 0.05, 14)
    g["nose_tip"] = _ellipse(0, nt - 0.01, nw * 0.45, 0.04, 10)
    g["nostril_l"] = _ellipse(-nw * 0.48, nt + 0.04, 0.04, 0.018, 8)
    g["nostril_r"] = _ellipse(nw * 0.48, nt + 0.04, 0.04, 0.018, 8)
    w = np.clip(A["wrinkle"], 0, 1.5)
    g["wrinkles_alpha"] = 0.45 * min(w, 1.0)
    g["wrinkles"] = [
        _thick(
            np.array(
                [[-0.07 + 0.02 * i, n27[1] + 0.1 + 0.045 * i], [0.07 - 0.02 * i, n27[1] + 0.1 + 0.045 * i]]
            ),
            0.014,
        )
        for i in range(3)
    ]
    g["frown_alpha"] = 0.4 * float(np.clip(A["brow_lower"], 0, 1))
    g["frown"] = [
        _thick(np.array([[s * 0.045, ey - tr["bgap"] + 0.02], [s * 0.035, ey - 0.06]]), 0.013)
        for s in (-1, 1)
    ]
    g["smile_alpha"] = 0.35 * float(np.clip(A["corner"] - 0.2, 0, 1))
    g["smile"] = [
        _thick(
            _catmull(
                np.array(
                    [[s * (nw + 0.05), nt - 0.02], [s * (mw + 0.06), my - 0.02], [s * (mw + 0.05), my + 0.12]]
                ),
                3,
                False,
            ),
            0.016,
        )
        for s in (-1, 1)
    ]

    # ears, neck, hair, beard
    er = tr["ear"]
    g["ear_l"] = _ellipse(-fw - 0.02, -0.06, 0.1 * er, 0.2 * er, 14)
    g["ear_r"] = _ellipse(fw + 0.02, -0.06, 0.1 * er, 0.2 * er, 14)
    nk = tr["neck"]
    g["neck"] = np.array([[-nk, fh * 0.4], [nk, fh * 0.4], [nk * 1.1, fh + 1.4], [-nk * 1.1, fh + 1.4]])
    g["body"] = _ellipse(0, fh + 1.05, 2.3, 0.7, 28)
    rx, ry = fw + tr["hvol"], fhead + y0 + tr["hvol"]
    a = np.linspace(0, np.pi, 25)
    arc = np.stack([rx * np.cos(a), y0 - ry * np.sin(a)], 1)  # right -> top -> left
    if tr["style"] == 2:
        L = tr["hlen"]
        g["hair_back"] = np.concatenate(
            [arc, [[-rx - 0.05, 0.3], [-fw - 0.2, L], [fw + 0.2, L], [rx + 0.05, 0.3]]]
        )
    else:
        g["hair_back"] = None
    ys = y0 + tr["sideburn"]
    xs = np.linspace(fw, -fw, 21)
    hl = (
        tr["hl"]
        + tr["hl_slant"] * xs
        - tr["hl_m"] * np.cos(np.pi * xs / (2 * fw) * 1.6) ** 2 * (np.abs(xs) < fw * 0.6)
    )
    hl = hl + (ys - hl) * (np.abs(xs) / fw) ** 3
    if tr["style"] == 0:  # bald: only a band over the ears
        g["hair_top"] = [
            np.array([[-rx, y0 - 0.35], [-fw + 0.04, y0 - 0.45], [-fw + 0.02, ys], [-rx + 0.02, ys]]),
            np.array([[rx, y0 - 0.35], [fw - 0.04, y0 - 0.45], [fw - 0.02, ys], [rx - 0.02, ys]]),
        ]
    else:
        g["hair_top"] = [np.concatenate([arc, [[-rx, ys]], np.stack([xs[::-1], hl[::-1]], 1), [[rx, ys]]])]
    if tr["beard"]:
        jl = jaw(np.linspace(0.12, 0.88, 17))
        upper = np.array(
            [
                [0.45 * mw + 0.5, my - 0.06],
                [mw + 0.05, my - 0.12],
                [0, my - 0.1 - tr["ut"]],
                [-mw - 0.05, my - 0.12],
                [-0.45 * mw - 0.5, my - 0.06],
            ]
        )
        if tr["beard"] == 2:  # goatee: narrower
            jl = jaw(np.linspace(0.3, 0.7, 11))
            upper = np.array(
                [[mw + 0.03, my], [mw, my - 0.1], [0, my - 0.1 - tr["ut"]], [-mw, my - 0.1], [-mw - 0.03, my]]
            )
        g["beard"] = np.concatenate([jl, upper])
    return g


def _depth(p: np.ndarray, tr: dict) -> np.ndarray:
    """Pseudo depth (towards the camera) of local points, for yaw/pitch projection."""
    x, y = p[..., 0], p[..., 1]
    z = 0.55 * np.sqrt(np.clip(1 - (x / (tr["fw"] + 0.15)) ** 2, 0, 1))
    z = z + 0.35 * np.exp(-(x**2) / 0.02 - (y - tr["nlen"] * 0.6) ** 2 / 0.12)
    return z


# ----------------------------------------------------------------------------- rendering


class _Canvas:
    """A supersampled float RGB canvas with polygon fills (alpha-blended, optionally clipped)."""

    def __init__(self, bg: np.ndarray):
        self.img = bg.copy()
        self.shape = bg.shape[:2]

    def fill(
        self,
        poly: np.ndarray,
        col: np.ndarray,
        alpha: float = 1.0,
        clip: np.ndarray | None = None,
        shade: tuple | None = None,
    ) -> None:
        """Fill a polygon given in canvas (x, y) coordinates, optionally clipped to a full-canvas mask
        and multiplied by a radial shade ``(cx, cy, angle, rx, ry)``."""
        r0, c0, m = _poly_mask(poly, self.shape)
        h, w = m.shape
        if clip is not None and m.size:
            m = m & clip[r0 : r0 + h, c0 : c0 + w]
        if not m.any():
            return
        reg = self.img[r0 : r0 + h, c0 : c0 + w]
        c = np.asarray(col, dtype=np.float32)
        if shade is not None:
            cx, cy, ang, rx, ry = shade
            yy, xx = np.mgrid[r0 : r0 + h, c0 : c0 + w].astype(np.float32)
            u = np.cos(ang) * (xx - cx) + np.sin(ang) * (yy - cy)
            v = -np.sin(ang) * (xx - cx) + np.cos(ang) * (yy - cy)
            sh = np.clip(1.04 - 0.2 * ((u / rx) ** 2 + (v / ry) ** 2), 0.7, 1.04)
            c = c[None, :] * sh[m][:, None]
        if alpha >= 1.0:
            reg[m] = c
        else:
            reg[m] = reg[m] * (1 - alpha) + c * alpha

    def mask_of(self, poly: np.ndarray) -> np.ndarray:
        """Full-canvas boolean mask of a polygon."""
        full = np.zeros(self.shape, dtype=bool)
        r0, c0, m = _poly_mask(poly, self.shape)
        full[r0 : r0 + m.shape[0], c0 : c0 + m.shape[1]] = m
        return full


def _map_points(g: dict, fn) -> dict:
    """Apply ``fn`` to every [n,2] point array of a geometry dict (in one batched call)."""
    keys, arrs = [], []
    for k, v in g.items():
        if isinstance(v, np.ndarray) and v.ndim == 2:
            keys.append((k, None)), arrs.append(v)
        elif isinstance(v, list):
            for i, a in enumerate(v):
                keys.append((k, i)), arrs.append(a)
    sizes = np.cumsum([len(a) for a in arrs])[:-1]
    parts = np.split(fn(np.concatenate(arrs)), sizes)
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in g.items()}
    for (k, i), a in zip(keys, parts):
        if i is None:
            out[k] = a
        else:
            out[k][i] = a
    return out


def _background(r: np.random.Generator, S: int, wild: bool) -> np.ndarray:
    """A per-clip background (gradient + low-frequency texture; clutter when wild) at canvas size."""
    base = r.uniform(0.1, 0.9, 3)
    if not wild:  # studio-like: muted colours
        base = 0.45 * base + 0.55 * base.mean()
    other = np.clip(base + r.normal(0, 0.25 if wild else 0.12, 3), 0, 1)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) / S
    ang = r.uniform(0, 2 * np.pi)
    t = (np.cos(ang) * (xx - 0.5) + np.sin(ang) * (yy - 0.5) + 0.5)[..., None]
    img = base * (1 - t) + other * t
    lowres = r.normal(0, 0.08 if not wild else 0.14, (r.integers(3, 8), r.integers(3, 8), 3))
    img = img + _sk_resize(lowres, (S, S), order=1, mode="reflect", anti_aliasing=False)
    img = img + r.normal(0, 0.015, (S, S, 1))  # fine grain texture
    if r.random() < 0.25 or wild:  # stripes / panels
        per = r.uniform(0.08, 0.3)
        img = (
            img
            + (r.uniform(0.02, 0.08) if wild else r.uniform(0.01, 0.035))
            * np.sign(np.sin(2 * np.pi * (xx if r.random() < 0.5 else yy) / per))[..., None]
        )
    img = img.astype(np.float32)
    if wild:  # clutter: furniture / windows / lamps
        cv = _Canvas(img)
        for _ in range(r.integers(2, 7)):
            x0, y0 = r.uniform(-0.2, 1.0, 2) * S
            w, h = r.uniform(0.1, 0.5, 2) * S
            cv.fill(
                np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]]),
                r.uniform(0, 1, 3),
                r.uniform(0.5, 1),
            )
        for _ in range(r.integers(0, 4)):
            cv.fill(
                _ellipse(*(r.uniform(0, 1, 2) * S), *(r.uniform(0.03, 0.12, 2) * S)),
                r.uniform(0.5, 1, 3),
                r.uniform(0.3, 0.8),
            )
        img = cv.img
    return np.clip(img, 0, 1).astype(np.float32)


def _render_clip(tr: dict, cp: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render one clip: uint8 frames [F,H,W,3] and float32 landmarks [F,68,2] (x, y px)."""
    n = cp["au"].shape[0]
    S = size * _SS
    wild = cp["wild"]
    bg = _background(_rng(cp["bg_seed"]), S, wild)
    geos = [_geometry(tr, cp["au"][f], cp["blink"][f], cp["gaze"][f]) for f in range(n)]
    P = cp["pose"]

    # per-frame similarity transform local -> output pixels (with pseudo-3D yaw / pitch)
    def make_tf(f: int, s_fix: float, t_fix: np.ndarray):
        cy_, sy_ = np.cos(P["yaw"][f]), np.sin(P["yaw"][f])
        cp_, sp_ = np.cos(P["pitch"][f]), np.sin(P["pitch"][f])
        cr, sr = np.cos(P["roll"][f]), np.sin(P["roll"][f])
        s = P["s"][f] * s_fix
        t = np.array([P["tx"][f], P["ty"][f]]) * s_fix + t_fix

        def tf(p: np.ndarray) -> np.ndarray:
            z = _depth(p, tr)
            x = p[..., 0] * cy_ + z * sy_
            y = p[..., 1] * cp_ - z * sp_ * 0.6
            return np.stack([cr * x - sr * y, sr * x + cr * y], -1) * s + t

        return tf

    # keep all landmarks inside the frame: shrink about the centre if needed
    # the fit is computed on the expressionless face (with headroom for jaw drop and brow raise),
    # so that the framing never depends on the emotion
    rest = np.zeros(len(AU_NAMES))
    neutral = [_geometry(tr, rest, 1.0, cp["gaze"][f])["lm"] for f in range(n)]
    lm = np.stack([make_tf(f, 1.0, np.zeros(2))(g) for f, g in enumerate(neutral)])
    margin = 1.0 + 0.02 * size
    c0 = size / 2 - 0.5
    ext = 1.12 * np.abs(lm - c0).max()
    s_fix = min(1.0, (c0 - margin) / max(ext, 1e-6))
    t_fix = np.full(2, c0 * (1 - s_fix))
    lm = np.stack([make_tf(f, s_fix, t_fix)(g["lm"]) for f, g in enumerate(geos)])
    lm = np.clip(lm, 0.0, size - 1.0)

    L = cp["light"]
    yy, xx = (np.mgrid[0:size, 0:size].astype(np.float32) - size / 2) / size
    grad = 1 + L["grad"] * (np.cos(L["gdir"]) * xx + np.sin(L["gdir"]) * yy) * 2
    lightmap = (L["gain"] * grad[..., None] * L["cast"][None, None, :]).astype(np.float32)
    nrng = _rng(cp["noise_seed"])
    skin, hair = tr["skin"], tr["hair"]
    black = np.array([0.03, 0.03, 0.03])
    frames = np.empty((n, size, size, 3), dtype=np.uint8)
    for f, g in enumerate(geos):
        tf0 = make_tf(f, s_fix, t_fix)
        q = _map_points(g, lambda p: tf0(p) * _SS + (_SS - 1) / 2)  # canvas px (pixel centres)
        cv = _Canvas(bg)
        fc = tf0(np.array([0.0, 0.15])) * _SS + (_SS - 1) / 2
        sc = P["s"][f] * s_fix * _SS
        shade = (fc[0], fc[1], P["roll"][f], sc * tr["fw"], sc * 1.3)

        cv.fill(q["body"], cp["cloth"])
        if q["hair_back"] is not None:
            cv.fill(q["hair_back"], hair * 0.85)
        cv.fill(q["neck"], skin * 0.78)
        cv.fill([q["ear_l"], q["ear_r"]], skin * 0.88)
        cv.fill(q["face"], skin, shade=shade)
        if tr["beard"]:
            cv.fill(q["beard"], hair * 0.9, 0.85 if tr["beard"] == 1 else 0.6)
        cv.fill(q["hair_top"], hair)
        # eyes and brows
        m = cv.mask_of([q["eye_l"], q["eye_r"]])
        cv.img[m] = np.array([0.93, 0.92, 0.9], dtype=np.float32)
        cv.fill([q["iris_l"], q["iris_r"]], tr["iris"], clip=m)
        cv.fill([q["pupil_l"], q["pupil_r"]], black, clip=m)
        cv.fill([q["glint_l"], q["glint_r"]], np.ones(3), 0.8, clip=m)
        cv.fill([q["lid_l"], q["lid_r"]], np.minimum(hair, 0.25) * 0.6 + 0.05)
        cv.fill([q["brow_l"], q["brow_r"]], hair * 0.8 + skin * 0.1, 0.92)
        # nose and expression lines
        cv.fill(q["nose_base"], skin * 0.8, 0.35)
        cv.fill([q["nose_side_l"], q["nose_side_r"]], skin * 0.75, 0.35)
        cv.fill(q["nose_tip"], np.minimum(skin * 1.12, 1), 0.5)
        cv.fill([q["nostril_l"], q["nostril_r"]], skin * 0.35, 0.85)
        for name in ("wrinkles", "frown", "smile"):
            if q[name + "_alpha"] > 0.02:
                cv.fill(q[name], skin * 0.62, q[name + "_alpha"])
        # mouth
        cv.fill(q["lips"], tr["lip"])
        if q["open"] > 0.012:
            m = cv.mask_of(q["mouth_in"])
            cv.img[m] = np.array([0.22, 0.06, 0.07], dtype=np.float32)
            cv.fill(q["teeth"], np.array([0.92, 0.9, 0.84]), clip=m)
        cv.fill(q["lipline"], tr["lip"] * 0.55)
        if tr["glasses"]:
            cv.fill([q["glass_l"], q["glass_r"], q["glass_bridge"]], tr["glasses_col"])

        im = cv.img
        small = (im[0::2, 0::2] + im[1::2, 0::2] + im[0::2, 1::2] + im[1::2, 1::2]) * 0.25
        flick = 1 + L["flicker"] * nrng.normal()
        out = small * lightmap * flick * 255.0 + nrng.normal(0, L["noise"], small.shape)
        frames[f] = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return frames, lm.astype(np.float32)


def render_clip(
    actor: int,
    emotion: str,
    intensity: float,
    n_frames: int,
    size: int,
    seed: int,
    clip_key: int = 0,
    fps: float = 30.0,
    wild: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one clip in memory: uint8 frames [F,H,W,3] and float32 landmarks [F,68,2]."""
    _check_size(size)
    stream = _STREAM_DFEW if wild else _STREAM_CREMAD
    tr = actor_traits(actor, seed, stream)
    r = _rng(seed, stream, actor, 11, clip_key)
    return _render_clip(tr, _clip_params(r, tr, emotion, intensity, n_frames, fps, size, wild), size)


# ----------------------------------------------------------------------------- writers


def write_flv(path: Path, frames: np.ndarray, fps: int) -> None:
    """Encode uint8 RGB frames [F,H,W,3] into an FLV file with Sorenson H.263 (encoder ``flv``)."""
    n, h, w, _ = frames.shape
    with av.open(str(path), mode="w", format="flv") as container:
        stream = container.add_stream("flv", rate=Fraction(int(fps), 1))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = int(max(400_000, 4 * w * h * fps))
        stream.codec_context.time_base = Fraction(1, int(fps))
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[i]), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, int(fps))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _cremad_combos(emotion: str) -> list[tuple[str, str]]:
    """The (sentence, level) pairs CREMA-D records for an emotion."""
    if emotion == "NEU":
        return [(s, "XX") for s in SENTENCES]
    return [("IEO", lv) for lv in ("LO", "MD", "HI")] + [(s, "XX") for s in SENTENCES if s != "IEO"]


def generate_cremad(
    out_dir: Path,
    n_actors: int,
    clips_per_cell: int,
    n_frames: tuple[int, int],
    size: int,
    fps: int,
    seed: int,
    first_actor: int = 1001,
) -> pd.DataFrame:
    """Write {out_dir}/VideoFlash/{actor}_{sentence}_{EMO}_{level}.flv and {out_dir}/landmarks.npz; return one row per file (file, actor, sentence, emotion, level, n_frames)."""
    _check_size(size)
    lo, hi = _check_frames(n_frames)
    if n_actors < 1:
        raise ValueError(f"n_actors must be >= 1, got {n_actors}")
    if not 1 <= clips_per_cell <= len(SENTENCES):
        raise ValueError(
            f"clips_per_cell must be in [1, {len(SENTENCES)}] (NEU has 12 sentence/level combinations), got {clips_per_cell}"
        )
    if not (1000 <= first_actor and first_actor + n_actors - 1 <= 9999):
        raise ValueError("actor ids must have 4 digits (CREMA-D naming)")
    if fps < 1:
        raise ValueError(f"fps must be >= 1, got {fps}")
    out_dir = Path(out_dir)
    vdir = out_dir / "VideoFlash"
    vdir.mkdir(parents=True, exist_ok=True)
    rows, marks = [], {}
    for actor in range(first_actor, first_actor + n_actors):
        tr = actor_traits(actor, seed, _STREAM_CREMAD)
        for ei, emo in enumerate(EMOTIONS):
            combos = _cremad_combos(emo)
            pick = _rng(seed, _STREAM_CREMAD, actor, 3, ei).permutation(len(combos))[:clips_per_cell]
            for ci in sorted(pick):
                sent, lev = combos[ci]
                r = _rng(seed, _STREAM_CREMAD, actor, 5, ei, ci)
                nf = int(r.integers(lo, hi + 1))
                inten = LEVEL_INTENSITY[lev] if lev in LEVEL_INTENSITY else float(r.uniform(0.6, 0.9))
                cp = _clip_params(r, tr, emo, inten, nf, fps, size, wild=False)
                frames, lm = _render_clip(tr, cp, size)
                stem = f"{actor}_{sent}_{emo}_{lev}"
                write_flv(vdir / f"{stem}.flv", frames, fps)
                marks[stem] = lm
                rows.append(
                    dict(file=f"{stem}.flv", actor=actor, sentence=sent, emotion=emo, level=lev, n_frames=nf)
                )
    np.savez_compressed(out_dir / "landmarks.npz", **marks)
    return pd.DataFrame(rows, columns=["file", "actor", "sentence", "emotion", "level", "n_frames"])


def generate_dfew(
    out_dir: Path,
    n_actors: int,
    clips_per_class: int,
    n_frames: tuple[int, int],
    size: int,
    seed: int,
    first_actor: int,
) -> pd.DataFrame:
    """Write a DFEW-layout corpus: {out_dir}/Clip/clip_224x224/{id:05d}/*.jpg frame folders and {out_dir}/EmoLabel_DataSplit/{train,test}(single-labeled)/set_1.csv (video_name,label); return one row per clip."""
    _check_size(size)
    lo, hi = _check_frames(n_frames)
    if n_actors < 1 or clips_per_class < 1:
        raise ValueError("n_actors and clips_per_class must be >= 1")
    out_dir = Path(out_dir)
    clip_root = out_dir / "Clip" / "clip_224x224"
    clip_root.mkdir(parents=True, exist_ok=True)
    emos = [
        e for e, _ in sorted(DFEW_LABEL_CODES.items(), key=lambda kv: kv[1])
    ]  # HAP SAD NEU ANG SUR DIS FEA
    r = _rng(seed, _STREAM_DFEW, 1)
    # clips: class-balanced; actors assigned round-robin over a shuffled order, ids in random order
    jobs = [(emo, j) for emo in emos for j in range(clips_per_class)]
    actors = first_actor + (np.arange(len(jobs)) % n_actors)
    actors = actors[r.permutation(len(jobs))]
    order = r.permutation(len(jobs))
    # stratified ~80/20 split
    split = np.empty(len(jobs), dtype=object)
    for emo in emos:
        idx = np.array([i for i, (e, _) in enumerate(jobs) if e == emo])
        n_test = int(round(0.2 * len(idx))) if len(idx) >= 5 else (1 if len(idx) >= 2 else 0)
        test = set(r.permutation(idx)[:n_test].tolist())
        for i in idx:
            split[i] = "test" if i in test else "train"
    rows = []
    for vid, ji in enumerate(order, start=1):
        emo, _ = jobs[ji]
        actor = int(actors[ji])
        tr = actor_traits(actor, seed, _STREAM_DFEW)
        rc = _rng(seed, _STREAM_DFEW, 9, vid)
        nf = int(rc.integers(lo, hi + 1))
        cp = _clip_params(rc, tr, emo, float(rc.uniform(0.55, 1.0)), nf, 25.0, size, wild=True)
        frames, _ = _render_clip(tr, cp, size)
        d = clip_root / f"{vid:05d}"
        d.mkdir(exist_ok=True)
        for k, fr in enumerate(frames, start=1):
            Image.fromarray(fr).save(d / f"{vid:05d}_{k:05d}.jpg", quality=cp["jpeg_q"])
        rows.append(
            dict(
                video_name=vid,
                label=DFEW_LABEL_CODES[emo],
                emotion=emo,
                actor=actor,
                split=split[ji],
                n_frames=nf,
                clip_dir=f"Clip/clip_224x224/{vid:05d}",
            )
        )
    df = pd.DataFrame(rows)
    for sp in ("train", "test"):
        d = out_dir / "EmoLabel_DataSplit" / f"{sp}(single-labeled)"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "set_1.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["video_name", "label"])
            for _, row in df[df["split"] == sp].sort_values("video_name").iterrows():
                w.writerow([int(row["video_name"]), int(row["label"])])
    return df
