"""Tests of the embedded procedural corpora (ppfer_core.synthetic)."""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ppfer_core import EMOTIONS
from ppfer_core import synthetic as sy

SIZE = 64
FRAMES = (8, 12)
NAME_RE = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.flv$")


def _decode(path: Path) -> tuple[np.ndarray, str]:
    """All frames (uint8 [F,H,W,3]) and the canonical codec name of a video file."""
    with av.open(str(path)) as c:
        codec = c.streams.video[0].codec_context.codec.canonical_name
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    return frames, codec


def _inside(points: np.ndarray, poly: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Whether the nearest pixels of ``points`` lie inside polygon ``poly`` (both x, y)."""
    r0, c0, m = sy._poly_mask(poly, shape)
    full = np.zeros(shape, dtype=bool)
    full[r0 : r0 + m.shape[0], c0 : c0 + m.shape[1]] = m
    ij = np.rint(points).astype(int)
    return full[ij[:, 1], ij[:, 0]]


@pytest.fixture(scope="module")
def cremad(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("cremad")
    df = sy.generate_cremad(root, n_actors=3, clips_per_cell=1, n_frames=FRAMES, size=SIZE, fps=25, seed=0)
    return root, df


@pytest.fixture(scope="module")
def dfew(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("dfew")
    df = sy.generate_dfew(
        root, n_actors=3, clips_per_class=3, n_frames=(8, 10), size=48, seed=0, first_actor=5001
    )
    return root, df


# --------------------------------------------------------------------------- CREMA-D form


def test_cremad_names_match_labels_and_levels(cremad):
    root, df = cremad
    files = sorted(p.name for p in (root / "VideoFlash").iterdir())
    assert files == sorted(df["file"])
    assert len(files) == 3 * len(EMOTIONS) == len(set(files))
    for row in df.itertuples():
        m = NAME_RE.match(row.file)
        assert m, row.file
        actor, sentence, emotion, level = m.groups()
        assert (int(actor), sentence, emotion, level) == (row.actor, row.sentence, row.emotion, row.level)
        assert sentence in sy.SENTENCES and level in sy.LEVELS and emotion in EMOTIONS
        if sentence == "IEO" and emotion != "NEU":
            assert level in ("LO", "MD", "HI")
        else:
            assert level == "XX"
        assert FRAMES[0] <= row.n_frames <= FRAMES[1]
    cells = set(zip(df["actor"], df["emotion"]))
    assert cells == {(a, e) for a in (1001, 1002, 1003) for e in EMOTIONS}


def test_cremad_combinations_distinct_per_actor(tmp_path):
    df = sy.generate_cremad(tmp_path, n_actors=1, clips_per_cell=4, n_frames=(3, 3), size=16, fps=25, seed=3)
    assert len(df) == 4 * len(EMOTIONS) and df["file"].is_unique
    assert (df.groupby("emotion").size() == 4).all()


def test_flv_decodes_with_requested_shape(cremad):
    root, df = cremad
    marks = np.load(root / "landmarks.npz")
    assert sorted(marks.files) == sorted(f[:-4] for f in df["file"])
    for row in df.itertuples():
        frames, codec = _decode(root / "VideoFlash" / row.file)
        assert codec == "flv1"
        assert frames.shape == (row.n_frames, SIZE, SIZE, 3)
        assert marks[row.file[:-4]].shape == (row.n_frames, 68, 2)
    with av.open(str(root / "VideoFlash" / df["file"][0])) as c:
        assert c.format.name == "flv"


def test_bad_arguments_raise():
    for size in (8, 0, 5000, 64.5):
        with pytest.raises(ValueError, match="size"):
            sy.generate_cremad(Path("/nonexistent"), 1, 1, (4, 4), size, 25, 0)
    with pytest.raises(ValueError, match="clips_per_cell"):
        sy.generate_cremad(Path("/nonexistent"), 1, 13, (4, 4), 32, 25, 0)
    with pytest.raises(ValueError, match="n_frames"):
        sy.generate_cremad(Path("/nonexistent"), 1, 1, (5, 4), 32, 25, 0)


# --------------------------------------------------------------------------- identity


def _geometry_features(lm: np.ndarray) -> np.ndarray:
    """Pose-invariant face proportions from the first frame's landmarks."""
    p = lm[0]
    eyes = p[36:42].mean(0), p[42:48].mean(0)
    iod = np.linalg.norm(eyes[1] - eyes[0])
    mid = (eyes[0] + eyes[1]) / 2
    return np.array(
        [
            iod / np.linalg.norm(p[16] - p[0]),
            np.linalg.norm(p[30] - mid) / iod,
            np.linalg.norm(p[8] - mid) / iod,
            np.linalg.norm(p[39] - p[36]) / iod,
        ]
    )


def _cheek_colour(path: Path, lm: np.ndarray) -> np.ndarray:
    """Mean colour of two 3x3 cheek patches in the decoded middle frame."""
    frames, _ = _decode(path)
    m = len(frames) // 2
    p = lm[m]
    patches = []
    for x, y in ((p[1] + p[29]) / 2, (p[15] + p[29]) / 2):
        i, j = int(round(y)), int(round(x))
        patches.append(frames[m, i - 1 : i + 2, j - 1 : j + 2].reshape(-1, 3).astype(float))
    return np.concatenate(patches).mean(0)


def _within_between(feats: dict[str, np.ndarray]) -> tuple[float, float]:
    keys = list(feats)
    within, between = [], []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            d = float(np.linalg.norm(feats[a] - feats[b]))
            (within if a[:4] == b[:4] else between).append(d)
    return float(np.mean(within)), float(np.mean(between))


def test_identity_varies_between_and_persists_within_actors(cremad):
    root, df = cremad
    marks = np.load(root / "landmarks.npz")
    stems = [f[:-4] for f in df["file"]]
    w, b = _within_between({s: _geometry_features(marks[s]) for s in stems})
    assert b > 3 * w, (w, b)
    # skin colour: per-clip lighting (gain, cast, gradient) blurs it, so only "more between than within"
    w, b = _within_between({s: _cheek_colour(root / "VideoFlash" / f"{s}.flv", marks[s]) for s in stems})
    assert b > w, (w, b)


def test_traits_are_persistent_and_seeded():
    t1, t2 = sy.actor_traits(1003, 0), sy.actor_traits(1003, 0)
    assert all(np.array_equal(getattr(t1, f.name), getattr(t2, f.name)) for f in dataclasses.fields(t1))
    other = sy.actor_traits(1004, 0)
    assert not np.allclose(t1.skin_colour, other.skin_colour) and t1.face_width != other.face_width
    wild = sy.actor_traits(1003, 0, stream=2)
    assert t1.face_width != wild.face_width


# --------------------------------------------------------------------------- expression


@pytest.fixture(scope="module")
def expressions() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One actor, the same clip nuisance (same clip key), every emotion at HI intensity."""
    return {e: sy.render_clip(1002, e, 1.0, 20, SIZE, seed=0, clip_key=4) for e in (*EMOTIONS, "SUR")}


def _apex(lm: np.ndarray, ref: np.ndarray) -> int:
    return int(np.argmax(np.abs(lm - ref).sum(axis=(1, 2))))


def test_expression_changes_frames_more_than_neutral(expressions):
    hap, hap_lm = expressions["HAP"]
    neu, neu_lm = expressions["NEU"]
    # same nuisance (pose, light, noise, speech): before the onset both clips show the same picture
    assert np.array_equal(hap[0], neu[0])

    def mouth_change(frames: np.ndarray, lm: np.ndarray, apex: int, box: tuple) -> float:
        x0, y0, x1, y1 = box
        return float(np.abs(frames[apex, y0:y1, x0:x1].astype(float) - frames[0, y0:y1, x0:x1]).mean())

    totals = {"HAP": 0.0, "NEU": 0.0}
    for key in (1, 2, 3, 4):  # speech also moves the mouth: compare over a few clips
        clips = {e: sy.render_clip(1002, e, 1.0, 20, SIZE, seed=0, clip_key=key) for e in totals}
        apex = _apex(clips["HAP"][1], clips["NEU"][1])
        pts = np.concatenate([clips["HAP"][1][:, 48:68], clips["NEU"][1][:, 48:68]]).reshape(-1, 2)
        box = (*(np.floor(pts.min(0)).astype(int) - 2), *(np.ceil(pts.max(0)).astype(int) + 3))
        for e in totals:
            totals[e] += mouth_change(clips[e][0], clips[e][1], apex, box)
    assert totals["HAP"] > 1.1 * totals["NEU"], totals
    apex = _apex(hap_lm, neu_lm)
    assert np.abs(hap[apex].astype(float) - neu[apex].astype(float)).max() > 60


def _lift(lm: np.ndarray) -> np.ndarray:
    """How far the mouth corners sit above the lip centre (px, per frame)."""
    return lm[:, [51, 57], 1].mean(1) - lm[:, [48, 54], 1].mean(1)


def test_landmarks_follow_expression(expressions):
    neu = expressions["NEU"][1]
    at_apex = {}
    for e, (_, lm) in expressions.items():
        f = _apex(lm, neu) if e != "NEU" else 0
        at_apex[e] = (lm[f], neu[f])
    brow = lambda p: p[36:48, 1].mean() - p[17:27, 1].mean()  # brow height above the eyes
    eye = lambda p: p[[40, 41, 46, 47], 1].mean() - p[[37, 38, 43, 44], 1].mean()  # eye opening
    mouth = lambda p: p[66, 1] - p[62, 1]  # inner-lip gap
    lift = lambda p: _lift(p[None])[0]
    h, n = at_apex["HAP"]
    assert lift(h) > lift(n) + 0.5
    a, n = at_apex["ANG"]
    assert brow(a) < brow(n) - 0.5
    for e in ("FEA", "SUR"):
        x, n = at_apex[e]
        assert brow(x) > brow(n) + 0.5 and eye(x) > eye(n)
    s, n = at_apex["SUR"]
    assert mouth(s) > mouth(n) + 1.0
    s, n = at_apex["SAD"]
    assert lift(s) < lift(n) - 0.5


def test_corpus_happy_corners_rise_relative_to_neutral(cremad):
    root, df = cremad
    marks = np.load(root / "landmarks.npz")
    for actor in df["actor"].unique():
        stem = {r.emotion: r.file[:-4] for r in df[df["actor"] == actor].itertuples()}
        assert _lift(marks[stem["HAP"]]).mean() > _lift(marks[stem["NEU"]]).mean(), actor


# --------------------------------------------------------------------------- landmarks


def test_landmarks_inside_frame_and_on_the_face(cremad):
    root, df = cremad
    marks = np.load(root / "landmarks.npz")
    for row in df.itertuples():
        lm = marks[row.file[:-4]]
        assert lm.dtype == np.float32 and lm.shape == (row.n_frames, 68, 2)
        assert (lm >= 0).all() and (lm <= SIZE - 1).all()
        frames, _ = _decode(root / "VideoFlash" / row.file)
        for f in (0, row.n_frames // 2, row.n_frames - 1):
            face = np.concatenate([lm[f, 0:17], lm[f, [26, 17]]])
            assert _inside(lm[f, 27:68], face, (SIZE, SIZE)).all()
        # the lips are darker in green than the cheeks (frame with the most closed mouth)
        f = int(np.argmin(lm[:, 66, 1] - lm[:, 62, 1]))
        g = frames[f, :, :, 1].astype(float)
        outer = np.zeros((SIZE, SIZE), dtype=bool)
        r0, c0, m = sy._poly_mask(lm[f, 48:60], (SIZE, SIZE))
        outer[r0 : r0 + m.shape[0], c0 : c0 + m.shape[1]] = m
        r0, c0, m = sy._poly_mask(lm[f, 60:68], (SIZE, SIZE))
        outer[r0 : r0 + m.shape[0], c0 : c0 + m.shape[1]] &= ~m
        cheeks = [(lm[f, 1] + lm[f, 29]) / 2, (lm[f, 15] + lm[f, 29]) / 2]
        cheek_g = np.mean(
            [
                g[int(round(y)) - 1 : int(round(y)) + 2, int(round(x)) - 1 : int(round(x)) + 2].mean()
                for x, y in cheeks
            ]
        )
        assert g[outer].mean() < cheek_g, (row.file, f, g[outer].mean(), cheek_g)


# --------------------------------------------------------------------------- DFEW form


def test_dfew_layout(dfew, cremad):
    root, df = dfew
    clip_root = root / "Clip" / "clip_224x224"
    folders = sorted(p.name for p in clip_root.iterdir())
    assert folders == [f"{i:05d}" for i in range(1, len(df) + 1)] and len(df) == 7 * 3
    for row in df.itertuples():
        names = sorted(p.name for p in (clip_root / f"{row.video_name:05d}").iterdir())
        assert names == [f"{row.video_name:05d}_{k:05d}.jpg" for k in range(1, row.n_frames + 1)]
        im = Image.open(clip_root / f"{row.video_name:05d}" / names[0])
        assert im.format == "JPEG" and im.size == (48, 48) and im.mode == "RGB"
    seen = {}
    for split in ("train", "test"):
        path = root / "EmoLabel_DataSplit" / f"{split}(single-labeled)" / "set_1.csv"
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == ["video_name", "label"]
        for vid, label in rows[1:]:
            assert vid.isdigit() and 1 <= int(label) <= 7
            seen[int(vid)] = (split, int(label))
    assert sorted(seen) == list(range(1, len(df) + 1))
    for row in df.itertuples():
        assert seen[row.video_name] == (row.split, row.label)
        assert sy.DFEW_LABEL_CODES[row.emotion] == row.label
    labels = {lab for _, lab in seen.values()}
    assert labels == set(range(1, 8)) and 5 in labels
    # stratified split: every class in both splits, about 80/20
    assert df.groupby("label")["split"].nunique().eq(2).all()
    assert 0.1 <= (df["split"] == "test").mean() <= 0.4
    # identities disjoint from the CREMA-D-form corpus
    _, cdf = cremad
    assert set(df["actor"]).isdisjoint(set(cdf["actor"]))
    assert set(df["actor"]) == {5001, 5002, 5003}


# --------------------------------------------------------------------------- determinism


def test_deterministic(tmp_path):
    kw = dict(n_actors=2, clips_per_cell=1, n_frames=(4, 6), size=32, fps=25, seed=11)
    a = sy.generate_cremad(tmp_path / "a", **kw)
    b = sy.generate_cremad(tmp_path / "b", **kw)
    pd.testing.assert_frame_equal(a, b)
    la, lb = np.load(tmp_path / "a" / "landmarks.npz"), np.load(tmp_path / "b" / "landmarks.npz")
    for k in la.files:
        assert la[k].tobytes() == lb[k].tobytes()
    for f in a["file"]:
        fa, _ = _decode(tmp_path / "a" / "VideoFlash" / f)
        fb, _ = _decode(tmp_path / "b" / "VideoFlash" / f)
        assert np.array_equal(fa, fb)
        assert (tmp_path / "a" / "VideoFlash" / f).read_bytes() == (
            tmp_path / "b" / "VideoFlash" / f
        ).read_bytes()
    c = sy.generate_cremad(tmp_path / "c", **{**kw, "seed": 12})
    lc = np.load(tmp_path / "c" / "landmarks.npz")
    assert list(c["file"]) != list(a["file"]) or any(not np.array_equal(la[k], lc[k]) for k in la.files)
    dk = dict(n_actors=2, clips_per_class=1, n_frames=(3, 3), size=32, seed=5, first_actor=7001)
    da = sy.generate_dfew(tmp_path / "da", **dk)
    db = sy.generate_dfew(tmp_path / "db", **dk)
    pd.testing.assert_frame_equal(da, db)
    for p in (tmp_path / "da").rglob("*.*"):
        assert p.read_bytes() == (tmp_path / "db" / p.relative_to(tmp_path / "da")).read_bytes()
