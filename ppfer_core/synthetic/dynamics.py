"""Dynamics of a synthetic clip: all per-clip randomness (expression trajectory, speech, blinks,
gaze, head pose, lighting, background and noise seeds) in one :class:`ClipParams`."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ppfer_core.synthetic.shapes import _smooth_noise, _smoothstep
from ppfer_core.synthetic.traits import ActorTraits

EXPRESSION_GAIN = 2.5
"""Scale of the emotion deformations (action units) at apex relative to the prototypes."""
SPEECH_GAIN = 0.6
"""Scale of the speaking mouth motion present in every clip (a nuisance to expression)."""


@dataclass(frozen=True)
class ActionUnits:
    """Action-unit-like controls of the face model in one frame (the order of :data:`AU_NAMES`)."""

    corner: float
    """Mouth corners up (+) / down (-)."""
    open: float
    """Jaw/mouth opening."""
    stretch: float
    """Lips stretched horizontally (+) / rounded (-)."""
    press: float
    """Lips pressed, thinner."""
    ulip: float
    """Upper-lip raise."""
    brow_raise: float
    """Whole brow up."""
    brow_inner: float
    """Inner brow up."""
    brow_lower: float
    """Brows down and together (frown)."""
    widen: float
    """Eyes wide open."""
    narrow: float
    """Eyes narrowed / cheek raise."""
    wrinkle: float
    """Nose wrinkle."""

    @classmethod
    def of(cls, au: np.ndarray) -> ActionUnits:
        """The action units of one row [len(AU_NAMES)] of a clip's trajectory."""
        return cls(*(float(v) for v in au))


AU_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ActionUnits))
"""Names of the action-unit-like controls, in trajectory column order."""
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


@dataclass(frozen=True)
class Pose:
    """Per-frame head placement [F] in output pixels and radians."""

    tx: np.ndarray
    """Horizontal position of the face centre."""
    ty: np.ndarray
    """Vertical position of the face centre."""
    scale: np.ndarray
    """Pixels per local face unit."""
    roll: np.ndarray
    """In-plane rotation."""
    yaw: np.ndarray
    """Pseudo-3D turn left/right."""
    pitch: np.ndarray
    """Pseudo-3D nod up/down."""


@dataclass(frozen=True)
class Lighting:
    """Per-clip lighting and sensor nuisance."""

    gain: float
    """Overall brightness gain."""
    cast: np.ndarray
    """Per-channel RGB colour cast."""
    gradient: float
    """Strength of a directional brightness gradient."""
    gradient_dir: float
    """Direction of that gradient (radians)."""
    noise: float
    """Standard deviation of the pixel noise (0-255 scale)."""
    flicker: float
    """Standard deviation of a per-frame brightness flicker."""


@dataclass(frozen=True)
class ClipParams:
    """All per-clip randomness of one clip of ``F`` frames."""

    au: np.ndarray
    """Action-unit trajectory [F, len(AU_NAMES)] (expression + speech + resting corners)."""
    env: np.ndarray
    """Onset-apex-offset envelope [F] of the expression."""
    blink: np.ndarray
    """Eyelid opening factor [F] (1 open, 0.1 closed)."""
    gaze: np.ndarray
    """Gaze direction [F, 2] (x, y; about -0.5..0.5)."""
    pose: Pose
    """Head placement per frame."""
    light: Lighting
    """Lighting and sensor noise."""
    cloth: np.ndarray
    """Clothing RGB."""
    bg_seed: int
    """Seed of the background."""
    noise_seed: int
    """Seed of the per-frame flicker and pixel noise."""
    jpeg_q: int
    """JPEG quality of the written frames (DFEW form)."""
    wild: bool
    """In-the-wild nuisance (DFEW form) rather than studio-like (CREMA-D form)."""


