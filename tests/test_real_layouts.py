"""The real datasets' forms: CREMA-D's VideoFlash files (480x360, 30 fps, Sorenson H.263 + MP3,
face off-centre, 91 actors, 7,442 names) and DFEW's five folds."""

from __future__ import annotations

import av
import numpy as np
import pandas as pd
import pytest
from fixtures_video import CREMAD_SIZE, cremad_names, cremad_real_clip, encode_flv, make_dfew_folds

from ppfer_core.datasets import DFEW_LABELS, DFEW_TO_CREMAD, list_cremad, list_dfew
from ppfer_core.ingest import assign_split, ingest, read_frames


def test_cremad_form_flv_decodes_with_its_mp3_track(tmp_path):
    frames, _ = cremad_real_clip(1042, "HAP", n_frames=36, face_xy=(300, 130))
    path = tmp_path / "VideoFlash" / "1042_IEO_HAP_HI.flv"
    encode_flv(path, frames)
    silent = tmp_path / "silent.flv"
    encode_flv(silent, frames, audio=None)
    with av.open(str(path)) as c:  # the form of a CREMA-D file
        assert c.format.name == "flv"
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert video.codec_context.name == "flv" and (video.width, video.height) == (480, 360)  # flv1 = H.263
        assert video.average_rate == 30 and audio.codec_context.name.startswith("mp3")
        assert c.streams[0].type == "audio"  # the audio stream comes first: ingest must pick the video one
    got, ref = read_frames(str(path)), read_frames(str(silent))
    assert len(got) == 36 and got[0].shape == (*CREMAD_SIZE, 3)
    assert all(np.array_equal(a, b) for a, b in zip(got, ref))  # the audio changes nothing
    assert np.abs(got[5].astype(int) - frames[5]).mean() < 6  # lossy, but the same picture
    index = ingest(
        list_cremad(tmp_path),
        tmp_path / "out",
        t=16,
        size=(112, 112),
        crop="center",
        on_error="fail",
        seed=0,
        test_fraction=0.5,
        log=lambda m: None,
    )
    assert index["frames_decoded"].tolist() == [36]
    assert np.load(tmp_path / "out" / "train.npy").shape == (1, 16, 112, 112, 3)


def test_cremad_7442_names_parse_and_split_2232_with_every_actor_in_both(tmp_path):
    """A VideoFlash folder of CREMA-D's 7,442 names (empty files: listing reads names only)."""
    vf = tmp_path / "VideoFlash"
    vf.mkdir()
    names = cremad_names()
    for n in names:
        (vf / f"{n}.flv").touch()
    listing = list_cremad(tmp_path)
    assert len(listing.clips) == 7442 and not listing.rejected
    index = pd.DataFrame([dict(clip_id=c.clip_id, actor=c.actor, emotion=c.emotion) for c in listing.clips])
    assert (
        index["actor"].nunique() == 91 and index["actor"].min() == "1001" and index["actor"].max() == "1091"
    )
    split = assign_split(index, 0.3, seed=0)
    assert (split == "test").sum() == 2232
    assert index.assign(split=split).groupby("actor")["split"].nunique().eq(2).all()


@pytest.fixture(scope="module")
def dfew5(tmp_path_factory):
    root = tmp_path_factory.mktemp("dfew5")
    return root, make_dfew_folds(root)


@pytest.mark.parametrize("fold", [1, 2, 3, 4, 5])
def test_dfew_fold_selects_its_split(dfew5, fold):
    root, info = dfew5
    listing = list_dfew(root, fold=fold)
    kept = {vid for vid, lab in info["labels"].items() if DFEW_LABELS[lab] in DFEW_TO_CREMAD}
    got = {int(c.clip_id): c.split for c in listing.clips}
    assert set(got) == kept
    assert {v for v, s in got.items() if s == "test"} == info["test"][fold] & kept
    assert listing.dropped == {"surprise": sum(1 for lab in info["labels"].values() if lab == 5)}
    assert f"fold {fold}" in listing.notes[0]


def test_dfew_folds_partition_the_clips_and_ingest_keeps_the_fold(dfew5, tmp_path):
    root, info = dfew5
    tests = [{c.clip_id for c in list_dfew(root, fold=k).clips if c.split == "test"} for k in range(1, 6)]
    assert all(not (a & b) for i, a in enumerate(tests) for b in tests[i + 1 :])  # disjoint test folds
    index = ingest(
        list_dfew(root, fold=3),
        tmp_path / "out",
        t=4,
        size=(16, 16),
        crop="center",
        on_error="fail",
        seed=0,
        test_fraction=None,
        log=lambda m: None,
    )
    assert set(index.loc[index["split"] == "test", "clip_id"]) == tests[2]
    with pytest.raises(FileNotFoundError, match="set_6.csv"):
        list_dfew(root, fold=6)
