"""An ingest run: decode every listed clip into a staging array, build the index, resolve the
splits, write the per-split arrays and tables, and check what was written (:func:`ingest_clips`)."""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ppfer_core import EMOTIONS
from ppfer_core.datasets import Listing, SourceClip
from ppfer_core.faces import FaceSettings
from ppfer_core.ingest.clips import Box, ClipJob, ClipResult, Rejected, decode_clips
from ppfer_core.ingest.settings import IngestError, IngestSettings
from ppfer_core.ingest.splits import assign_split
from ppfer_core.ingest.store import (
    BOX_COLUMNS,
    CHUNK_BYTES,
    INDEX_COLUMNS,
    copy_rows,
    open_npy,
    release,
    unlink,
    write_index,
    write_rejected,
)

Log = Callable[[str], None]


@dataclass
class _Context:
    """What every stage of one run sees."""

    listing: Listing
    out_dir: Path
    settings: IngestSettings
    log: Log
    t0: float
    n_dropped: int


class _Landmarks:
    """A corpus' landmarks npz: key = file stem of the source, value float32 ``[F, K, 2]`` in source pixels."""

    def __init__(self, path: Path):
        self.path = path
        self.file = np.load(path)
        self.keys = set(self.file.files)
        self.n_points = int(self.file[self.file.files[0]].shape[1]) if self.file.files else None

    def of(self, clip: SourceClip) -> np.ndarray | None:
        """The clip's landmarks (None without an entry); ValueError for a wrong shape."""
        stem = Path(clip.source).stem
        if stem not in self.keys:
            return None
        lm = np.asarray(self.file[stem], dtype=np.float32)
        if lm.ndim != 3 or lm.shape[1:] != (self.n_points, 2):
            raise ValueError(f"landmarks of {stem}: expected [F, {self.n_points}, 2], got {lm.shape}")
        return lm


@dataclass
class _Staging:
    """The staging memmaps in ``out_dir``: clip (and landmarks) ``i`` of the listing at row ``i``."""

    path: Path
    lm_path: Path
    clips: np.ndarray | None = None
    landmarks: np.ndarray | None = None

    def open(self, n_clips: int, s: IngestSettings, lms: _Landmarks | None) -> None:
        H, W = s.size
        self.clips = open_npy(self.path, np.uint8, (n_clips, s.frames, H, W, 3)) if n_clips else None
        if lms is not None and n_clips and lms.n_points is not None:
            self.landmarks = open_npy(self.lm_path, np.float32, (n_clips, s.frames, lms.n_points, 2))
            self.landmarks[:] = np.nan

    def close(self) -> None:
        """Close the memmaps, then delete their files."""
        self.clips = self.landmarks = None
        unlink(self.path)
        unlink(self.lm_path)


@dataclass(frozen=True)
class _Kept:
    stage: int  # row in the staging arrays (= position in the listing)
    frames_decoded: int
    box: Box


@dataclass
class _Decoding:
    """What decoding gave: the kept clips, every rejected input so far (source, reason), and how
    many kept clips had no landmarks entry."""

    rejected: list[tuple[str, str]]
    kept: list[_Kept] = field(default_factory=list)
    no_landmarks: int = 0


# --------------------------------------------------------------------------- set-up


def _setup_face(s: IngestSettings, log: Log) -> None:
    """Load the face detector once (a missing package or a bad model file stops here, not once per clip)."""
    if s.crop != "face":
        return
    from ppfer_core.faces import get_detector

    H, W = s.size
    face = s.face
    detector = get_detector(face)
    log(
        f"crop: face ({detector.name} on {face.n_detect} frames per clip, score >= {face.score_threshold}, "
        f"margin {face.margin}, median box, aspect {W}:{H})"
    )


def _log_listing(listing: Listing, log: Log) -> int:
    """Log the listing's notes and counts; return the number of clips dropped by label."""
    for note in listing.notes:
        log(note)
    n_dropped = sum(listing.dropped.values())
    by_label = ", ".join(f"{k}: {v}" for k, v in sorted(listing.dropped.items()))
    log(
        f"found {listing.n_found} inputs: {len(listing.clips)} clips to decode, {len(listing.rejected)} rejected at "
        f"listing, {n_dropped} dropped by label"
        + (f" ({by_label}; not in the 6 classes)" if n_dropped else "")
    )
    return n_dropped


# --------------------------------------------------------------------------- decode all


