"""Settings and results of ``ppfer anonymize`` (one :class:`Options` per call, one :class:`Result`
per input), with the choices the command line offers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ppfer_core.anonymize.apply import REPLACEMENTS

NO_FACE = ("blur", "keep", "drop")
"""What happens to a frame without a face: blurred whole (default), kept as it is, or left out."""
AUDIO = ("drop", "keep")
"""The input's audio: left out (default: a voice identifies a person) or copied, not anonymised."""
ON_ERROR = ("fail", "keep-partial")
"""A damaged video (decoding error, or a stream ending before its stated duration): the input fails
(default), or the frames decoded before the damage are anonymised and the sidecar lists the rest."""
DEFAULT_MARGIN = 0.25
"""Face box growth on every side without a bundle (``--method blur|solid|mosaic``): the workflow's
``ingest.face_margin`` default, deface's ``--mask-scale 1.5``."""
X264_PARAMS = "no-mbtree=1"
"""x264's macroblock-tree pass reads memory that depends on the heap, so the same frames gave
different bytes from run to run when an audio track was open; without it the output is reproducible."""


@dataclass(frozen=True)
class Options:
    """Settings of one ``ppfer anonymize`` call (see ``ppfer anonymize --help``)."""

    method: str | None = None  # a bundle method (None: the bundle's default) or one of REPLACEMENTS
    threshold: float = 0.6
    detect_every: int = 1
    smooth: int = 3
    hold: float = 1.0  # seconds a lost track keeps its box (and may be re-joined)
    margin: float | None = None  # None: the bundle's face margin, else DEFAULT_MARGIN
    feather: float = 0.1
    min_face: float = 16.0
    fallback: str = "blur"
    no_face: str = "blur"
    audio: str = "drop"
    on_error: str = "fail"
    batch: int = 16
    crf: int = 18
    preset: str = "veryfast"
    device: str = "cpu"

    def check(self) -> None:
        """Raise ValueError naming the first invalid option."""
        for name, value, choices in (
            ("--no-face", self.no_face, NO_FACE),
            ("--fallback", self.fallback, REPLACEMENTS),
            ("--audio", self.audio, AUDIO),
            ("--on-error", self.on_error, ON_ERROR),
        ):
            if value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        for name, value, low in (
            ("--thresh", self.threshold, 0.0),
            ("--margin", self.margin or 0.0, 0.0),
            ("--feather", self.feather, 0.0),
            ("--min-face", self.min_face, 0.0),
            ("--hold", self.hold, 0.0),
        ):
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value}")
        if self.detect_every < 1 or self.batch < 1 or self.smooth < 1:
            raise ValueError("--detect-every, --smooth and --batch must be >= 1")

    @property
    def needs_bundle(self) -> bool:
        """Whether the method is a bundle's (the replacements need no model)."""
        return self.method not in REPLACEMENTS


@dataclass
class Timings:
    """Seconds spent per stage of one input."""

    decode: float = 0.0
    detect: float = 0.0
    models: float = 0.0
    paste: float = 0.0
    encode: float = 0.0

    def add(self, other: Timings) -> None:
        for k in asdict(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class Result:
    """What anonymising one input did."""

    input: str
    output: str
    frames: int
    frames_written: int
    faces: int  # face instances anonymised (summed over frames)
    tracks: int
    no_face_frames: int
    seconds: float
    timings: Timings = field(default_factory=Timings)
    fallback_frames: int = 0  # frames where at least one face got the fallback replacement
    missing_frames: int = 0  # frames lost to damage (only with --on-error keep-partial)
