"""Rendering of a synthetic clip: background, projection of the face geometry to pixels, drawing
of the face parts at 2x resolution, lighting and noise, and the landmarks in output pixels."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from skimage.transform import resize as _sk_resize

from ppfer_core.synthetic.dynamics import AU_NAMES, ClipParams, Lighting, _clip_params
from ppfer_core.synthetic.geometry import FaceGeometry, face_geometry, map_points
from ppfer_core.synthetic.shapes import _Canvas, _ellipse, _rng
from ppfer_core.synthetic.traits import (
    FULL_BEARD,
    NO_BEARD,
    STREAM_CREMAD,
    STREAM_DFEW,
    ActorTraits,
    actor_traits,
)

MIN_SIZE = 16
"""Smallest frame size (px) the renderer accepts."""
MAX_SIZE = 4095
"""Largest frame size (px): H.263-in-FLV stores width/height in 16 bits; kept well below."""

_SS = 2  # supersampling factor
_EYE_WHITE = np.array([0.93, 0.92, 0.9], dtype=np.float32)
_MOUTH_INSIDE = np.array([0.22, 0.06, 0.07], dtype=np.float32)
_TEETH = np.array([0.92, 0.9, 0.84])
_BLACK = np.array([0.03, 0.03, 0.03])

Transform = Callable[[np.ndarray], np.ndarray]


def _check_size(size: int) -> None:
    """Raise ValueError unless the FLV/H.263 encoder and the renderer accept ``size``."""
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
        raise ValueError(f"size must be an integer number of pixels, got {size!r}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be in [{MIN_SIZE}, {MAX_SIZE}] px, got {size}")


def _depth(p: np.ndarray, tr: ActorTraits) -> np.ndarray:
    """Pseudo depth (towards the camera) of local points, for yaw/pitch projection."""
    x, y = p[..., 0], p[..., 1]
    z = 0.55 * np.sqrt(np.clip(1 - (x / (tr.face_width + 0.15)) ** 2, 0, 1))
    z = z + 0.35 * np.exp(-(x**2) / 0.02 - (y - tr.nose_tip * 0.6) ** 2 / 0.12)
    return z


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


def _projector(tr: ActorTraits, cp: ClipParams, f: int, s_fix: float, t_fix: np.ndarray) -> Transform:
    """Frame ``f``'s similarity transform local -> output pixels (with pseudo-3D yaw / pitch), after
    the framing fix (scale ``s_fix`` about the centre, then shift ``t_fix``)."""
    P = cp.pose
    cy_, sy_ = np.cos(P.yaw[f]), np.sin(P.yaw[f])
    cp_, sp_ = np.cos(P.pitch[f]), np.sin(P.pitch[f])
    cr, sr = np.cos(P.roll[f]), np.sin(P.roll[f])
    s = P.scale[f] * s_fix
    t = np.array([P.tx[f], P.ty[f]]) * s_fix + t_fix

    def tf(p: np.ndarray) -> np.ndarray:
        z = _depth(p, tr)
        x = p[..., 0] * cy_ + z * sy_
        y = p[..., 1] * cp_ - z * sp_ * 0.6
        return np.stack([cr * x - sr * y, sr * x + cr * y], -1) * s + t

    return tf


def _framing(tr: ActorTraits, cp: ClipParams, size: int) -> tuple[float, np.ndarray]:
    """Scale and shift that keep all landmarks inside the frame (shrinking about the centre if needed).

    The fit is computed on the expressionless face (with headroom for jaw drop and brow raise),
    so that the framing never depends on the emotion.
    """
    n = cp.au.shape[0]
    rest = np.zeros(len(AU_NAMES))
    neutral = [face_geometry(tr, rest, 1.0, cp.gaze[f]).landmarks for f in range(n)]
    lm = np.stack([_projector(tr, cp, f, 1.0, np.zeros(2))(g) for f, g in enumerate(neutral)])
    margin = 1.0 + 0.02 * size
    c0 = size / 2 - 0.5
    ext = 1.12 * np.abs(lm - c0).max()
    s_fix = min(1.0, (c0 - margin) / max(ext, 1e-6))
    return s_fix, np.full(2, c0 * (1 - s_fix))


def _lightmap(light: Lighting, size: int) -> np.ndarray:
    """Per-pixel RGB gain [size, size, 3]: overall gain, directional gradient and colour cast."""
    yy, xx = (np.mgrid[0:size, 0:size].astype(np.float32) - size / 2) / size
    grad = 1 + light.gradient * (np.cos(light.gradient_dir) * xx + np.sin(light.gradient_dir) * yy) * 2
    return (light.gain * grad[..., None] * light.cast[None, None, :]).astype(np.float32)


def _draw_head(cv: _Canvas, q: FaceGeometry, tr: ActorTraits, cloth: np.ndarray, shade: tuple) -> None:
    """Body, hair behind, neck, ears, shaded face, beard and hair on top."""
    skin, hair = tr.skin_colour, tr.hair_colour
    cv.fill(q.body, cloth)
    if q.hair_back is not None:
        cv.fill(q.hair_back, hair * 0.85)
    cv.fill(q.neck, skin * 0.78)
    cv.fill(list(q.ears), skin * 0.88)
    cv.fill(q.outline, skin, shade=shade)
    if tr.beard != NO_BEARD:
        cv.fill(q.beard, hair * 0.9, 0.85 if tr.beard == FULL_BEARD else 0.6)
    cv.fill(q.hair_top, hair)


def _draw_eyes(cv: _Canvas, q: FaceGeometry, tr: ActorTraits) -> None:
    """Eye whites, irises, pupils and glints (clipped to the whites), lids and brows."""
    skin, hair = tr.skin_colour, tr.hair_colour
    left, right = q.eyes
    m = cv.mask_of([left.outline, right.outline])
    cv.img[m] = _EYE_WHITE
    cv.fill([left.iris, right.iris], tr.iris_colour, clip=m)
    cv.fill([left.pupil, right.pupil], _BLACK, clip=m)
    cv.fill([left.glint, right.glint], np.ones(3), 0.8, clip=m)
    cv.fill([left.lid, right.lid], np.minimum(hair, 0.25) * 0.6 + 0.05)
    cv.fill(list(q.brows), hair * 0.8 + skin * 0.1, 0.92)


def _draw_nose(cv: _Canvas, q: FaceGeometry, skin: np.ndarray) -> None:
    """Nose shading and the visible expression lines."""
    nose = q.nose
    cv.fill(nose.base, skin * 0.8, 0.35)
    cv.fill([nose.side_l, nose.side_r], skin * 0.75, 0.35)
    cv.fill(nose.tip, np.minimum(skin * 1.12, 1), 0.5)
    cv.fill([nose.nostril_l, nose.nostril_r], skin * 0.35, 0.85)
    for crease in (q.wrinkles, q.frown, q.smile):
        if crease.alpha > 0.02:
            cv.fill(crease.strokes, skin * 0.62, crease.alpha)


def _draw_mouth(cv: _Canvas, q: FaceGeometry, tr: ActorTraits) -> None:
    """Lips, the inside and the teeth when open, the line between the lips; then the glasses."""
    mouth = q.mouth
    cv.fill(mouth.lips, tr.lip_colour)
    if mouth.opening > 0.012:
        m = cv.mask_of(mouth.inside)
        cv.img[m] = _MOUTH_INSIDE
        cv.fill(mouth.teeth, _TEETH, clip=m)
    cv.fill(mouth.lipline, tr.lip_colour * 0.55)
    if tr.glasses:
        cv.fill([q.eyes[0].glass, q.eyes[1].glass, q.glass_bridge], tr.glasses_colour)


def _draw_frame(
    bg: np.ndarray, g: FaceGeometry, tr: ActorTraits, cp: ClipParams, f: int, tf: Transform, s_fix: float
) -> np.ndarray:
    """Frame ``f`` on the supersampled canvas (float RGB [2H, 2W, 3]) from its local geometry ``g``."""
    q = map_points(g, lambda p: tf(p) * _SS + (_SS - 1) / 2)  # canvas px (pixel centres)
    cv = _Canvas(bg)
    fc = tf(np.array([0.0, 0.15])) * _SS + (_SS - 1) / 2
    sc = cp.pose.scale[f] * s_fix * _SS
    shade = (fc[0], fc[1], cp.pose.roll[f], sc * tr.face_width, sc * 1.3)
    _draw_head(cv, q, tr, cp.cloth, shade)
    _draw_eyes(cv, q, tr)
    _draw_nose(cv, q, tr.skin_colour)
    _draw_mouth(cv, q, tr)
    return cv.img


def _to_pixels(
    im: np.ndarray, lightmap: np.ndarray, light: Lighting, nrng: np.random.Generator
) -> np.ndarray:
    """Box-downsample a canvas by 2, light it, add flicker and pixel noise: uint8 [H, W, 3]."""
    small = (im[0::2, 0::2] + im[1::2, 0::2] + im[0::2, 1::2] + im[1::2, 1::2]) * 0.25
    flick = 1 + light.flicker * nrng.normal()
    out = small * lightmap * flick * 255.0 + nrng.normal(0, light.noise, small.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _render_clip(tr: ActorTraits, cp: ClipParams, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render one clip: uint8 frames [F,H,W,3] and float32 landmarks [F,68,2] (x, y px)."""
    n = cp.au.shape[0]
    bg = _background(_rng(cp.bg_seed), size * _SS, cp.wild)
    geos = [face_geometry(tr, cp.au[f], cp.blink[f], cp.gaze[f]) for f in range(n)]
    s_fix, t_fix = _framing(tr, cp, size)
    tfs = [_projector(tr, cp, f, s_fix, t_fix) for f in range(n)]
    lm = np.stack([tf(g.landmarks) for tf, g in zip(tfs, geos)])
    lm = np.clip(lm, 0.0, size - 1.0)
    lightmap = _lightmap(cp.light, size)
    nrng = _rng(cp.noise_seed)
    frames = np.empty((n, size, size, 3), dtype=np.uint8)
    for f, (g, tf) in enumerate(zip(geos, tfs)):
        frames[f] = _to_pixels(_draw_frame(bg, g, tr, cp, f, tf, s_fix), lightmap, cp.light, nrng)
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
    stream = STREAM_DFEW if wild else STREAM_CREMAD
    tr = actor_traits(actor, seed, stream)
    r = _rng(seed, stream, actor, 11, clip_key)
    return _render_clip(tr, _clip_params(r, tr, emotion, intensity, n_frames, fps, size, wild), size)
