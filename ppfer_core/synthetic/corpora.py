"""The two corpus layouts written by the synthetic generator: CREMA-D form (FLV videos and a
landmarks file) and DFEW form (JPEG frame folders and split CSVs)."""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
from PIL import Image

from ppfer_core import EMOTIONS
from ppfer_core.datasets import (
    CREMAD_LEVELS,
    CREMAD_SENTENCES,
    DFEW_LABELS,
    DFEW_TO_CREMAD,
)
from ppfer_core.synthetic.dynamics import _clip_params
from ppfer_core.synthetic.render import _check_size, _render_clip
from ppfer_core.synthetic.shapes import _rng
from ppfer_core.synthetic.traits import STREAM_CREMAD, STREAM_DFEW, actor_traits

SENTENCES: tuple[str, ...] = CREMAD_SENTENCES
"""CREMA-D's 12 sentence codes."""
LEVELS: tuple[str, ...] = CREMAD_LEVELS
"""CREMA-D's emotion-level codes (XX = unspecified)."""

DFEW_LABEL_CODES: dict[str, int] = {
    {**DFEW_TO_CREMAD, "surprise": "SUR"}[name]: label for label, name in DFEW_LABELS.items()
}
"""DFEW's 7-class label of each generated emotion code (SUR = surprise, absent from CREMA-D)."""

LEVEL_INTENSITY: dict[str, float] = {"LO": 0.45, "MD": 0.7, "HI": 1.0}
"""Expression intensity per CREMA-D level; XX draws uniformly from 0.6-0.9."""


def _check_frames(n_frames: tuple[int, int]) -> tuple[int, int]:
    """Validate a (min, max) frame-count range."""
    lo, hi = (int(v) for v in n_frames)
    if lo < 2 or hi < lo:
        raise ValueError(f"n_frames must be (min, max) with 2 <= min <= max, got {n_frames!r}")
    return lo, hi


# ----------------------------------------------------------------------------- CREMA-D form


def write_flv(path: Path, frames: np.ndarray, fps: int) -> None:
    """Encode uint8 RGB frames [F,H,W,3] into an FLV file with Sorenson H.263 (encoder ``flv``)."""
    n, h, w, _ = frames.shape
    with av.open(str(path), mode="w", format="flv") as container:
        stream = container.add_stream("flv", rate=Fraction(int(fps), 1))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = int(max(400_000, 4 * w * h * fps))
        stream.codec_context.time_base = Fraction(1, int(fps))
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[i]), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, int(fps))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _cremad_combos(emotion: str) -> list[tuple[str, str]]:
    """The (sentence, level) pairs CREMA-D records for an emotion."""
    if emotion == "NEU":
        return [(s, "XX") for s in SENTENCES]
    return [("IEO", lv) for lv in ("LO", "MD", "HI")] + [(s, "XX") for s in SENTENCES if s != "IEO"]


def _check_cremad_args(n_actors: int, clips_per_cell: int, first_actor: int, fps: int) -> None:
    """Raise ValueError on arguments the CREMA-D naming or the encoder cannot take."""
    if n_actors < 1:
        raise ValueError(f"n_actors must be >= 1, got {n_actors}")
    if not 1 <= clips_per_cell <= len(SENTENCES):
        raise ValueError(
            f"clips_per_cell must be in [1, {len(SENTENCES)}] (NEU has 12 sentence/level combinations), got {clips_per_cell}"
        )
    if not (1000 <= first_actor and first_actor + n_actors - 1 <= 9999):
        raise ValueError("actor ids must have 4 digits (CREMA-D naming)")
    if fps < 1:
        raise ValueError(f"fps must be >= 1, got {fps}")


def generate_cremad(
    out_dir: Path,
    n_actors: int,
    clips_per_cell: int,
    n_frames: tuple[int, int],
    size: int,
    fps: int,
    seed: int,
    first_actor: int = 1001,
) -> pd.DataFrame:
    """Write {out_dir}/VideoFlash/{actor}_{sentence}_{EMO}_{level}.flv and {out_dir}/landmarks.npz; return one row per file (file, actor, sentence, emotion, level, n_frames)."""
    _check_size(size)
    lo, hi = _check_frames(n_frames)
    _check_cremad_args(n_actors, clips_per_cell, first_actor, fps)
    out_dir = Path(out_dir)
    vdir = out_dir / "VideoFlash"
    vdir.mkdir(parents=True, exist_ok=True)
    rows, marks = [], {}
    for actor in range(first_actor, first_actor + n_actors):
        tr = actor_traits(actor, seed, STREAM_CREMAD)
        for ei, emo in enumerate(EMOTIONS):
            combos = _cremad_combos(emo)
            pick = _rng(seed, STREAM_CREMAD, actor, 3, ei).permutation(len(combos))[:clips_per_cell]
            for ci in sorted(pick):
                sent, lev = combos[ci]
                r = _rng(seed, STREAM_CREMAD, actor, 5, ei, ci)
                nf = int(r.integers(lo, hi + 1))
                inten = LEVEL_INTENSITY[lev] if lev in LEVEL_INTENSITY else float(r.uniform(0.6, 0.9))
                cp = _clip_params(r, tr, emo, inten, nf, fps, size, wild=False)
                frames, lm = _render_clip(tr, cp, size)
                stem = f"{actor}_{sent}_{emo}_{lev}"
                write_flv(vdir / f"{stem}.flv", frames, fps)
                marks[stem] = lm
                rows.append(
                    dict(file=f"{stem}.flv", actor=actor, sentence=sent, emotion=emo, level=lev, n_frames=nf)
                )
    np.savez_compressed(out_dir / "landmarks.npz", **marks)
    return pd.DataFrame(rows, columns=["file", "actor", "sentence", "emotion", "level", "n_frames"])