def _expression(
    r: np.random.Generator, tr: ActorTraits, emotion: str, intensity: float, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expression action units [n, AU] and their envelope [n]: the emotion's prototype with
    per-clip variation, scaled by an onset-apex-offset envelope."""
    proto = np.zeros(len(AU_NAMES))
    for k, v in _PROTOTYPES[emotion].items():
        proto[_AU[k]] = v
    jitter = r.uniform(0.7, 1.3, proto.shape), r.normal(0, 0.08, proto.shape)
    if emotion != "NEU":
        proto = (proto * jitter[0] + jitter[1]) * tr.expressiveness * EXPRESSION_GAIN
    x = np.arange(n) / max(n - 1, 1)
    a = r.uniform(0.0, 0.3)
    b = a + r.uniform(0.15, 0.35)
    c = b + r.uniform(0.15, 0.4)
    d = c + r.uniform(0.1, 0.35)
    resid = r.uniform(0.2, 0.6)
    env = _smoothstep((x - a) / (b - a)) * (1 - (1 - resid) * _smoothstep((x - c) / (d - c)))
    au = env[:, None] * intensity * proto[None, :]
    au[:, _AU["brow_lower"]] = np.minimum(au[:, _AU["brow_lower"]], 1.2)  # brows stay above the eyelids
    return au, env


def _add_speech(r: np.random.Generator, au: np.ndarray, fps: float) -> None:
    """Add a speaking syllable rhythm (opening and stretch) to ``au`` [n, AU] in place."""
    n = len(au)
    rate = r.uniform(3.0, 5.5) / fps  # syllables per frame
    phase = np.cumsum(np.full(n, rate) * r.uniform(0.8, 1.2, n))
    syl_amp = r.uniform(0.4, 1.0, int(phase[-1]) + 3)
    speak = (
        (0.5 - 0.5 * np.cos(2 * np.pi * phase)) ** 1.3
        * syl_amp[phase.astype(int)]
        * r.uniform(0.2, 0.45)
        * SPEECH_GAIN
    )
    au[:, _AU["open"]] += speak
    au[:, _AU["stretch"]] += 0.25 * np.sin(2 * np.pi * phase * 0.5 + r.uniform(0, 6)) * r.uniform(0, 0.8)


def _blinks(r: np.random.Generator, n: int) -> np.ndarray:
    """Eyelid opening [n]: open, with one blink in about a third of the clips."""
    blink = np.ones(n)
    if r.random() < 0.35:
        f = r.integers(0, n)
        blink[f] = 0.1
        if f + 1 < n:
            blink[f + 1] = 0.45
    return blink


def _gaze(r: np.random.Generator, n: int) -> np.ndarray:
    """Gaze [n, 2]: a fixed direction plus smooth wandering."""
    gaze = np.stack([np.full(n, r.uniform(-0.5, 0.5)), np.full(n, r.uniform(-0.3, 0.3))], 1)
    gaze += 0.12 * np.stack([_smooth_noise(r, n), _smooth_noise(r, n)], 1)
    return gaze


def _pose(r: np.random.Generator, n: int, size: int, wild: bool) -> Pose:
    """Head placement and smooth jitter; the face fills most of the frame, as after ingest's face crop."""
    k = 1.8 if wild else 1.0
    scale = size * (r.uniform(0.40, 0.47) if wild else r.uniform(0.42, 0.46))
    cx = size * (0.5 + r.uniform(-0.03, 0.03) * k)
    cy = size * (r.uniform(0.36, 0.42) if wild else r.uniform(0.37, 0.41))
    # keyword arguments are evaluated left to right: this is the drawing order
    return Pose(
        tx=cx + size * 0.008 * k * _smooth_noise(r, n) + r.normal(0, 0.08 * size / 64, n),
        ty=cy + size * 0.008 * k * _smooth_noise(r, n) + r.normal(0, 0.08 * size / 64, n),
        scale=scale * (1 + 0.015 * k * _smooth_noise(r, n)),
        roll=np.deg2rad(r.uniform(-4, 4) * k * (2 if wild else 1) + 1.5 * k * _smooth_noise(r, n)),
        yaw=r.uniform(-0.12, 0.12) * (3 if wild else 1) + 0.04 * k * _smooth_noise(r, n),
        pitch=r.uniform(-0.08, 0.08) * k + 0.03 * k * _smooth_noise(r, n),
    )


def _lighting(r: np.random.Generator, wild: bool) -> Lighting:
    """Lighting gain, colour cast, gradient and sensor noise (stronger when wild)."""
    return Lighting(
        gain=r.uniform(0.55, 1.3) if wild else r.uniform(0.8, 1.15),
        cast=r.normal(1, 0.1 if wild else 0.04, 3),
        gradient=r.uniform(0.0, 0.5 if wild else 0.22),
        gradient_dir=r.uniform(0, 2 * np.pi),
        noise=r.uniform(3, 9) if wild else r.uniform(1.5, 4.5),
        flicker=0.03 if wild else 0.01,
    )


def _clip_params(
    r: np.random.Generator,
    tr: ActorTraits,
    emotion: str,
    intensity: float,
    n: int,
    fps: float,
    size: int,
    wild: bool,
) -> ClipParams:
    """All per-clip randomness: expression trajectory, speech, pose, lighting, background.

    Four independent child streams (expression, speech/eyes, pose, look) are spawned from ``r``,
    so two clips rendered from the same ``r`` seed share every nuisance and differ only in
    their expression.
    """
    r_expr, r_speech, r_pose, r_look = r.spawn(4)
    au, env = _expression(r_expr, tr, emotion, intensity, n)
    _add_speech(r_speech, au, fps)
    au[:, _AU["corner"]] += tr.rest_corner
    blink = _blinks(r_speech, n)
    gaze = _gaze(r_speech, n)
    pose = _pose(r_pose, n, size, wild)
    return ClipParams(
        au=au,
        env=env,
        blink=blink,
        gaze=gaze,
        pose=pose,
        light=_lighting(r_look, wild),
        cloth=r_look.uniform(0.05, 0.9, 3),
        bg_seed=int(r_look.integers(2**31)),
        noise_seed=int(r_look.integers(2**31)),
        jpeg_q=int(r_look.integers(70, 96)) if wild else 95,
        wild=wild,
    )
