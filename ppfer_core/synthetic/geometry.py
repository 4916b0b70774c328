"""Face geometry of one frame: the 68 iBUG/dlib landmarks and the polygons of every face part.

Local coordinates: unit about the face half-width, y down, origin between the eyes and the nose.
One function per face part (jaw, brows, eyes, nose, mouth, creases, ears, neck, hair, beard)
reads the actor's :class:`~ppfer_core.synthetic.traits.ActorTraits` and the frame's
:class:`~ppfer_core.synthetic.dynamics.ActionUnits`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace

import numpy as np

from ppfer_core.synthetic.dynamics import ActionUnits
from ppfer_core.synthetic.shapes import _catmull, _ellipse, _thick
from ppfer_core.synthetic.traits import BALD, GOATEE, LONG, NO_BEARD, ActorTraits

_Y0 = -0.12
"""Level of the widest point of the face (where jaw and skull meet)."""


@dataclass(frozen=True)
class Eye:
    """Polygons of one eye."""

    outline: np.ndarray
    """Eye white (closed spline through the 6 eye landmarks)."""
    lid: np.ndarray
    """Upper-lid line."""
    iris: np.ndarray
    pupil: np.ndarray
    glint: np.ndarray
    """Specular highlight."""
    glass: np.ndarray | None
    """Rim of the glasses around this eye (None without glasses)."""


@dataclass(frozen=True)
class Mouth:
    """Polygons of the mouth."""

    lips: np.ndarray
    """Outer lip contour (landmarks 48-59)."""
    inside: np.ndarray
    """Mouth opening (inner contour, landmarks 60-67)."""
    lipline: np.ndarray
    """Line between the lips."""
    teeth: np.ndarray
    """Upper teeth, under the upper inner lip."""
    opening: float
    """Vertical opening of the inner contour (inside and teeth are drawn above 0.012)."""


@dataclass(frozen=True)
class Nose:
    """Polygons of the nose."""

    side_l: np.ndarray
    side_r: np.ndarray
    base: np.ndarray
    tip: np.ndarray
    nostril_l: np.ndarray
    nostril_r: np.ndarray


@dataclass(frozen=True)
class Crease:
    """Expression lines drawn darker with opacity ``alpha`` (skipped when nearly transparent)."""

    alpha: float
    strokes: list[np.ndarray]


@dataclass(frozen=True)
class FaceGeometry:
    """Landmarks and polygons of one frame. Field order is the order the points are batched in
    :func:`map_points` (kept from the original dict of parts)."""

    outline: np.ndarray
    """Face: jaw and skull."""
    brows: tuple[np.ndarray, np.ndarray]
    """Left and right brow polygons."""
    eyes: tuple[Eye, Eye]
    """Left and right eyes."""
    glass_bridge: np.ndarray | None
    """Bridge of the glasses (None without glasses)."""
    landmarks: np.ndarray
    """The 68 iBUG/dlib landmarks [68, 2]."""
    mouth: Mouth
    nose: Nose
    wrinkles: Crease
    """Nose-wrinkle lines."""
    frown: Crease
    """Vertical lines between the brows."""
    smile: Crease
    """Nasolabial folds."""
    ears: tuple[np.ndarray, np.ndarray]
    neck: np.ndarray
    body: np.ndarray
    """Shoulders (clothing)."""
    hair_back: np.ndarray | None
    """Long hair behind the head (None unless long hair)."""
    hair_top: list[np.ndarray]
    """Hair on the skull (two bands over the ears when bald)."""
    beard: np.ndarray | None
    """Beard or goatee (None without)."""


@dataclass(frozen=True)
class _Anchors:
    """Expression-dependent levels shared by several face parts."""

    opening: float
    """Clipped jaw/mouth opening action unit."""
    nose_tip: float
    nostril_width: float
    mouth_y: float
    mouth_width: float


# ----------------------------------------------------------------------------- point batches


def _point_arrays(obj: object) -> list[np.ndarray]:
    """Every [n,2] point array of a geometry (nested dataclasses, tuples, lists) in field order."""
    if isinstance(obj, np.ndarray):
        return [obj] if obj.ndim == 2 else []
    if is_dataclass(obj):
        return [a for f in fields(obj) for a in _point_arrays(getattr(obj, f.name))]
    if isinstance(obj, (list, tuple)):
        return [a for v in obj for a in _point_arrays(v)]
    return []


def _rebuild(obj: object, parts) -> object:
    """``obj`` with its point arrays replaced, in :func:`_point_arrays` order, from iterator ``parts``."""
    if isinstance(obj, np.ndarray):
        return next(parts) if obj.ndim == 2 else obj
    if is_dataclass(obj):
        return replace(obj, **{f.name: _rebuild(getattr(obj, f.name), parts) for f in fields(obj)})
    if isinstance(obj, (list, tuple)):
        return type(obj)(_rebuild(v, parts) for v in obj)
    return obj


def map_points(g: FaceGeometry, fn: Callable[[np.ndarray], np.ndarray]) -> FaceGeometry:
    """Apply ``fn`` to every point array of a geometry (in one batched call)."""
    arrs = _point_arrays(g)
    sizes = np.cumsum([len(a) for a in arrs])[:-1]
    return _rebuild(g, iter(np.split(fn(np.concatenate(arrs)), sizes)))


# ----------------------------------------------------------------------------- face parts


def _anchors(tr: ActorTraits, A: ActionUnits) -> _Anchors:
    """Opening, nose-tip level, nostril width, mouth level and width under expression ``A``."""
    nose_tip = tr.nose_tip - 0.035 * A.wrinkle
    return _Anchors(
        opening=float(np.clip(A.open, 0.0, 1.4)),
        nose_tip=nose_tip,
        nostril_width=tr.nostril_width * (1 + 0.2 * max(A.wrinkle, 0)),
        mouth_y=nose_tip + tr.mouth_gap,
        mouth_width=tr.mouth_width * (1 + 0.2 * A.stretch - 0.1 * max(A.press, 0) + 0.1 * max(A.corner, 0)),
    )


def _jaw(tr: ActorTraits, jaw_drop: float, t: np.ndarray) -> np.ndarray:
    """Jaw points [len(t), 2] from the right (t=0) over the chin to the left (t=1) ear level."""
    c, s = -np.cos(np.pi * t), np.sin(np.pi * t)
    e = 2.0 / tr.jaw_squareness
    x = tr.face_width * np.sign(c) * np.abs(c) ** e
    y = _Y0 + (tr.chin_depth - _Y0) * np.abs(s) ** e + jaw_drop * s**2
    return np.stack([x, y], 1)


def _outline(tr: ActorTraits, jaw_drop: float) -> np.ndarray:
    """Face polygon: jaw and skull."""
    a = np.linspace(0, np.pi, 24)
    top = np.stack(
        [
            tr.face_width * np.cos(a) * (1 - tr.temple_inset * np.sin(a) ** 2),
            _Y0 - (tr.skull_height + _Y0) * np.sin(a),
        ],
        1,
    )
    return np.concatenate([_jaw(tr, jaw_drop, np.linspace(0, 1, 33)), top[1:-1]])


def _brows(tr: ActorTraits, A: ActionUnits) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Brow landmarks 17-26 (left outer->inner, right inner->outer) and the two brow polygons."""
    ey, es, ew = tr.eye_level, tr.eye_spacing, tr.eye_half_width
    u = np.linspace(0, 1, 5)  # 0 outer .. 1 inner
    bx_out, bx_in = es + ew * 1.15 * tr.brow_length, es - ew * 1.05
    bx = bx_out + (bx_in - bx_out) * u
    by = (
        ey
        - tr.brow_gap
        - tr.brow_arch * 4 * u * (1 - u)
        + 0.02 * (1 - u)
        - 0.11 * A.brow_raise
        - 0.1 * A.brow_inner * u**1.5
        + 0.07 * A.brow_lower * (0.4 + 0.6 * u)
    )
    bx = bx - 0.035 * max(A.brow_lower, 0) * u
    brow_r = np.stack([bx, by], 1)  # image-right brow, outer->inner
    brow_l = brow_r[:, ::1] * np.array([-1, 1])
    bth = tr.brow_thickness * (0.55 + 0.45 * np.sin(np.pi * (0.2 + 0.7 * u)))
    polys = tuple(
        _thick(_catmull(b, 3, False), np.interp(np.linspace(0, 1, 13), u, bth)) for b in (brow_l, brow_r)
    )
    return np.concatenate([brow_l, brow_r[::-1]]), polys


