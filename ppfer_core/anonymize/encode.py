"""The H.264 MP4 that ``ppfer anonymize`` writes: every frame at the presentation timestamp it had
in the input (variable frame rate stays variable, frames left out leave a gap, not a shift), the
input's display rotation written back, the audio left out unless asked for, and the same bytes for
the same frames (x264 without its macroblock tree, :data:`~ppfer_core.anonymize.options.X264_PARAMS`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ppfer_core.anonymize.decode import VideoInfo, coded
from ppfer_core.anonymize.options import X264_PARAMS

MP4_AUDIO = ("aac", "mp3", "alac", "ac3")
"""Audio codecs copied into MP4 as they are; any other is re-encoded to AAC (timestamps kept)."""


class VideoWriter:
    """H.264 (libx264, yuv420p) MP4 in the input's time base and orientation; with ``audio`` the
    input's first audio stream, copied (re-encoded to AAC when MP4 cannot hold its codec). Odd coded
    sizes lose their last row/column (yuv420p needs even sizes)."""

    def __init__(
        self, path: Path, source: Path, info: VideoInfo, crf: int = 18, preset: str = "veryfast", audio=False
    ):
        import av

        self.out = av.open(str(path), "w", format="mp4")
        self.info = info
        self.width, self.height = info.width - info.width % 2, info.height - info.height % 2
        self.video = self.out.add_stream(
            "libx264",
            rate=info.rate,
            options={"crf": str(crf), "preset": preset, "x264-params": X264_PARAMS},
        )
        self.video.width, self.video.height, self.video.pix_fmt = self.width, self.height, "yuv420p"
        self.video.codec_context.time_base = info.time_base
        self.video.time_base = info.time_base
        if info.rotation:
            self.video.set_display_rotation(info.rotation)
        self.n = 0
        self.audio_mode = "none (the input has no audio)" if info.audio_codec is None else "dropped"
        self._src, self._audio = None, None
        if audio and info.audio_codec is not None:
            self._src, self._audio = source, self._audio_stream(source)

    def _audio_stream(self, source: Path):
        """The output audio stream (added before anything is muxed): a copy of the input's, or AAC."""
        import av

        with av.open(str(source)) as src:
            ain = src.streams.audio[0].codec_context
            if ain.name in MP4_AUDIO:
                self.audio_mode = f"kept, not anonymised: copied ({ain.name})"
                return self.out.add_stream_from_template(src.streams.audio[0])
            self.audio_mode = f"kept, not anonymised: re-encoded ({ain.name} -> aac)"
            aout = self.out.add_stream("aac", rate=ain.sample_rate)
            # an unordered layout ("1 channels", as PCM in Matroska has) -> the default one of that size
            aout.layout = (
                {1: "mono", 2: "stereo"}.get(ain.channels, ain.layout.name)
                if "channels" in ain.layout.name
                else ain.layout.name
            )
            return aout

    def write(self, frame: np.ndarray, pts: int) -> None:
        """Encode one upright RGB uint8 frame at ``pts`` (the input's time base)."""
        import av

        image = coded(frame, self.info.rotation)
        vf = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(image[: self.height, : self.width]), format="rgb24"
        )
        vf.pts, vf.time_base = pts, self.info.time_base
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
            if self.audio_mode.endswith(f"copied ({ain.codec_context.name})"):
                for pkt in src.demux(ain):
                    if pkt.dts is None:
                        continue
                    pkt.stream = aout
                    self.out.mux(pkt)
                return
            resampler = av.AudioResampler(format="fltp", layout=aout.layout, rate=aout.rate)
            for frame in src.decode(ain):
                for rf in resampler.resample(frame):
                    for pkt in aout.encode(rf):
                        self.out.mux(pkt)
            for pkt in aout.encode():
                self.out.mux(pkt)
