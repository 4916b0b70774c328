"""A real-face test video from a photograph an installed package ships: scikit-image's
``astronaut`` (Eileen Collins, public domain), panned and zoomed over the frames, with a sine
tone as audio. Used by the tests, the benchmarks and the README figure; nothing is downloaded.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def astronaut_frames(n: int, size: tuple[int, int] = (360, 480), faces: int = 1) -> list[np.ndarray]:
    """``n`` RGB frames [H, W, 3]: a window over the astronaut photograph that zooms in from 100 % to
    70 % of the photo and pans sideways. ``faces=2``: the photo and its mirror image side by side,
    shown whole (two faces; use a 2:1 ``size``)."""
    from PIL import Image
    from skimage import data

    photo = data.astronaut()
    if faces == 2:
        photo = np.concatenate([photo, photo[:, ::-1]], axis=1)
    elif faces != 1:
        raise ValueError("faces must be 1 or 2")
    ph, pw = photo.shape[:2]
    h, w = size
    img = Image.fromarray(photo)
    out = []
    for i in range(n):
        s = i / max(n - 1, 1)
        zoom = 1.0 - 0.3 * s if faces == 1 else 1.0
        cw = min(pw, ph * w / h) * zoom
        ch = cw * h / w
        cx = pw / 2 + (pw - cw) / 2 * 0.6 * np.sin(2 * np.pi * s)
        cy = ph / 2 - (ph - ch) / 2 * 0.5 if faces == 1 else ph / 2
        box = (cx - cw / 2, cy - ch / 2, cx + cw / 2, cy + ch / 2)
        out.append(np.asarray(img.resize((w, h), Image.Resampling.BILINEAR, box=box)))
    return out


def write_video(
    path: str | Path,
    frames: list[np.ndarray],
    fps: int = 25,
    tone: float | None = 440.0,
    codec: str = "libx264",
    audio_codec: str = "aac",
) -> None:
    """Write frames (and a sine tone as long as the video) with PyAV; the container follows the suffix."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        aus = None
        if tone is not None:
            aus = out.add_stream(audio_codec, rate=44100)
            aus.layout = "mono"
        for i, img in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, fps)
            for pkt in vs.encode(vf):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if aus is not None:
            _write_tone(out, aus, len(frames) / fps, tone)


def _write_tone(out, stream, seconds: float, freq: float) -> None:
    import av

    rate, chunk = 44100, 1024
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    fmt = stream.codec_context.format.name if stream.codec_context.format else "fltp"
    resampler = av.AudioResampler(format=fmt, layout="mono", rate=rate)
    for start in range(0, len(samples), chunk):
        af = av.AudioFrame.from_ndarray(samples[None, start : start + chunk], format="flt", layout="mono")
        af.sample_rate, af.pts = rate, start
        for rf in resampler.resample(af):
            for pkt in stream.encode(rf):
                out.mux(pkt)
    for pkt in stream.encode():
        out.mux(pkt)
