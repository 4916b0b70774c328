"""Decoding: frame sampling, frame folders and video files into RGB frames, and the reasons a
clip cannot be read (:class:`BadInput`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ppfer_core.datasets import FRAME_EXTENSIONS


class BadInput(Exception):
    """One input cannot be ingested; ``str(exc)`` is the reason written to rejected.parquet."""


# --------------------------------------------------------------------------- sampling


def sample_indices(n_frames: int, t: int) -> np.ndarray:
    """``t`` frame indices spread evenly over ``[0, n_frames - 1]`` (both ends included).

    A short clip (``n_frames < t``) gives ``0 .. n_frames - 1`` and then repeats the last
    frame (the authors' padding). ``t == 1`` gives ``[0]``.
    """
    if n_frames < 1:
        raise ValueError(f"cannot sample from a clip of {n_frames} frames")
    if t < 1:
        raise ValueError(f"t must be >= 1, got {t}")
    if n_frames < t:
        return np.concatenate([np.arange(n_frames), np.full(t - n_frames, n_frames - 1)]).astype(np.int64)
    # round half up (np.round rounds half to even, which would not be evenly spread)
    return np.floor(np.linspace(0, n_frames - 1, t) + 0.5).astype(np.int64)


def _wanted(n: int, t: int | None):
    """The frame indices to convert: all ``n`` when ``t`` is None, else the sampled ones, once each."""
    return range(n) if t is None else sorted(set(sample_indices(n, t).tolist()))


# --------------------------------------------------------------------------- decoding


def frame_sort_key(name: str) -> tuple:
    """Numeric sort key of a frame file name: its digit groups as integers (``2.jpg`` < ``10.jpg``,
    ``00017_00002.jpg`` < ``00017_00010.jpg``), then the name."""
    return tuple(int(g) for g in re.findall(r"[0-9]+", Path(name).stem)), name


def list_frame_files(folder: str | Path) -> list[Path]:
    """Image files of a frame folder (.jpg/.jpeg/.png), sorted numerically by :func:`frame_sort_key`."""
    files = [p for p in Path(folder).iterdir() if p.suffix.lower() in FRAME_EXTENSIONS and p.is_file()]
    return sorted(files, key=lambda p: frame_sort_key(p.name))


@dataclass
class _Decoded:
    n: int  # frames available (decoded frames of a video, readable images of a folder)
    frames: dict[int, np.ndarray]  # index -> RGB uint8 frame, for the requested indices
    notes: list[str] = field(default_factory=list)


@dataclass
class _Demuxed:
    """What the demuxer gave: the frames (av.VideoFrame, YUV), the packets that failed to decode,
    and the error that stopped the stream early, if any."""

    frames: list
    errors: list[Exception]
    stopped: Exception | None


def _ffmpeg_error_text(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {text}"


def _check_video_file(path: Path) -> None:
    """Raise :class:`BadInput` for a missing or empty file or a git-lfs pointer."""
    try:
        n_bytes = path.stat().st_size
    except FileNotFoundError:
        raise BadInput("file not found") from None
    if n_bytes == 0:
        raise BadInput("empty file (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(64)
    if head.startswith(b"version https://git-lfs"):
        raise BadInput("git-lfs pointer file, not the video (fetch the data with `git lfs pull`)")


def _demux(container, stream) -> _Demuxed:
    """Decode every video packet; a corrupt packet is skipped, a broken container stops the loop."""
    import av

    out = _Demuxed(frames=[], errors=[], stopped=None)  # frames converted to RGB only where sampled
    packets = container.demux(stream)  # video packets only: an audio track is skipped
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except (av.error.FFmpegError, OSError, ValueError) as exc:  # truncated / corrupt container
            out.stopped = exc
            break
        try:
            out.frames.extend(packet.decode())
        except (av.error.FFmpegError, ValueError) as exc:  # a corrupt packet: skip it, go on
            out.errors.append(exc)
    return out


def _no_frames_reason(d: _Demuxed, declared: int | None) -> str:
    why = []
    if d.errors:
        why.append(f"{len(d.errors)} packets failed, first: {_ffmpeg_error_text(d.errors[0])}")
    if d.stopped is not None:
        why.append(f"stream ends early: {_ffmpeg_error_text(d.stopped)}")
    if declared:
        why.append(f"container declares ~{declared} frames")
    return "decodes to no frames" + (f" ({'; '.join(why)})" if why else " (no video packets)")


def _video_notes(d: _Demuxed, declared: int | None) -> list[str]:
    n = len(d.frames)
    notes = []
    if d.stopped is not None:
        notes.append(f"stream ends early after {n} frames ({_ffmpeg_error_text(d.stopped)})")
    if d.errors:
        notes.append(f"{len(d.errors)} packets failed to decode (first: {_ffmpeg_error_text(d.errors[0])})")
    if declared and n < 0.9 * declared - 1:
        notes.append(f"decoded {n} of ~{declared} frames the container declares (truncated?)")
    return notes


def _decode_video(path: Path, t: int | None) -> _Decoded:
    import av  # imported lazily: listing and splitting do not need it

    _check_video_file(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise BadInput(
            f"cannot open as a video: not a readable container ({_ffmpeg_error_text(exc)})"
        ) from None
    with container:
        if not container.streams.video:
            kinds = ", ".join(f"{s.type}/{s.codec_context.name}" for s in container.streams) or "none"
            raise BadInput(f"no video stream (streams: {kinds})")
        stream = container.streams.video[0]
        declared = None
        if container.duration and stream.average_rate:
            declared = int(round(container.duration / 1e6 * float(stream.average_rate)))
        demuxed = _demux(container, stream)
        n = len(demuxed.frames)
        if n == 0:
            raise BadInput(_no_frames_reason(demuxed, declared))
        out = {i: demuxed.frames[i].to_ndarray(format="rgb24") for i in _wanted(n, t)}
        return _Decoded(n=n, frames=out, notes=_video_notes(demuxed, declared))


def _load_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _decode_folder(folder: Path, t: int | None) -> _Decoded:
    files = list_frame_files(folder)
    if not files:
        raise BadInput(f"empty frame folder: no {'/'.join(FRAME_EXTENSIONS)} frames")
    wanted = _wanted(len(files), t)
    try:  # fast path: read only the sampled frames
        return _Decoded(n=len(files), frames={i: _load_image(files[i]) for i in wanted})
    except (OSError, ValueError, SyntaxError):
        pass
    good, bad = [], []  # some image is unreadable: keep the readable ones and sample among them
    for f in files:
        try:
            good.append(_load_image(f))
        except (OSError, ValueError, SyntaxError) as exc:
            bad.append((f.name, exc))
    if not good:
        raise BadInput(f"no readable frame in folder ({len(bad)} images, first: {bad[0][0]}: {bad[0][1]})")
    note = f"{len(bad)} of {len(files)} frame images unreadable and skipped (first: {bad[0][0]})"
    return _Decoded(n=len(good), frames={i: good[i] for i in _wanted(len(good), t)}, notes=[note])


def _decode(source: str | Path, t: int | None) -> _Decoded:
    path = Path(source)
    if path.is_dir():
        return _decode_folder(path, t)
    return _decode_video(path, t)


def read_frames(source: str) -> list[np.ndarray]:
    """Every frame of a clip as RGB uint8 ``[h, w, 3]`` arrays.

    ``source`` is a video file (decoded with PyAV, first video stream only, so an audio
    track does not matter) or a folder of .jpg/.jpeg/.png frames sorted numerically by the
    digits in their names. A corrupt packet is skipped; a stream that ends early gives the
    frames before the break. Raises :class:`BadInput` with the reason when nothing can be read.
    """
    dec = _decode(source, None)
    return [dec.frames[i] for i in range(dec.n)]
