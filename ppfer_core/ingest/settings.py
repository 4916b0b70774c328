"""What an ingest run is asked to do (:class:`IngestSettings`) and how it fails (:class:`IngestError`)."""

from __future__ import annotations

from dataclasses import dataclass

from ppfer_core.faces import FaceSettings
from ppfer_core.ingest.geometry import CROPS

ON_ERROR = ("skip", "fail")


class IngestError(Exception):
    """Bad inputs with ``on_error="fail"`` (the message names every one), or nothing left to ingest."""


@dataclass(frozen=True)
class IngestSettings:
    """The ``ingest`` block of the config: how every clip is decoded, fitted and split.

    ``frames`` (T) frames per clip, evenly sampled; ``size`` = (H, W); ``crop`` one of
    ``("center", "none", "face")``, ``"face"`` with ``face`` settings (default
    :class:`~ppfer_core.faces.FaceSettings`: margin, detector); ``on_error`` ``"skip"`` or
    ``"fail"``; ``test_fraction`` and ``seed`` for :func:`~ppfer_core.ingest.assign_split` (None
    when the corpus presets its splits); ``workers`` > 1 decodes in that many processes (same output).
    Checked on construction (ValueError).
    """

    frames: int
    size: tuple[int, int]
    crop: str
    on_error: str
    seed: int
    test_fraction: float | None
    face: FaceSettings | None = None
    workers: int = 1

    def __post_init__(self):
        if self.on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, got {self.on_error!r}")
        if self.crop not in CROPS:
            raise ValueError(f"crop must be one of {CROPS}, got {self.crop!r}")
        H, W = (int(v) for v in self.size)
        object.__setattr__(self, "size", (H, W))
        if self.frames < 1 or H < 1 or W < 1:
            raise ValueError(f"t and size must be positive, got t={self.frames}, size={self.size}")
        if self.crop == "face" and self.face is None:
            object.__setattr__(self, "face", FaceSettings())
