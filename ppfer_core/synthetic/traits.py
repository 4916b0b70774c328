"""Identity of a synthetic actor: persistent appearance traits drawn once per (seed, stream, actor).

Lengths are in the local face unit (about the face half-width), y pointing down, origin between
the eyes and the nose; colours are RGB in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ppfer_core.synthetic.shapes import _rng

STREAM_CREMAD = 1
"""Random stream of the CREMA-D-form corpus (studio clips)."""
STREAM_DFEW = 2
"""Random stream of the DFEW-form corpus (in-the-wild clips)."""

BALD, SHORT, LONG, SIDE_SWEPT = 0, 1, 2, 3
"""Hair styles (:attr:`ActorTraits.hair_style`)."""
NO_BEARD, FULL_BEARD, GOATEE = 0, 1, 2
"""Beard kinds (:attr:`ActorTraits.beard`)."""

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


@dataclass(frozen=True)
class ActorTraits:
    """Persistent appearance of one actor (fields in the order they are drawn)."""

    skin_colour: np.ndarray
    """Skin RGB."""
    hair_colour: np.ndarray
    """Hair (and brow, beard) RGB."""
    lip_colour: np.ndarray
    """Lip RGB (a darker, redder skin)."""
    iris_colour: np.ndarray
    """Iris RGB."""
    face_width: float
    """Face half-width (the local unit is about 1)."""
    chin_depth: float
    """Chin below the face centre."""
    skull_height: float
    """Top of the skull above the face centre."""
    jaw_squareness: float
    """Superellipse exponent of the jaw (2 round .. 3.4 square)."""
    temple_inset: float
    """Narrowing of the skull at the temples."""
    hair_style: int
    """:data:`BALD`, :data:`SHORT`, :data:`LONG` or :data:`SIDE_SWEPT`."""
    hairline: float
    """Hairline height at the centre (far up when bald)."""
    hairline_slant: float
    """Left-right slope of the hairline (strong when side-swept)."""
    hairline_recession: float
    """Amplitude of a receding "M" hairline."""
    hair_volume: float
    """Hair volume above the skull."""
    sideburn_drop: float
    """Sideburn bottom below the temple line."""
    hair_length: float
    """Long-hair length (below the face centre; used by :data:`LONG`)."""
    eye_spacing: float
    """Eye half-spacing (centre to eye centre)."""
    eye_half_width: float
    """Eye half-width."""
    eye_half_height: float
    """Eye half-height (upper lid)."""
    eye_level: float
    """Eye level."""
    eye_tilt: float
    """Drop of the outer eye corner."""
    iris_radius: float
    """Iris radius."""
    brow_gap: float
    """Brow height above the eye."""
    brow_arch: float
    """Brow arch height."""
    brow_thickness: float
    """Brow thickness."""
    brow_length: float
    """Brow length relative to the eye width."""
    nose_tip: float
    """Nose-tip level."""
    nostril_width: float
    """Nostril half-width."""
    mouth_gap: float
    """Nose tip to mouth distance."""
    mouth_width: float
    """Mouth half-width."""
    upper_lip: float
    """Upper-lip thickness."""
    lower_lip: float
    """Lower-lip thickness."""
    rest_corner: float
    """Resting mouth-corner curve (added to the corner action unit)."""
    expressiveness: float
    """Scale of this actor's expressions."""
    ear_size: float
    """Ear scale."""
    neck_width: float
    """Neck half-width."""
    beard: int
    """:data:`NO_BEARD`, :data:`FULL_BEARD` or :data:`GOATEE`."""
    glasses: bool
    """Whether the actor wears glasses."""
    glasses_colour: np.ndarray
    """Frame RGB of the glasses (drawn whether or not they are worn)."""


def _palette(p: np.ndarray, t: float) -> np.ndarray:
    """Linear interpolation in a colour palette ``p`` at fractional index ``t``."""
    return p[int(np.floor(t))] * (1 - t % 1) + p[min(int(np.floor(t)) + 1, len(p) - 1)] * (t % 1)


def _lip_colour(skin: np.ndarray, gain: float) -> np.ndarray:
    """Lip colour of a skin colour: redder, darker by ``gain``."""
    return np.clip(skin * np.array([0.86, 0.58, 0.58]) * gain + np.array([0.06, 0, 0.02]), 0, 1)


def actor_traits(actor: int, seed: int, stream: int = STREAM_CREMAD) -> ActorTraits:
    """Persistent appearance traits of one actor, drawn from an RNG seeded by (seed, stream, actor)."""
    r = _rng(seed, stream, actor, 7)
    skin = np.clip(_palette(_SKIN, r.uniform(0, len(_SKIN) - 1)) * r.normal(1, 0.03, 3), 0.05, 1)
    hair = np.clip(_HAIR[r.integers(len(_HAIR))] * r.normal(1, 0.08, 3) + r.normal(0, 0.02, 3), 0.02, 0.95)
    style = int(r.choice(4, p=[0.08, 0.42, 0.3, 0.2]))
    face_width = r.uniform(0.86, 1.08)
    # keyword arguments are evaluated left to right: this is the drawing order
    return ActorTraits(
        skin_colour=skin,
        hair_colour=hair,
        lip_colour=_lip_colour(skin, r.uniform(0.85, 1.05)),
        iris_colour=np.clip(_IRIS[r.integers(len(_IRIS))] * r.normal(1, 0.1, 3), 0.02, 1),
        face_width=face_width,
        chin_depth=r.uniform(1.22, 1.45),
        skull_height=r.uniform(1.05, 1.3),
        jaw_squareness=r.uniform(2.0, 3.4),
        temple_inset=r.uniform(0.0, 0.12),
        hair_style=style,
        hairline=r.uniform(-0.95, -0.5) if style != BALD else -1.6,
        hairline_slant=r.uniform(-0.3, 0.3) if style == SIDE_SWEPT else r.uniform(-0.06, 0.06),
        hairline_recession=r.uniform(0.0, 0.18),
        hair_volume=r.uniform(0.05, 0.22),
        sideburn_drop=r.uniform(-0.05, 0.25),
        hair_length=r.uniform(1.0, 1.9),
        eye_spacing=r.uniform(0.34, 0.46),
        eye_half_width=r.uniform(0.14, 0.19),
        eye_half_height=r.uniform(0.055, 0.085),
        eye_level=r.uniform(-0.34, -0.22),
        eye_tilt=r.uniform(-0.025, 0.03),
        iris_radius=r.uniform(0.065, 0.085),
        brow_gap=r.uniform(0.13, 0.2),
        brow_arch=r.uniform(0.015, 0.06),
        brow_thickness=r.uniform(0.03, 0.075),
        brow_length=r.uniform(1.0, 1.25),
        nose_tip=r.uniform(0.1, 0.28),
        nostril_width=r.uniform(0.11, 0.18),
        mouth_gap=r.uniform(0.22, 0.32),
        mouth_width=r.uniform(0.24, 0.35),
        upper_lip=r.uniform(0.05, 0.085),
        lower_lip=r.uniform(0.07, 0.115),
        rest_corner=r.uniform(-0.25, 0.2),
        expressiveness=r.uniform(0.8, 1.2),
        ear_size=r.uniform(0.85, 1.2),
        neck_width=r.uniform(0.42, 0.56),
        beard=int(r.choice(3, p=[0.75, 0.15, 0.1])),
        glasses=bool(r.random() < 0.15),
        glasses_colour=np.array([0.05, 0.05, 0.05]) if r.random() < 0.6 else r.uniform(0.1, 0.7, 3),
    )