def _stage_clip(i: int, r: ClipResult, staging: _Staging, dec: _Decoding) -> None:
    """Put a decoded clip at its staging row, releasing the written pages every ~32 MB."""
    staging.clips[i] = r.clip
    if (len(dec.kept) + 1) % max(1, CHUNK_BYTES // max(1, r.clip.nbytes)) == 0:
        release(staging.clips)
    if staging.landmarks is not None:
        if r.landmarks is None:
            dec.no_landmarks += 1
        else:
            staging.landmarks[i] = r.landmarks
    dec.kept.append(_Kept(i, r.frames_decoded, r.box))


def _decode_all(
    ctx: _Context, clips: list[SourceClip], lms: _Landmarks | None, staging: _Staging
) -> _Decoding:
    """Decode every clip into the staging arrays, logging rejects, notes and progress."""
    dec = _Decoding(rejected=list(ctx.listing.rejected))
    with_lm = staging.landmarks is not None
    jobs = (ClipJob(c, lms.of(c) if with_lm else None, ctx.settings) for c in clips)
    results = decode_clips(jobs, ctx.settings.workers)
    for i, result in enumerate(
        tqdm(results, total=len(clips), desc="decode", file=sys.stderr, mininterval=5)
    ):
        clip = clips[i]
        if isinstance(result, Rejected):
            dec.rejected.append((clip.source, result.reason))
            ctx.log(f"rejected {clip.source}: {result.reason}")
        else:
            _stage_clip(i, result, staging, dec)
            for note in result.notes:
                ctx.log(f"kept {clip.source} ({result.frames_decoded} frames): {note}")
    ctx.log(f"decoded {len(clips)} clips ({time.monotonic() - ctx.t0:.1f} s)")
    return dec


def _check_rejects(ctx: _Context, rejected: list[tuple[str, str]]) -> None:
    """With ``on_error="fail"``, raise :class:`IngestError` naming every bad input."""
    if ctx.settings.on_error == "fail" and rejected:
        lines = "\n".join(f"  {src}: {why}" for src, why in rejected)
        raise IngestError(
            f"{len(rejected)} of {ctx.listing.n_found - ctx.n_dropped} inputs cannot be ingested "
            f"(on_error='fail'):\n{lines}"
        )


# --------------------------------------------------------------------------- index and splits


def build_index(clips: list[SourceClip], kept: list[_Kept]) -> pd.DataFrame:
    """One row per kept clip in listing order: the :data:`INDEX_SCHEMA` columns (``split`` as
    preset, ``row`` not yet set) and ``_stage``, the clip's staging row."""
    rows = []
    for k in kept:
        c = clips[k.stage]
        rows.append(
            dict(
                clip_id=c.clip_id,
                actor=c.actor,
                emotion=c.emotion,
                label=EMOTIONS.index(c.emotion),
                sentence=c.sentence,
                level=c.level,
                split=c.split,
                source=c.source,
                frames_decoded=k.frames_decoded,
                **dict(zip(BOX_COLUMNS, k.box)),
                _stage=k.stage,
            )
        )
    return pd.DataFrame(rows, columns=[*INDEX_COLUMNS, "_stage"])


def resolve_splits(df: pd.DataFrame, s: IngestSettings, log: Log) -> None:
    """Set ``split`` (presets kept, else :func:`assign_split`) and ``row`` (position within its split)."""
    preset = df["split"].notna()
    if preset.all():
        unused = f"; test_fraction={s.test_fraction} not used" if s.test_fraction is not None else ""
        log("splits: preset by the corpus (kept)" + unused)
    elif not preset.any():
        if s.test_fraction is None:
            raise ValueError("the clips have no preset split: test_fraction is needed")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df["split"] = assign_split(df, s.test_fraction, s.seed)
        for w in caught:
            log(f"warning: {w.message}")
        log(
            f"splits: assigned, test_fraction={s.test_fraction}, seed={s.seed}, stratified by actor x emotion"
        )
    else:
        raise ValueError(
            f"{int((~preset).sum())} of {len(df)} clips have no preset split while the others do"
        )
    df["row"] = df.groupby("split").cumcount()


def write_splits(df: pd.DataFrame, staging: _Staging, out_dir: Path, log: Log) -> None:
    """Copy each split's clips (and landmarks) from staging to ``{split}.npy``; delete stale ones."""
    splits = sorted(df["split"].unique())
    for split in splits:
        part = df[df["split"] == split]
        copy_rows(staging.clips, part["_stage"].to_numpy(), out_dir / f"{split}.npy")
        if staging.landmarks is not None:
            copy_rows(staging.landmarks, part["_stage"].to_numpy(), out_dir / f"{split}_landmarks.npy")
        counts = Counter(part["emotion"])
        actors = part["actor"].dropna().nunique()
        log(
            f"split {split}: {len(part)} clips"
            + (f", {actors} actors" if actors else "")
            + " | "
            + " ".join(f"{e}={counts.get(e, 0)}" for e in EMOTIONS)
        )
    for split in ("train", "test"):  # stale outputs of an earlier run
        if split not in splits:
            unlink(out_dir / f"{split}.npy")
        if split not in splits or staging.landmarks is None:
            unlink(out_dir / f"{split}_landmarks.npy")


# --------------------------------------------------------------------------- the run


def _decode_and_split(ctx: _Context, lms: _Landmarks | None, staging: _Staging):
    """Decode, index, split and write the split arrays; return (index in listing order, rejected)."""
    clips = list(ctx.listing.clips)
    staging.open(len(clips), ctx.settings, lms)
    dec = _decode_all(ctx, clips, lms, staging)
    _check_rejects(ctx, dec.rejected)
    df = build_index(clips, dec.kept)
    if df.empty:
        write_rejected(dec.rejected, ctx.out_dir / "rejected.parquet")
        raise IngestError(
            f"no clip could be ingested: {len(dec.rejected)} rejected, {ctx.n_dropped} dropped "
            f"(see {ctx.out_dir / 'rejected.parquet'})"
        )
    resolve_splits(df, ctx.settings, ctx.log)
    write_splits(df, staging, ctx.out_dir, ctx.log)
    if staging.landmarks is not None:
        ctx.log(
            f"landmarks: {len(df) - dec.no_landmarks} clips from {lms.path}"
            + (f", {dec.no_landmarks} clips without an entry (NaN)" if dec.no_landmarks else "")
        )
    return df, dec.rejected


def _write_and_check(ctx: _Context, df: pd.DataFrame, rejected: list[tuple[str, str]]) -> pd.DataFrame:
    """Write index.parquet and rejected.parquet, read the index back (what downstream rules read) and
    check it: the schema's columns, and every input kept or rejected."""
    index = df.sort_values(["split", "row"]).reset_index(drop=True)[list(INDEX_COLUMNS)]
    write_index(index, ctx.out_dir / "index.parquet")
    write_rejected(rejected, ctx.out_dir / "rejected.parquet")
    index = pd.read_parquet(ctx.out_dir / "index.parquet")
    if tuple(index.columns) != INDEX_COLUMNS:
        raise AssertionError(
            f"index.parquet columns {list(index.columns)} != INDEX_SCHEMA {list(INDEX_COLUMNS)}"
        )
    expected = ctx.listing.n_found - ctx.n_dropped
    if len(index) + len(rejected) != expected:  # every input is accounted for
        raise AssertionError(f"{len(index)} kept + {len(rejected)} rejected != {expected} inputs")
    return index


def ingest_clips(
    listing: Listing, out_dir: Path, settings: IngestSettings, landmarks: Path | None = None, log: Log = print
) -> pd.DataFrame:
    """Decode the clips of ``listing`` into ``out_dir`` with ``settings`` (see :mod:`ppfer_core.ingest`);
    return the index as written.

    ``crop="face"`` crops one box per clip found by :mod:`ppfer_core.faces` (a clip without a face
    is a bad input, "no face found ..."). ``on_error="skip"`` records bad inputs in rejected.parquet
    and goes on; ``"fail"`` checks every input, then raises :class:`IngestError` naming all bad ones
    (nothing is written). Preset splits (DFEW) are kept; otherwise :func:`assign_split`.
    ``landmarks``: npz, key = file stem of the source, value float32 ``[F, K, 2]`` in source pixels.
    """
    s = settings
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    _setup_face(s, log)
    ctx = _Context(listing, out_dir, s, log, t0, _log_listing(listing, log))
    lms = _Landmarks(landmarks) if landmarks is not None else None
    staging = _Staging(
        out_dir / f".ingest-staging-{os.getpid()}.npy",
        out_dir / f".ingest-staging-{os.getpid()}-landmarks.npy",
    )
    try:
        df, rejected = _decode_and_split(ctx, lms, staging)
    finally:
        staging.close()
        if lms is not None:
            lms.file.close()
    index = _write_and_check(ctx, df, rejected)
    H, W = s.size
    log(
        f"ingest done in {time.monotonic() - t0:.1f} s: found {listing.n_found}, kept {len(index)}, "
        f"rejected {len(rejected)}, dropped {ctx.n_dropped}; "
        + ", ".join(
            f"{split}={int((index['split'] == split).sum())}" for split in sorted(index["split"].unique())
        )
        + f"; clips [{s.frames}, {H}, {W}, 3] uint8 in {out_dir}"
    )
    return index


def ingest(
    listing: Listing,
    out_dir: Path,
    t: int,
    size: tuple[int, int],
    crop: str,
    on_error: str,
    seed: int,
    test_fraction: float | None,
    landmarks: Path | None = None,
    log: Log = print,
    workers: int = 1,
    face: FaceSettings | None = None,
) -> pd.DataFrame:
    """Keyword form of :func:`ingest_clips`: ``t`` = :attr:`IngestSettings.frames`, the other
    arguments as in :class:`IngestSettings` (checked first, ValueError)."""
    settings = IngestSettings(
        frames=t,
        size=size,
        crop=crop,
        on_error=on_error,
        seed=seed,
        test_fraction=test_fraction,
        face=face,
        workers=workers,
    )
    return ingest_clips(listing, out_dir, settings, landmarks=landmarks, log=log)
