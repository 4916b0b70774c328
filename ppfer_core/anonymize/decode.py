"""Decoding an input video for both passes of ``ppfer anonymize``: frames upright (the display
rotation applied), each with its presentation timestamp, and damage detected rather than swallowed.

A decoding error mid-stream, or a stream that ends well before the duration its container states
(a cut download often decodes cleanly up to the cut), is damage: :class:`BadInput` naming the
file, the frame and the reason, unless ``keep_partial``, in which case decoding stops there and
:attr:`VideoReader.damage` says which frames are missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ppfer_core.anonymize.media import BadInput, ffmpeg_reason, open_container


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its index in decoding order, pts (stream time base) and upright RGB pixels."""

    index: int
    pts: int
    image: np.ndarray


@dataclass(frozen=True)
class Damage:
    """What a damaged stream did not deliver. Frames are numbered at the stream's average rate from
    its start (``round((pts - start) x time_base x rate)``): the slots no decoded frame filled,
    between decoded frames and after the last one up to the stated duration, as inclusive ranges."""

    reason: str
    missing: tuple[tuple[int, int], ...]

    @property
    def count(self) -> int:
        return sum(b - a + 1 for a, b in self.missing)

    def to_dict(self) -> dict:
        return {
            "reason": self.reason,
            "missing_frames": [list(r) for r in self.missing],
            "missing_count": self.count,
            "frame_numbers": "at the average frame rate from the stream's start (pts x time_base x rate)",
        }


@dataclass(frozen=True)
class VideoInfo:
    """What the writer needs of an input video (after the first pass)."""

    width: int  # coded size, before the rotation
    height: int
    rate: Fraction  # average frames per second (x264's rate control; timing comes from the pts)
    time_base: Fraction  # of the pts
    rotation: int  # degrees counter-clockwise the player turns the coded picture (0, 90, 180, -90)
    audio_codec: str | None  # None: no audio stream
    pts: tuple[int, ...]  # presentation timestamps of the frames, in decoding order


def frame_rate(stream) -> Fraction:
    """The stream's average (else guessed, else base) frame rate; 25 fps when none is known."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and rate > 0:
            return Fraction(rate)
    return Fraction(25)


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """The coded picture turned as the display matrix says (``rotation`` degrees counter-clockwise)."""
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


def coded(image: np.ndarray, rotation: int) -> np.ndarray:
    """Inverse of :func:`upright`: an upright picture back to the coded orientation."""
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, -k)) if k else image


def _stated_seconds(container, stream) -> float | None:
    """Duration of the video stream as the container states it, seconds: the stream's duration,
    else its ``DURATION`` tag (Matroska), else the container's when the video is its only stream
    (with audio the container's duration may be the audio's); None when nothing states it."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:
        try:
            h, m, sec = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            pass
    if container.duration and len(container.streams) == 1:
        return container.duration / 1_000_000
    return None


class VideoReader:
    """The first video stream of a file, decoded once per :meth:`frames` call (one call per pass)."""

    def __init__(self, path: Path, keep_partial: bool = False):
        self.path, self.keep_partial = Path(path), keep_partial
        self.damage: Damage | None = None
        self.rotation = 0
        with open_container(self.path) as container:
            if not container.streams.video:
                kinds = sorted({s.type for s in container.streams}) or ["no streams"]
                raise BadInput(self.path, f"no video stream (audio-only?): has {', '.join(kinds)}")
            v = container.streams.video[0]
            self.width, self.height = v.codec_context.width, v.codec_context.height
            self.rate, self.time_base = frame_rate(v), Fraction(v.time_base or Fraction(1, 90000))
            self.start = v.start_time or 0
            self.stated = _stated_seconds(container, v)
            self.stated_frames = v.frames or 0
            a = container.streams.audio
            self.audio_codec = a[0].codec_context.name if a else None

    def info(self, pts: list[int]) -> VideoInfo:
        """What the writer needs, given the first pass's timestamps."""
        return VideoInfo(
            self.width, self.height, self.rate, self.time_base, self.rotation, self.audio_codec, tuple(pts)
        )

    def frames(self) -> Iterator[Frame]:
        """Decoded frames, upright, with their pts; damage raises or (keep_partial) ends the stream."""
        import av

        n, last = 0, None
        self._seen: list[int] = []
        with open_container(self.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            try:
                for frame in container.decode(stream):
                    if n == 0:
                        self.rotation = int(frame.rotation or 0)
                    pts = self._pts(frame.pts, last)
                    yield Frame(n, pts, upright(frame.to_ndarray(format="rgb24"), self.rotation))
                    n, last = n + 1, pts
                    self._seen.append(pts)
            except av.FFmpegError as exc:
                if n == 0:
                    raise BadInput(self.path, f"unreadable video ({ffmpeg_reason(exc)})") from exc
                self._damaged(f"decoding error after frame {n - 1} ({ffmpeg_reason(exc)})")
                return
        if n == 0:
            raise BadInput(self.path, "no video frames could be decoded (empty video)")
        self._check_end(n, last)

    def _pts(self, pts: int | None, last: int | None) -> int:
        """The frame's pts; one frame duration after the last when the container gives none."""
        if pts is None:
            step = max(1, round(1 / (self.rate * self.time_base)))
            return self.start if last is None else last + step
        if last is not None and pts <= last:
            raise BadInput(self.path, f"timestamps not increasing: pts {pts} after {last}")
        return pts

    def _check_end(self, n: int, last: int) -> None:
        """Damage when the stream ended more than two frames (and 0.1 s) before its stated end."""
        end = float((last - self.start) * self.time_base + 1 / self.rate)
        short = (self.stated or 0.0) - end
        if short > max(2 / float(self.rate), 0.1):
            self._damaged(
                f"stream ends at {end:.2f} s, {short:.2f} s before the {self.stated:.2f} s its container "
                "states (truncated file?)"
            )

    def _number(self, pts: int) -> int:
        return round(float((pts - self.start) * self.time_base * self.rate))

    def _damaged(self, reason: str) -> None:
        """Fail, or (keep_partial) note the damage: the frame slots missing between and after the
        frames decoded so far."""
        if not self.keep_partial:
            raise BadInput(self.path, f"damaged video: {reason} (--on-error keep-partial keeps the rest)")
        numbers = [self._number(p) for p in self._seen]
        missing = [(a + 1, b - 1) for a, b in zip(numbers, numbers[1:]) if b - a > 1]
        total = self.stated_frames or (round(self.stated * float(self.rate)) if self.stated else 0)
        if total - 1 > numbers[-1]:
            missing.append((numbers[-1] + 1, total - 1))
        self.damage = Damage(reason, tuple(missing))