# ----------------------------------------------------------------------------- DFEW form


def _dfew_plan(
    seed: int, emos: list[str], clips_per_class: int, n_actors: int, first_actor: int
) -> tuple[list[tuple[str, int]], np.ndarray, np.ndarray, np.ndarray]:
    """Class-balanced clips (emotion, index), their actors (round-robin over a shuffled order),
    the order of their video ids and a stratified ~80/20 train/test split."""
    r = _rng(seed, STREAM_DFEW, 1)
    jobs = [(emo, j) for emo in emos for j in range(clips_per_class)]
    actors = first_actor + (np.arange(len(jobs)) % n_actors)
    actors = actors[r.permutation(len(jobs))]
    order = r.permutation(len(jobs))
    split = np.empty(len(jobs), dtype=object)
    for emo in emos:
        idx = np.array([i for i, (e, _) in enumerate(jobs) if e == emo])
        n_test = int(round(0.2 * len(idx))) if len(idx) >= 5 else (1 if len(idx) >= 2 else 0)
        test = set(r.permutation(idx)[:n_test].tolist())
        for i in idx:
            split[i] = "test" if i in test else "train"
    return jobs, actors, order, split


def _write_dfew_clip(
    clip_root: Path, vid: int, emo: str, actor: int, frames_range: tuple[int, int], size: int, seed: int
) -> int:
    """Render clip ``vid`` and write its frame folder; return its number of frames."""
    lo, hi = frames_range
    tr = actor_traits(actor, seed, STREAM_DFEW)
    rc = _rng(seed, STREAM_DFEW, 9, vid)
    nf = int(rc.integers(lo, hi + 1))
    cp = _clip_params(rc, tr, emo, float(rc.uniform(0.55, 1.0)), nf, 25.0, size, wild=True)
    frames, _ = _render_clip(tr, cp, size)
    d = clip_root / f"{vid:05d}"
    d.mkdir(exist_ok=True)
    for k, fr in enumerate(frames, start=1):
        Image.fromarray(fr).save(d / f"{vid:05d}_{k:05d}.jpg", quality=cp.jpeg_q)
    return nf


def _write_dfew_splits(out_dir: Path, df: pd.DataFrame) -> None:
    """Write EmoLabel_DataSplit/{train,test}(single-labeled)/set_1.csv (video_name,label)."""
    for sp in ("train", "test"):
        d = out_dir / "EmoLabel_DataSplit" / f"{sp}(single-labeled)"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "set_1.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["video_name", "label"])
            for _, row in df[df["split"] == sp].sort_values("video_name").iterrows():
                w.writerow([int(row["video_name"]), int(row["label"])])


def generate_dfew(
    out_dir: Path,
    n_actors: int,
    clips_per_class: int,
    n_frames: tuple[int, int],
    size: int,
    seed: int,
    first_actor: int,
) -> pd.DataFrame:
    """Write a DFEW-layout corpus: {out_dir}/Clip/clip_224x224/{id:05d}/*.jpg frame folders and {out_dir}/EmoLabel_DataSplit/{train,test}(single-labeled)/set_1.csv (video_name,label); return one row per clip."""
    _check_size(size)
    frames_range = _check_frames(n_frames)
    if n_actors < 1 or clips_per_class < 1:
        raise ValueError("n_actors and clips_per_class must be >= 1")
    out_dir = Path(out_dir)
    clip_root = out_dir / "Clip" / "clip_224x224"
    clip_root.mkdir(parents=True, exist_ok=True)
    emos = [
        e for e, _ in sorted(DFEW_LABEL_CODES.items(), key=lambda kv: kv[1])
    ]  # HAP SAD NEU ANG SUR DIS FEA
    jobs, actors, order, split = _dfew_plan(seed, emos, clips_per_class, n_actors, first_actor)
    rows = []
    for vid, ji in enumerate(order, start=1):
        emo, _ = jobs[ji]
        actor = int(actors[ji])
        nf = _write_dfew_clip(clip_root, vid, emo, actor, frames_range, size, seed)
        rows.append(
            dict(
                video_name=vid,
                label=DFEW_LABEL_CODES[emo],
                emotion=emo,
                actor=actor,
                split=split[ji],
                n_frames=nf,
                clip_dir=f"Clip/clip_224x224/{vid:05d}",
            )
        )
    df = pd.DataFrame(rows)
    _write_dfew_splits(out_dir, df)
    return df
