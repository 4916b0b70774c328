"""``ppfer anonymize --method bottleneck``: every face replaced by the template face (a synthetic
identity that belongs to nobody) wearing the source face's expression code (issue 27, item 8).

The bundle holds the method's parts (:func:`pack_bottleneck`): the expression basis fitted by rule
``fit_basis`` (``results/models/bottleneck/basis.npz``; its arrays, its settings, the file's path and
SHA-256) and the template (its settings, the rendered image and its landmarks,
:func:`~ppfer_core.bottleneck.realface.real_face_template`).
Per input a :class:`FaceSession`:

1. pass 1 (tracking): dlib's 68 points of every detected face (:meth:`FaceSession.observe`);
2. then each track's reference (:meth:`FaceSession.prepare`): in a video, the mean of its least
   expressive frames over the **whole track** (the basis' ``neutral_fraction``), which is how the
   basis and the workflow's codes define it, so a face that smiles from its first frame on still
   reads as smiling once it relaxes later; in a photograph (one frame, nothing to compare with) the
   mean face (absolute code). A basis fitted with ``reference: absolute`` gives absolute codes in
   videos too;
3. pass 2: each face's code against its track's reference, rendered and pasted
   (:class:`~ppfer_core.bottleneck.realface.FaceRenderer`).

F_fc is **not** applied: the feature compensator was trained on the 64-px synthetic renders of the
embedded corpus and does not apply to full-resolution real faces; no utility model either, so the
sidecar holds no expression label for this method.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ppfer_core.bottleneck.basis import ExpressionBasis
from ppfer_core.bottleneck.realface import (
    FaceCoder,
    FaceRenderer,
    ShapePredictor,
    TemplateSettings,
    real_face_template,
)
from ppfer_core.bottleneck.render import Template
from ppfer_core.bottleneck.settings import BasisSettings
from ppfer_core.bottleneck.shapes import Similarity

KIND = "bottleneck"
"""The ``kind`` of a bundle method that is a bottleneck (methods without it are networks)."""
_ARRAYS = ("canonical", "mu", "b0", "basis", "eigenvalues")


@dataclass(frozen=True)
class BottleneckParts:
    """What a bundle's bottleneck method is packed from: the basis file (rule ``fit_basis``) and the
    template settings."""

    basis: str
    template: TemplateSettings = field(default_factory=TemplateSettings)


def pack_bottleneck(parts: BottleneckParts, name: str) -> dict:
    """The bundle entry of a bottleneck method (plain types and tensors, weights_only-loadable);
    ValueError naming the basis file if it is missing or not a basis, or the template if dlib finds
    no face in it."""
    path = Path(parts.basis)
    if not path.is_file():
        raise ValueError(
            f"method {name!r}: basis file {path} not found (written by rule fit_basis, rules/bottleneck.smk)"
        )
    try:
        basis = ExpressionBasis.load(str(path))
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"method {name!r}: {path} is not an expression basis ({exc})") from exc
    t = parts.template
    template = real_face_template(t)
    return {
        "kind": KIND,
        "basis": {
            "file": str(path),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            **{k: torch.from_numpy(np.asarray(getattr(basis, k), dtype=np.float64)) for k in _ARRAYS},
            "code_rms": float(basis.code_rms),
            "settings": asdict(basis.settings),
        },
        "template": {
            **asdict(t),
            "image": torch.from_numpy(np.ascontiguousarray(template.image)),
            "landmarks": torch.from_numpy(np.asarray(template.landmarks, dtype=np.float64)),
        },
    }


def unpack_bottleneck(parts: dict, where: str) -> tuple[ExpressionBasis, Template, TemplateSettings]:
    """Basis, template and template settings of a bundle entry; ValueError naming ``where`` (the
    bundle file and method) and the part that is missing."""
    for part, keys in (("basis", (*_ARRAYS, "code_rms", "settings")), ("template", ("image", "landmarks"))):
        if not isinstance(parts.get(part), dict):
            raise ValueError(f"{where}: no {part} (rebuild the bundle: rule anonymizer_bundle)")
        if missing := [k for k in keys if k not in parts[part]]:
            raise ValueError(f"{where}: {part} lacks {', '.join(missing)} (rebuild the bundle)")
    b, t = parts["basis"], parts["template"]
    arrays = {k: b[k].numpy() for k in _ARRAYS}
    basis = ExpressionBasis(**arrays, code_rms=float(b["code_rms"]), settings=BasisSettings(**b["settings"]))
    settings = TemplateSettings(**{k: t[k] for k in asdict(TemplateSettings()) if k in t})
    return basis, Template.from_image(t["image"].numpy(), t["landmarks"].numpy()), settings


def describe_bottleneck(parts: dict) -> str:
    """One line on a bundle's bottleneck method (``ppfer anonymize --list-methods``)."""
    b, t = parts.get("basis") or {}, parts.get("template") or {}
    s = b.get("settings", {})
    return (
        f"expression-code bottleneck: basis {b.get('file')} (sha256 {str(b.get('sha256'))[:12]}, "
        f"k={s.get('k')}, reference {s.get('reference')}, neutral_fraction {s.get('neutral_fraction')}, "
        f"amplitude_norm {s.get('amplitude_norm')}); template synthetic actor {t.get('actor')} rendered "
        f"at {t.get('size')} px (seed {t.get('seed')}); F_fc not applied"
    )


