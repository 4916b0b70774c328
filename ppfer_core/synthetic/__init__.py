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
speaking mouth rhythm present in every clip. Shapes are filled (even-odd scanline fill) at 2x
resolution and box-downsampled (anti-aliasing).

Modules: :mod:`~ppfer_core.synthetic.traits` (actor identity), :mod:`~ppfer_core.synthetic.dynamics`
(per-clip randomness), :mod:`~ppfer_core.synthetic.geometry` (landmarks and face parts),
:mod:`~ppfer_core.synthetic.render` (drawing), :mod:`~ppfer_core.synthetic.corpora` (the two
layouts), :mod:`~ppfer_core.synthetic.shapes` (drawing primitives).
"""

from ppfer_core.synthetic.corpora import (
    DFEW_LABEL_CODES,
    LEVEL_INTENSITY,
    LEVELS,
    SENTENCES,
    generate_cremad,
    generate_dfew,
    write_flv,
)
from ppfer_core.synthetic.dynamics import (
    AU_NAMES,
    EXPRESSION_GAIN,
    SPEECH_GAIN,
    ActionUnits,
    ClipParams,
    Lighting,
    Pose,
)
from ppfer_core.synthetic.geometry import FaceGeometry, face_geometry
from ppfer_core.synthetic.render import MAX_SIZE, MIN_SIZE, render_clip
from ppfer_core.synthetic.shapes import _poly_mask
from ppfer_core.synthetic.traits import ActorTraits, actor_traits

__all__ = [
    "AU_NAMES",
    "DFEW_LABEL_CODES",
    "EXPRESSION_GAIN",
    "LEVELS",
    "LEVEL_INTENSITY",
    "MAX_SIZE",
    "MIN_SIZE",
    "SENTENCES",
    "SPEECH_GAIN",
    "ActionUnits",
    "ActorTraits",
    "ClipParams",
    "FaceGeometry",
    "Lighting",
    "Pose",
    "_poly_mask",
    "actor_traits",
    "face_geometry",
    "generate_cremad",
    "generate_dfew",
    "render_clip",
    "write_flv",
]
