"""The files ``ppfer anonymize`` processes: inputs found (videos of any container PyAV reads,
still photographs), opened, photographs read and written. Videos are decoded by
:mod:`~ppfer_core.anonymize.decode` and written by :mod:`~ppfer_core.anonymize.encode`.

Every problem with an input becomes a :class:`BadInput` whose message is one line naming the
file and the reason (not found, empty, unreadable, audio-only, no frames decoded).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".flv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".3gp")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class BadInput(Exception):
    """An input that cannot be anonymised; ``str(exc)`` is ``"<file>: <reason>"``."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


def is_image(path: str | Path) -> bool:
    """Whether ``path`` is treated as a still photograph (by its extension)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files given, with folders replaced by the videos and photographs directly inside them (sorted)."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(
                f
                for f in p.iterdir()
                if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS
            )
        else:
            out.append(p)
    return out


def list_videos(folder: str | Path) -> list[Path]:
    """Videos directly inside ``folder`` (by extension), sorted; none when it does not exist."""
    folder = Path(folder)
    return (
        sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS)
        if folder.is_dir()
        else []
    )


def find_video(folder: str | Path, name: str) -> Path:
    """The one video of ``folder`` named ``name`` (without extension); ValueError naming the folder otherwise."""
    found = [f for f in list_videos(folder) if f.stem == name]
    if len(found) != 1:
        raise ValueError(
            f"{folder}: {len(found)} videos named {name}.* (need exactly one; extensions "
            f"{' '.join(VIDEO_EXTENSIONS)})"
        )
    return found[0]


def _check_file(path: Path) -> None:
    if not path.exists():
        raise BadInput(path, "file not found")
    if not path.is_file():
        raise BadInput(path, "not a regular file")
    if path.stat().st_size == 0:
        raise BadInput(path, "empty file (0 bytes)")


def open_container(path: Path):
    """The file opened by PyAV; :class:`BadInput` when it is missing, empty or unreadable."""
    import av

    _check_file(path)
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise BadInput(path, f"unreadable ({ffmpeg_reason(exc)})") from exc


def ffmpeg_reason(exc: Exception) -> str:
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip()


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 [H, W, 3] of a photograph, upright: the EXIF orientation a phone records is applied
    (the output is written upright, without the tag or any other EXIF field)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    _check_file(path)
    try:
        with Image.open(path) as img:
            return np.asarray(ImageOps.exif_transpose(img).convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BadInput(path, f"unreadable image ({exc})") from exc


def write_image(path: Path, frame: np.ndarray, like: Path) -> None:
    """Write ``frame`` in the format of ``like``'s extension (JPEG at quality 95), no metadata."""
    from PIL import Image

    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(like.suffix.lower(), None)
    fmt = fmt or like.suffix.lower().lstrip(".").upper()
    kwargs = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(frame).save(path, format=fmt, **kwargs)