class BottleneckMethod:
    """A bundle's bottleneck method, ready: per input, :meth:`session`."""

    kind = KIND
    transform = None  # no crop-to-crop networks: faces are rendered into the frame

    def __init__(self, name: str, parts: dict, settings, where: str, landmarks=None):
        """``landmarks(image, box) -> [68, 2]`` replaces dlib's predictor (tests)."""
        self.name, self.settings = name, settings
        self.basis, self.template, self.template_settings = unpack_bottleneck(parts, where)
        self.landmarks = landmarks or ShapePredictor()
        self.coder = FaceCoder(self.basis)
        self._renderers: dict[float, FaceRenderer] = {}

    def expression(self, clip: np.ndarray) -> None:
        """No utility model: the sidecar holds no expression label."""
        return None

    def renderer(self, feather: float) -> FaceRenderer:
        """The template renderer with a mask feathered over ``feather`` of the face (cached)."""
        if feather not in self._renderers:
            self._renderers[feather] = FaceRenderer(self.template, self.basis, feather)
        return self._renderers[feather]

    def session(self, photo: bool, feather: float) -> FaceSession:
        """The state of one input: a photograph gets absolute codes, a video its tracks' references."""
        relative = not photo and self.basis.settings.reference == "relative"
        return FaceSession(self, relative, self.renderer(feather))


@dataclass
class _TrackCode:
    reference: np.ndarray  # [136]
    factor: float
    landmarks: dict[int, np.ndarray]  # frame -> [68, 2] of the track's detected frames (pass 1)


class FaceSession:
    """One input's faces through the bottleneck (the three steps of the module docstring)."""

    def __init__(self, method: BottleneckMethod, relative: bool, renderer: FaceRenderer):
        self.method, self.relative, self.renderer = method, relative, renderer
        self._found: dict[int, dict[tuple, np.ndarray]] = {}
        self._tracks: dict[int, _TrackCode] = {}

    def observe(self, index: int, frame: np.ndarray, found: list) -> None:
        """Pass 1: dlib's landmarks of every detection of frame ``index``."""
        boxes = [(d.x0, d.y0, d.x1, d.y1) for d in found]
        self._found[index] = {b: self.method.landmarks(frame, b) for b in boxes}

    def prepare(self, tracks) -> None:
        """After pass 1: each track's reference and amplitude factor from its detected frames."""
        for t in tracks.tracks:
            lms = {f: self._found[f][box] for f, box in sorted(t.detections.items())}
            x, _ = self.method.coder.align(np.stack(list(lms.values())))
            reference, factor = self.method.coder.reference(x, self.relative)
            self._tracks[t.id] = _TrackCode(reference, factor, lms)
        self._found = {}

    def code(self, image: np.ndarray, index: int, track: int, box) -> tuple[np.ndarray, Similarity]:
        """The code [k] of a track's face on frame ``index`` and its pixel -> canonical map: pass 1's
        landmarks on a detected frame, else dlib's on the track's box."""
        tc = self._tracks[track]
        lm = tc.landmarks.get(index)
        if lm is None:
            lm = self.method.landmarks(image, box)
        x, placement = self.method.coder.align(lm[None])
        return self.method.coder.code(x[0], tc.reference, tc.factor), placement

    def render(self, out: np.ndarray, image: np.ndarray, index: int, track: int, box):
        """Code the face of ``track`` in ``image`` (frame ``index``) and paste the template into
        ``out``; the pixels touched (x0, y0, x1, y1) or None."""
        code, placement = self.code(image, index, track, box)
        return self.renderer.paste(out, code, placement)

    def describe(self) -> dict:
        """The sidecar's record of the method's settings for this input."""
        s = self.method.basis.settings
        return {
            "code": "relative to each track's least expressive frames" if self.relative else "absolute",
            "k": s.k,
            "neutral_fraction": s.neutral_fraction,
            "amplitude_norm": s.amplitude_norm,
            "template": asdict(self.method.template_settings),
        }
