"""Reading and writing what ``ppfer anonymize`` processes: videos (any container PyAV reads),
still photographs, and the H.264 MP4 output with the input's frame rate and audio.

Every problem with an input becomes a :class:`BadInput` whose message is one line naming the
file and the reason (not found, empty, unreadable, audio-only, no frames decoded).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".flv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".3gp")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
MP4_AUDIO = ("aac", "mp3", "alac", "ac3")
"""Audio codecs copied into MP4 as they are; any other is re-encoded to AAC."""


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


def _open(path: Path):
    import av

    _check_file(path)
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise BadInput(path, f"unreadable ({_ffmpeg_reason(exc)})") from exc


def _ffmpeg_reason(exc: Exception) -> str:
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip()


@dataclass(frozen=True)
class VideoInfo:
    """What the writer needs of an input video."""

    width: int
    height: int
    rate: Fraction  # frames per second
    audio_codec: str | None  # None: no audio stream
    n_frames: int  # decoded frames (counted in the first pass)


def read_image(path: Path) -> np.ndarray:
    """RGB uint8 [H, W, 3] of a photograph."""
    from PIL import Image, UnidentifiedImageError

    _check_file(path)
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BadInput(path, f"unreadable image ({exc})") from exc


def write_image(path: Path, frame: np.ndarray, like: Path) -> None:
    """Write ``frame`` in the format of ``like``'s extension (JPEG at quality 95)."""
    from PIL import Image

    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}.get(like.suffix.lower(), None)
    fmt = fmt or like.suffix.lower().lstrip(".").upper()
    kwargs = {"quality": 95} if fmt == "JPEG" else {}
    Image.fromarray(frame).save(path, format=fmt, **kwargs)


def frame_rate(stream) -> Fraction:
    """The stream's average (else guessed, else base) frame rate; 25 fps when none is known."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and rate > 0:
            return Fraction(rate)
    return Fraction(25)


def iter_frames(path: Path) -> Iterator[np.ndarray]:
    """Decoded RGB frames [H, W, 3] of the first video stream; :class:`BadInput` for an audio-only
    file or a decoding error (unless frames came before it)."""
    import av

    with _open(path) as container:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["no streams"]
            raise BadInput(path, f"no video stream (audio-only?): has {', '.join(kinds)}")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        n = 0
        try:
            for frame in container.decode(stream):
                n += 1
                yield frame.to_ndarray(format="rgb24")
        except av.FFmpegError as exc:
            if n == 0:
                raise BadInput(path, f"unreadable video ({_ffmpeg_reason(exc)})") from exc
        if n == 0:
            raise BadInput(path, "no video frames could be decoded (empty video)")


def probe(path: Path, n_frames: int) -> VideoInfo:
    """Size, frame rate and audio codec of a video whose frames were counted (``n_frames``)."""
    with _open(path) as container:
        v = container.streams.video[0]
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        return VideoInfo(v.codec_context.width, v.codec_context.height, frame_rate(v), audio, n_frames)


class VideoWriter:
    """H.264 (libx264, yuv420p) MP4 at the input's frame rate, with the input's first audio stream
    copied (re-encoded to AAC when MP4 cannot hold its codec). Odd frame sizes lose their last
    row/column (yuv420p needs even sizes)."""

    def __init__(self, path: Path, source: Path, info: VideoInfo, crf: int = 18, preset: str = "veryfast"):
        import av

        self.out = av.open(str(path), "w", format="mp4")
        self.rate = info.rate
        self.width, self.height = info.width - info.width % 2, info.height - info.height % 2
        self.video = self.out.add_stream(
            "libx264", rate=info.rate, options={"crf": str(crf), "preset": preset}
        )
        self.video.width, self.video.height, self.video.pix_fmt = self.width, self.height, "yuv420p"
        self.n = 0
        self.audio_mode = "none"
        self._src, self._audio = (source, self._audio_stream(source)) if info.audio_codec else (None, None)

    def _audio_stream(self, source: Path):
        """The output audio stream (added before anything is muxed): a copy of the input's, or AAC."""
        import av

        with av.open(str(source)) as src:
            ain = src.streams.audio[0].codec_context
            if ain.name in MP4_AUDIO:
                self.audio_mode = f"copied ({ain.name})"
                return self.out.add_stream_from_template(src.streams.audio[0])
            self.audio_mode = f"re-encoded ({ain.name} -> aac)"
            aout = self.out.add_stream("aac", rate=ain.sample_rate)
            aout.layout = ain.layout.name
            return aout

    def write(self, frame: np.ndarray) -> None:
        """Encode one RGB uint8 frame."""
        import av

        vf = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(frame[: self.height, : self.width]), format="rgb24"
        )
        vf.pts, vf.time_base = self.n, 1 / self.rate
        self.n += 1
        for pkt in self.video.encode(vf):
            self.out.mux(pkt)

    def close(self) -> None:
        """Flush the video, add the audio and finish the file."""
        for pkt in self.video.encode():
            self.out.mux(pkt)
        if self._src is not None:
            self._add_audio()
        self.out.close()

    def abort(self) -> None:
        """Close without finishing (the caller deletes the file)."""
        try:
            self.out.close()
        except Exception:  # noqa: BLE001 - the file is discarded anyway
            pass

    def _add_audio(self) -> None:
        import av

        aout = self._audio
        with av.open(str(self._src)) as src:
            ain = src.streams.audio[0]
            if self.audio_mode.startswith("copied"):
                for pkt in src.demux(ain):
                    if pkt.dts is None:
                        continue
                    pkt.stream = aout
                    self.out.mux(pkt)
                return
            resampler = av.AudioResampler(format="fltp", layout=aout.layout, rate=aout.rate)
            for frame in src.decode(ain):
                frame.pts = None
                for rf in resampler.resample(frame):
                    for pkt in aout.encode(rf):
                        self.out.mux(pkt)
            for pkt in aout.encode():
                self.out.mux(pkt)