def _nose_landmarks(tr: ActorTraits, an: _Anchors) -> np.ndarray:
    """Nose landmarks 27-35 (bridge top to tip, then nostrils left to right)."""
    ey, nt, nw = tr.eye_level, an.nose_tip, an.nostril_width
    return np.array(
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


def _eye_ring(tr: ActorTraits, sgn: int, up: float, lo: float) -> np.ndarray:
    """The 6 landmarks of the left (``sgn`` -1: 36-41) or right (+1: 42-47) eye."""
    ey, ew = tr.eye_level, tr.eye_half_width
    cx = sgn * tr.eye_spacing
    outer, inner = cx + sgn * ew, cx - sgn * ew
    ring = np.array(
        [
            [inner, ey],
            [cx - sgn * ew / 3, ey - up],
            [cx + sgn * ew / 3, ey - up],
            [outer, ey + tr.eye_tilt],
            [cx + sgn * ew / 3, ey + lo],
            [cx - sgn * ew / 3, ey + lo],
        ]
    )
    if sgn < 0:  # left eye: 36 outer, 37, 38 upper, 39 inner, 40, 41 lower
        ring = ring[[3, 2, 1, 0, 5, 4]]
    return ring


def _eye(tr: ActorTraits, sgn: int, ring: np.ndarray, blink: float, gaze: np.ndarray) -> Eye:
    """Polygons of the eye at side ``sgn`` with landmarks ``ring``."""
    ey, ew, rad = tr.eye_level, tr.eye_half_width, tr.iris_radius
    cx = sgn * tr.eye_spacing
    icx = cx + gaze[0] * ew * 0.35
    icy = ey + gaze[1] * tr.eye_half_height * 0.3 + 0.1 * tr.eye_half_height
    glass = None
    if tr.glasses:
        glass = _thick(_catmull(_ellipse(cx, ey + 0.01, ew * 1.7, ew * 1.25, 10), 2, True), 0.03)
    return Eye(
        outline=_catmull(ring, 4, True),
        lid=_thick(_catmull(ring[[0, 1, 2, 3]], 3, False), 0.022 + 0.012 * (blink < 0.5)),
        iris=_ellipse(icx, icy, rad, rad, 16),
        pupil=_ellipse(icx, icy, rad * 0.42, rad * 0.42, 10),
        glint=_ellipse(icx + 0.3 * rad, icy - 0.3 * rad, 0.018, 0.018, 6),
        glass=glass,
    )


def _eyes(
    tr: ActorTraits, A: ActionUnits, blink: float, gaze: np.ndarray
) -> tuple[np.ndarray, tuple[Eye, Eye]]:
    """Eye landmarks 36-47 and the two eyes; lids follow widening, narrowing and blinks."""
    up = tr.eye_half_height * np.clip(1 + 0.75 * A.widen - 0.45 * A.narrow, 0.2, 2.2) * blink
    lo = (
        tr.eye_half_height * 0.78 * np.clip(1 + 0.3 * A.widen - 0.55 * A.narrow, 0.25, 1.6) * max(blink, 0.35)
    )
    rings = [_eye_ring(tr, sgn, up, lo) for sgn in (-1, 1)]
    eyes = tuple(_eye(tr, sgn, ring, blink, gaze) for sgn, ring in zip((-1, 1), rings))
    return np.concatenate(rings), eyes


def _glass_bridge(tr: ActorTraits) -> np.ndarray | None:
    """Bridge between the rims of the glasses (None without glasses)."""
    if not tr.glasses:
        return None
    es, ew, ey = tr.eye_spacing, tr.eye_half_width, tr.eye_level
    return _thick(np.array([[-es + ew * 1.65, ey - 0.02], [es - ew * 1.65, ey - 0.02]]), 0.03)


def _mouth_landmarks(tr: ActorTraits, A: ActionUnits, an: _Anchors) -> tuple[np.ndarray, float]:
    """Mouth landmarks 48-59 (outer) and 60-67 (inner), and the vertical opening of the inner ones."""
    my, mw = an.mouth_y, an.mouth_width
    ut = tr.upper_lip * (1 - 0.6 * np.clip(A.press, 0, 1))
    lt = tr.lower_lip * (1 - 0.6 * np.clip(A.press, 0, 1))
    gap = 0.17 * an.opening
    gup = 0.02 * an.opening + 0.05 * max(A.ulip, 0)
    ur = 0.05 * max(A.ulip, 0)
    xo = np.array([-1, -0.6, -0.25, 0, 0.25, 0.6, 1, 0.6, 0.25, 0, -0.25, -0.6]) * mw
    upper = [0, -ut * 0.8 - ur, -ut - ur, -ut * 0.82 - ur, -ut - ur, -ut * 0.8 - ur]
    lower = [0, lt * 0.8 + gap * 0.85, lt + gap, lt + gap, lt + gap, lt * 0.8 + gap * 0.85]
    yo = np.array(upper + lower)
    xi = np.array([-0.88, -0.35, 0, 0.35, 0.88, 0.35, 0, -0.35]) * mw
    yi = np.array([0, -gup, -gup * 1.1, -gup, 0, gap * 0.9, gap, gap * 0.9])

    def curve(x: np.ndarray) -> np.ndarray:
        return -0.13 * A.corner * (x / mw) ** 2

    lm = np.concatenate([np.stack([xo, my + yo + curve(xo)], 1), np.stack([xi, my + yi + curve(xi)], 1)])
    return lm, gap + gup


def _mouth(lm: np.ndarray, opening: float) -> Mouth:
    """Mouth polygons from the 68 landmarks."""
    inner = lm[60:68]
    teeth_top = _catmull(inner[[0, 1, 2, 3, 4]], 3, False)
    return Mouth(
        lips=_catmull(lm[48:60], 3, True),
        inside=_catmull(inner, 3, True),
        lipline=_thick(_catmull(inner[[0, 1, 2, 3, 4]], 3, False), 0.012),
        teeth=np.concatenate([teeth_top, (teeth_top + [0, 0.055])[::-1]]),
        opening=opening,
    )


def _nose(lm_nose: np.ndarray, an: _Anchors) -> Nose:
    """Nose polygons from the nose landmarks 27-35."""
    nt, nw = an.nose_tip, an.nostril_width
    n27 = lm_nose[0]
    side_l = _thick(
        _catmull(np.array([n27 + [-0.07, 0.1], [-nw * 0.75, nt - 0.08], lm_nose[4] + [0, -0.01]]), 4, False),
        0.022,
    )
    return Nose(
        side_l=side_l,
        side_r=side_l * np.array([-1, 1]),
        base=_ellipse(0, nt + 0.025, nw * 0.95, 0.05, 14),
        tip=_ellipse(0, nt - 0.01, nw * 0.45, 0.04, 10),
        nostril_l=_ellipse(-nw * 0.48, nt + 0.04, 0.04, 0.018, 8),
        nostril_r=_ellipse(nw * 0.48, nt + 0.04, 0.04, 0.018, 8),
    )


def _wrinkles(tr: ActorTraits, A: ActionUnits) -> Crease:
    """Three horizontal lines across the nose bridge (nose wrinkle)."""
    y = tr.eye_level - 0.04 + 0.1  # below landmark 27
    w = np.clip(A.wrinkle, 0, 1.5)
    strokes = [
        _thick(np.array([[-0.07 + 0.02 * i, y + 0.045 * i], [0.07 - 0.02 * i, y + 0.045 * i]]), 0.014)
        for i in range(3)
    ]
    return Crease(alpha=0.45 * min(w, 1.0), strokes=strokes)


def _frown(tr: ActorTraits, A: ActionUnits) -> Crease:
    """Two vertical lines between the brows (brow lowering)."""
    ey = tr.eye_level
    strokes = [
        _thick(np.array([[s * 0.045, ey - tr.brow_gap + 0.02], [s * 0.035, ey - 0.06]]), 0.013)
        for s in (-1, 1)
    ]
    return Crease(alpha=0.4 * float(np.clip(A.brow_lower, 0, 1)), strokes=strokes)


def _smile(A: ActionUnits, an: _Anchors) -> Crease:
    """Nasolabial folds (raised mouth corners)."""
    nt, nw, my, mw = an.nose_tip, an.nostril_width, an.mouth_y, an.mouth_width
    strokes = [
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
    return Crease(alpha=0.35 * float(np.clip(A.corner - 0.2, 0, 1)), strokes=strokes)


def _ears(tr: ActorTraits) -> tuple[np.ndarray, np.ndarray]:
    """Left and right ear ellipses."""
    fw, er = tr.face_width, tr.ear_size
    return _ellipse(-fw - 0.02, -0.06, 0.1 * er, 0.2 * er, 14), _ellipse(
        fw + 0.02, -0.06, 0.1 * er, 0.2 * er, 14
    )


def _neck(tr: ActorTraits) -> np.ndarray:
    """Neck quadrilateral down to the shoulders."""
    nk, fh = tr.neck_width, tr.chin_depth
    return np.array([[-nk, fh * 0.4], [nk, fh * 0.4], [nk * 1.1, fh + 1.4], [-nk * 1.1, fh + 1.4]])


def _hair(tr: ActorTraits) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """Hair behind the head (long hair only) and hair on the skull down to the hairline."""
    fw = tr.face_width
    rx, ry = fw + tr.hair_volume, tr.skull_height + _Y0 + tr.hair_volume
    a = np.linspace(0, np.pi, 25)
    arc = np.stack([rx * np.cos(a), _Y0 - ry * np.sin(a)], 1)  # right -> top -> left
    back = None
    if tr.hair_style == LONG:
        L = tr.hair_length
        back = np.concatenate([arc, [[-rx - 0.05, 0.3], [-fw - 0.2, L], [fw + 0.2, L], [rx + 0.05, 0.3]]])
    ys = _Y0 + tr.sideburn_drop
    if tr.hair_style == BALD:  # only a band over the ears
        return back, [
            np.array([[-rx, _Y0 - 0.35], [-fw + 0.04, _Y0 - 0.45], [-fw + 0.02, ys], [-rx + 0.02, ys]]),
            np.array([[rx, _Y0 - 0.35], [fw - 0.04, _Y0 - 0.45], [fw - 0.02, ys], [rx - 0.02, ys]]),
        ]
    xs = np.linspace(fw, -fw, 21)
    hl = (
        tr.hairline
        + tr.hairline_slant * xs
        - tr.hairline_recession * np.cos(np.pi * xs / (2 * fw) * 1.6) ** 2 * (np.abs(xs) < fw * 0.6)
    )
    hl = hl + (ys - hl) * (np.abs(xs) / fw) ** 3
    return back, [np.concatenate([arc, [[-rx, ys]], np.stack([xs[::-1], hl[::-1]], 1), [[rx, ys]]])]


def _beard(tr: ActorTraits, jaw_drop: float, an: _Anchors) -> np.ndarray | None:
    """Full beard along the jaw or a narrower goatee, up to above the mouth (None without)."""
    if tr.beard == NO_BEARD:
        return None
    my, mw, ut = an.mouth_y, an.mouth_width, tr.upper_lip
    if tr.beard == GOATEE:
        jl = _jaw(tr, jaw_drop, np.linspace(0.3, 0.7, 11))
        upper = np.array(
            [[mw + 0.03, my], [mw, my - 0.1], [0, my - 0.1 - ut], [-mw, my - 0.1], [-mw - 0.03, my]]
        )
    else:
        jl = _jaw(tr, jaw_drop, np.linspace(0.12, 0.88, 17))
        upper = np.array(
            [
                [0.45 * mw + 0.5, my - 0.06],
                [mw + 0.05, my - 0.12],
                [0, my - 0.1 - ut],
                [-mw - 0.05, my - 0.12],
                [-0.45 * mw - 0.5, my - 0.06],
            ]
        )
    return np.concatenate([jl, upper])


def face_geometry(tr: ActorTraits, au: np.ndarray, blink: float, gaze: np.ndarray) -> FaceGeometry:
    """Local face geometry of one frame with action units ``au`` [len(AU_NAMES)], eyelid opening
    ``blink`` and gaze ``gaze`` [2]."""
    A = ActionUnits.of(au)
    an = _anchors(tr, A)
    jaw_drop = 0.12 * an.opening
    lm_brow, brows = _brows(tr, A)
    lm_nose = _nose_landmarks(tr, an)
    lm_eyes, eyes = _eyes(tr, A, blink, gaze)
    lm_mouth, opening = _mouth_landmarks(tr, A, an)
    lm = np.concatenate([_jaw(tr, jaw_drop, np.linspace(0, 1, 17)), lm_brow, lm_nose, lm_eyes, lm_mouth])
    hair_back, hair_top = _hair(tr)
    return FaceGeometry(
        outline=_outline(tr, jaw_drop),
        brows=brows,
        eyes=eyes,
        glass_bridge=_glass_bridge(tr),
        landmarks=lm,
        mouth=_mouth(lm, opening),
        nose=_nose(lm_nose, an),
        wrinkles=_wrinkles(tr, A),
        frown=_frown(tr, A),
        smile=_smile(A, an),
        ears=_ears(tr),
        neck=_neck(tr),
        body=_ellipse(0, tr.chin_depth + 1.05, 2.3, 0.7, 28),
        hair_back=hair_back,
        hair_top=hair_top,
        beard=_beard(tr, jaw_drop, an),
    )
