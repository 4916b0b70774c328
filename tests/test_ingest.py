"""Ingest: corpus listing (CREMA-D / DFEW layouts), decoding, sampling, fitting, splitting, rejects."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fixtures_video import gradient_frame, make_cremad_corpus, make_dfew_corpus, write_flv

from ppfer_core import EMOTIONS
from ppfer_core.datasets import CREMAD_SENTENCES, Listing, SourceClip, list_cremad, list_dfew
from ppfer_core.ingest import (
    INDEX_COLUMNS,
    INDEX_SCHEMA,
    REJECTED_SCHEMA,
    IngestError,
    IngestSettings,
    assign_split,
    fit_frame,
    fit_points,
    frame_sort_key,
    ingest,
    ingest_clips,
    list_frame_files,
    read_frames,
    sample_indices,
)

T, SIZE = 6, (32, 32)


@pytest.fixture(scope="module")
def cremad(tmp_path_factory):
    root = tmp_path_factory.mktemp("cremad")
    info = make_cremad_corpus(root, n_frames=10, size=(48, 64))
    return root, info


@pytest.fixture(scope="module")
def dfew(tmp_path_factory):
    root = tmp_path_factory.mktemp("dfew")
    info = make_dfew_corpus(root)
    return root, info


def run_ingest(listing, out, **kw):
    lines = []
    args = dict(t=T, size=SIZE, crop="center", on_error="skip", seed=0, test_fraction=0.3, log=lines.append)
    args.update(kw)
    index = ingest(listing, out, **args)
    return index, lines


# --------------------------------------------------------------------------- sampling and frames


def test_sample_indices_spread_endpoints_and_padding():
    idx = sample_indices(100, 8)
    assert idx[0] == 0 and idx[-1] == 99 and len(idx) == 8
    assert np.all(np.diff(idx) >= 14) and np.all(np.diff(idx) <= 15)  # 99 / 7 = 14.1
    assert sample_indices(16, 16).tolist() == list(range(16))
    assert sample_indices(5, 8).tolist() == [0, 1, 2, 3, 4, 4, 4, 4]
    assert sample_indices(1, 3).tolist() == [0, 0, 0]
    assert sample_indices(9, 3).tolist() == [0, 4, 8]
    for n, t in itertools.product(range(1, 40), range(1, 20)):
        idx = sample_indices(n, t)
        assert len(idx) == t and idx[0] == 0 and idx.max() == (n - 1 if t > 1 else 0)
        assert np.all(np.diff(idx) >= (1 if n >= t else 0))
    with pytest.raises(ValueError):
        sample_indices(0, 4)


def test_frame_folder_sorted_numerically(tmp_path):
    from PIL import Image

    for i in (10, 2, 1, 11, 3):
        img = np.full((8, 8, 3), i * 20, np.uint8)
        Image.fromarray(img).save(tmp_path / f"{i}.jpg", quality=100)
    (tmp_path / "notes.txt").write_text("not a frame")
    assert [p.name for p in list_frame_files(tmp_path)] == ["1.jpg", "2.jpg", "3.jpg", "10.jpg", "11.jpg"]
    means = [f.mean() for f in read_frames(str(tmp_path))]
    assert means == sorted(means) and len(means) == 5
    assert frame_sort_key("00017_00002.jpg") < frame_sort_key("00017_00010.jpg")
    assert frame_sort_key("img_9.png") < frame_sort_key("img_10.png")


def test_fit_frame_center_crop_and_plain_resize():
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :8] = (255, 0, 0)  # red bands outside the central 48x48 square
    frame[:, -8:] = (255, 0, 0)
    frame[:, 8:-8] = (0, 200, 0)
    out = fit_frame(frame, (32, 32), "center")
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert out[..., 0].max() == 0 and out[..., 1].min() == 200
    plain = fit_frame(frame, (32, 32), "none")
    assert plain[:, 0, 0].min() > 200  # the bands are kept, squeezed
    assert fit_frame(frame, (24, 32), "center").shape == (24, 32, 3)
    assert fit_frame(frame[..., 0], (16, 16), "none").shape == (16, 16, 3)  # grey -> RGB
    same = fit_frame(frame, (48, 64), "center")
    assert np.array_equal(same, frame)
    centre = np.array([[(64 - 1) / 2, (48 - 1) / 2]])
    for crop in ("center", "none"):
        assert np.allclose(fit_points(centre, (48, 64), (32, 32), crop), [[15.5, 15.5]])


# --------------------------------------------------------------------------- CREMA-D layout


def test_list_cremad_counts_every_entry(cremad):
    root, info = cremad
    listing = list_cremad(root)
    names = sorted(p.name for p in (root / "VideoFlash").iterdir())
    assert listing.n_found == len(names)
    assert len(listing.clips) + len(listing.rejected) == listing.n_found and listing.dropped == {}
    assert [Path(s).name for s, _ in listing.rejected] == ["clip_of_1005_angry.flv"]
    assert listing.rejected[0][1].startswith("unparsable name")
    c = next(c for c in listing.clips if c.clip_id == "1003_IEO_HAP_HI")
    assert (c.actor, c.sentence, c.emotion, c.level, c.split) == ("1003", "IEO", "HAP", "HI", None)


def test_ingest_skip_good_and_broken(cremad, tmp_path):
    root, info = cremad
    listing = list_cremad(root)
    out = tmp_path / "data"
    index, lines = run_ingest(listing, out)

    good = set(info["good"]) | {info["truncated"]}
    assert set(index["clip_id"] + ".flv") == good
    assert list(index.columns) == list(INDEX_COLUMNS)
    # every bad input is in rejected.parquet with its specific reason
    rej = pd.read_parquet(out / "rejected.parquet")
    assert list(rej.columns) == ["source", "reason"]
    got = {Path(s).name: r for s, r in zip(rej["source"], rej["reason"])}
    assert set(got) == set(info["bad"])
    for name, reason in info["bad"].items():
        assert reason in got[name], (name, got[name])
    assert len(index) + len(rej) == listing.n_found - sum(listing.dropped.values())

    # arrays: one per split, memory-mappable, rows as in the index
    saved = pd.read_parquet(out / "index.parquet")
    pd.testing.assert_frame_equal(saved, index)
    assert list(index["split"]) == sorted(index["split"])
    for split, part in index.groupby("split"):
        arr = np.load(out / f"{split}.npy", mmap_mode="r")
        assert isinstance(arr, np.memmap)
        assert arr.shape == (len(part), T, *SIZE, 3) and arr.dtype == np.uint8
        assert part["row"].tolist() == list(range(len(part)))
    assert set(index["split"]) == {"train", "test"}
    assert (index["label"] == [EMOTIONS.index(e) for e in index["emotion"]]).all()
    assert not list(out.glob(".ingest-staging*"))

    # the pixels are the sampled frames, fitted
    row = index[index["clip_id"] == "1002_DFA_SAD_XX"].iloc[0]
    arr = np.load(out / f"{row['split']}.npy", mmap_mode="r")[row["row"]]
    frames = read_frames(row["source"])
    assert row["frames_decoded"] == len(frames) == 10
    expect = np.stack([fit_frame(frames[i], SIZE, "center") for i in sample_indices(10, T)])
    assert np.array_equal(arr, expect)
    assert (
        np.abs(
            arr.astype(int)
            - np.stack(
                [fit_frame(gradient_frame(i, 48, 64, 80), SIZE, "center") for i in sample_indices(10, T)]
            )
        ).mean()
        < 12
    )  # codec loss

    # the truncated file decodes its first frame(s): kept, padded, noted in the log
    trunc = index[index["clip_id"] + ".flv" == info["truncated"]].iloc[0]
    assert 1 <= trunc["frames_decoded"] < 10
    assert any(info["truncated"] in ln and "truncated" in ln for ln in lines)
    log = "\n".join(lines)
    assert f"found {listing.n_found}" in log and "kept 8" in log and "rejected 7" in log


def test_ingest_fail_names_every_bad_input(cremad, tmp_path):
    root, info = cremad
    out = tmp_path / "data"
    with pytest.raises(IngestError) as exc:
        run_ingest(list_cremad(root), out, on_error="fail")
    msg = str(exc.value)
    for name, reason in info["bad"].items():
        assert name in msg and reason in msg
    assert not (out / "index.parquet").exists() and not list(out.glob(".ingest-staging*"))


def test_audio_track_does_not_change_frames(tmp_path):
    plain, with_mp3, with_aac = tmp_path / "a.flv", tmp_path / "b.flv", tmp_path / "c.flv"
    write_flv(plain, n_frames=12, hue=5)
    write_flv(with_mp3, n_frames=12, hue=5, audio="libmp3lame")
    write_flv(with_aac, n_frames=12, hue=5, audio="aac")
    ref = read_frames(str(plain))
    assert len(ref) == 12
    for other in (with_mp3, with_aac):
        frames = read_frames(str(other))
        assert len(frames) == len(ref) and all(np.array_equal(a, b) for a, b in zip(ref, frames))


def test_workers_give_the_same_arrays(cremad, tmp_path):
    root, _ = cremad
    listing = list_cremad(root)
    a, _ = run_ingest(listing, tmp_path / "one")
    b, _ = run_ingest(listing, tmp_path / "two", workers=2)
    pd.testing.assert_frame_equal(a.drop(columns="source"), b.drop(columns="source"))
    for split in ("train", "test"):
        assert np.array_equal(
            np.load(tmp_path / "one" / f"{split}.npy"), np.load(tmp_path / "two" / f"{split}.npy")
        )


# --------------------------------------------------------------------------- DFEW layout


def test_dfew_listing_and_ingest(dfew, tmp_path):
    root, info = dfew
    listing = list_dfew(root, fold=1)
    assert listing.n_found == 8 and listing.dropped == {"surprise": 1}
    assert len(listing.rejected) == 1 and "missing frame folder" in listing.rejected[0][1]
    assert {c.clip_id: (c.emotion, c.split) for c in listing.clips} == info["expected"]
    assert all(c.actor is None for c in listing.clips)

    out = tmp_path / "dfew"
    index, lines = run_ingest(listing, out, test_fraction=None)
    assert {r.clip_id: (r.emotion, r.split) for r in index.itertuples()} == info["expected"]
    assert index["actor"].isna().all() and index["sentence"].isna().all()
    assert dict(zip(index["clip_id"], index["frames_decoded"])) == {
        f"{k:05d}": n for k, n in info["frames"].items() if k != 3
    }
    rej = pd.read_parquet(out / "rejected.parquet")
    assert len(index) + len(rej) == listing.n_found - sum(listing.dropped.values())
    assert any("surprise: 1" in ln for ln in lines)
    train = np.load(out / "train.npy", mmap_mode="r")
    assert train.shape == (3, T, *SIZE, 3)
    # frames come in numeric order: the green channel encodes the frame number (12 * n)
    row = index[index["clip_id"] == "00001"].iloc[0]
    green = train[row["row"], :, 16, 16, 1].astype(int)
    assert np.all(np.abs(green - 12 * (sample_indices(12, T) + 1)) <= 3)
    short = index[index["clip_id"] == "00011"].iloc[0]  # 3 frames < T: last one repeated
    g = np.load(out / "test.npy")[short["row"], :, 16, 16, 1].astype(int)
    assert np.all(np.abs(g - 12 * np.array([1, 2, 3, 3, 3, 3])) <= 3)


def test_dfew_zero_padded_names_and_empty_folder(dfew, tmp_path):
    import shutil

    root = tmp_path / "dfew"
    shutil.copytree(dfew[0], root)
    empty = root / "Clip" / "clip_224x224" / "00002"
    for p in empty.iterdir():
        p.unlink()
    csv = root / "EmoLabel_DataSplit" / "train(single-labeled)" / "set_1.csv"
    csv.write_text("\ufeffvideo_name,label\n00001,1\n2,2\n00004,7\nabc,3\n")
    listing = list_dfew(root)
    reasons = [r for _, r in listing.rejected]
    assert any("empty frame folder" in r for r in reasons)
    assert any("unparsable video_name" in r for r in reasons)
    assert {c.clip_id for c in listing.clips if c.split == "train"} == {"00001", "00004"}


# --------------------------------------------------------------------------- split


def synthetic_cremad_index() -> pd.DataFrame:
    """7,442 names shaped like CREMA-D's: 91 actors x (11 sentences x 6 emotions XX + IEO: NEU XX and
    5 emotions x LO/MD/HI) = 7,462, less 20 (CREMA-D lacks a few recordings)."""
    rows = []
    for actor in range(1001, 1092):
        for sentence in CREMAD_SENTENCES:
            for emo in EMOTIONS:
                levels = ["XX"] if sentence != "IEO" or emo == "NEU" else ["LO", "MD", "HI"]
                for level in levels:
                    rows.append((f"{actor}_{sentence}_{emo}_{level}", str(actor), emo))
    rng = np.random.default_rng(123)
    drop = set(rng.choice(len(rows), 20, replace=False).tolist())
    rows = [r for i, r in enumerate(rows) if i not in drop]
    return pd.DataFrame(rows, columns=["clip_id", "actor", "emotion"])


def test_assign_split_cremad_shape():
    index = synthetic_cremad_index()
    assert len(index) == 7442 and index["actor"].nunique() == 91
    split = assign_split(index, 0.3, seed=0)
    assert (split == "test").sum() == 2232  # floor(0.3 * 7442)
    both = index.assign(split=split).groupby("actor")["split"].nunique()
    assert (both == 2).all()
    cells = index.assign(split=split).groupby(["actor", "emotion"])["split"].nunique()
    assert (cells == 2).all()  # every actor x emotion cell (all have >= 2 clips) in both splits
    assert split.equals(assign_split(index, 0.3, seed=0))
    other = assign_split(index, 0.3, seed=1)
    assert (other == "test").sum() == 2232 and not split.equals(other)
    shuffled = index.sample(frac=1.0, random_state=3)  # row order does not matter
    assert assign_split(shuffled, 0.3, seed=0).reindex(index.index).equals(split)


def test_assign_split_small_cells():
    index = pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(7)],
            "actor": ["1", "1", "1", "2", "2", "3", "4"],
            "emotion": ["ANG"] * 7,
        }
    )
    split = assign_split(index, 0.3, seed=0)
    assert (split == "test").sum() == 2
    for actor in ("1", "2"):
        assert set(split[index["actor"] == actor]) == {"train", "test"}
    # cells too small for floor(fraction x N): the both-splits constraint wins, with a warning
    tiny = index.iloc[:5]  # cells of 3 and 2 clips: floor(0.2 x 5) = 1 < 2 needed
    with pytest.warns(UserWarning, match="using 2"):
        split = assign_split(tiny, 0.2, seed=0)
    assert (split == "test").sum() == 2
    with pytest.raises(ValueError):
        assign_split(index, 0.0, seed=0)


def test_ingest_assigns_split_when_not_preset(tmp_path):
    vf = tmp_path / "VideoFlash"
    for actor, emo, sentence in itertools.product(("1001", "1002"), ("ANG", "SAD"), ("DFA", "IEO", "TIE")):
        write_flv(vf / f"{actor}_{sentence}_{emo}_XX.flv", n_frames=4, size=(32, 32))
    index, lines = run_ingest(list_cremad(tmp_path), tmp_path / "out", test_fraction=0.5)
    assert (index["split"] == "test").sum() == 6  # floor(0.5 * 12)
    assert index.groupby(["actor", "emotion"])["split"].nunique().eq(2).all()
    # 3 clips per cell at 0.3: floor gives 3 test clips, one per cell needs 4 -> 4, logged
    index, lines = run_ingest(list_cremad(tmp_path), tmp_path / "out")
    assert (index["split"] == "test").sum() == 4
    assert index.groupby(["actor", "emotion"])["split"].nunique().eq(2).all()
    assert any("warning" in ln and "using 4" in ln for ln in lines)


# --------------------------------------------------------------------------- landmarks


def test_landmarks_sampled_and_mapped(cremad, tmp_path):
    root, info = cremad
    listing = list_cremad(root)
    listing = Listing(
        clips=[c for c in listing.clips if c.clip_id + ".flv" in info["good"]],
        rejected=[],
        dropped={},
        n_found=len(info["good"]),
    )
    h, w, F = 48, 64, 10
    lms = {}
    for c in listing.clips:
        lm = np.zeros((F, 68, 2), np.float32)
        lm[:, 0] = ((w - 1) / 2, (h - 1) / 2)  # point 0: the frame centre
        lm[:, 1, 0] = (w - 1) / 2 + np.arange(F)  # point 1: x encodes the frame number
        lm[:, 1, 1] = (h - 1) / 2
        lms[c.clip_id] = lm
    del lms[listing.clips[-1].clip_id]  # one clip without landmarks -> NaN
    npz = tmp_path / "landmarks.npz"
    np.savez(npz, **lms)
    out = tmp_path / "data"
    index, lines = run_ingest(listing, out, landmarks=npz)
    scale = SIZE[0] / h  # centre crop 48x48 of 64x48 -> 32x32
    for split, part in index.groupby("split"):
        lm = np.load(out / f"{split}_landmarks.npy", mmap_mode="r")
        assert lm.shape == (len(part), T, 68, 2) and lm.dtype == np.float32
        for r in part.itertuples():
            if r.clip_id not in lms:
                assert np.isnan(lm[r.row]).all()
                continue
            assert np.allclose(lm[r.row, :, 0], [(SIZE[1] - 1) / 2, (SIZE[0] - 1) / 2], atol=1e-4)
            frame_no = (lm[r.row, :, 1, 0] - (SIZE[1] - 1) / 2) / scale
            assert np.allclose(frame_no, sample_indices(F, T), atol=1e-3)
    assert any("without an entry" in ln for ln in lines)


def test_empty_listing_raises(tmp_path):
    listing = Listing(
        clips=[SourceClip(str(tmp_path / "x.flv"), "x", "1001", "ANG", None, None, None)],
        rejected=[],
        dropped={},
        n_found=1,
    )
    with pytest.raises(IngestError, match="no clip could be ingested"):
        run_ingest(listing, tmp_path / "out")
    rej = pd.read_parquet(tmp_path / "out" / "rejected.parquet")
    assert rej["reason"].tolist() == ["file not found"]


# --------------------------------------------------------------------------- structure (issue 11)


def test_assign_split_pinned():
    """The split of a fixed index (uneven cells, rows without an actor) as ingest.py gave it before
    its split into a subpackage: T = test."""
    rows = [
        {"clip_id": f"{a}_{s}_{e}", "actor": a, "emotion": e}
        for a, n in (("1001", 2), ("1002", 3), ("1003", 5))
        for e in ("ANG", "HAP", "SAD")
        for s in range(n)
    ]
    index = pd.DataFrame(rows + [{"clip_id": f"x{i}", "actor": None, "emotion": "NEU"} for i in range(4)])
    expected = {
        (0.3, 0): ".T.TT.T..T...T...T.....T.....T..T.",
        (0.5, 7): ".T.TT.TT.T..T.T.T..TT.T..TTT...T.T",
        (0.2, 3): ".T.TT...T.T...T..T....T..T......T.",
    }
    for (fraction, seed), want in expected.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 0.2: the cells need more than floor(0.2 x 34)
            split = assign_split(index, fraction, seed)
        assert "".join("T" if v == "test" else "." for v in split) == want, (fraction, seed)


def test_settings_entry_point_and_index_schema(cremad, tmp_path):
    import pyarrow.parquet as pq

    listing = list_cremad(cremad[0])
    a, _ = run_ingest(listing, tmp_path / "kw")
    settings = IngestSettings(frames=T, size=SIZE, crop="center", on_error="skip", seed=0, test_fraction=0.3)
    b = ingest_clips(listing, tmp_path / "settings", settings, log=lambda line: None)
    pd.testing.assert_frame_equal(a, b)
    for split in a["split"].unique():
        assert np.array_equal(
            np.load(tmp_path / "kw" / f"{split}.npy"), np.load(tmp_path / "settings" / f"{split}.npy")
        )
    schema = pq.read_schema(tmp_path / "kw" / "index.parquet")
    assert [(f.name, str(f.type)) for f in schema] == [
        (n, str(pa.type_for_alias(t))) for n, t in INDEX_SCHEMA
    ]
    assert tuple(schema.names) == INDEX_COLUMNS
    rejected = pq.read_schema(tmp_path / "kw" / "rejected.parquet")
    assert [(f.name, str(f.type)) for f in rejected] == [
        (n, str(pa.type_for_alias(t))) for n, t in REJECTED_SCHEMA
    ]
    with pytest.raises(ValueError, match="on_error"):
        IngestSettings(frames=T, size=SIZE, crop="center", on_error="ignore", seed=0, test_fraction=0.3)
    with pytest.raises(ValueError, match="positive"):
        IngestSettings(frames=0, size=SIZE, crop="center", on_error="skip", seed=0, test_fraction=0.3)
