"""Ingest: decode every listed clip, sample T frames, crop + resize, split, and write the arrays.

One code path for the embedded synthetic corpora and for real CREMA-D / DFEW: a corpus
adapter (:mod:`ppfer_core.datasets`) lists the clips, :func:`ingest` decodes them.

Outputs in ``out_dir`` (see docs/ARCHITECTURE.md):

- ``{split}.npy``            uint8 ``[N, T, H, W, 3]`` per split present (``train``, ``test``),
- ``index.parquet``          clip_id, actor, emotion, label, sentence, level, split, row, source,
                             frames_decoded, box_x0, box_y0, box_x1, box_y1 (the region of the
                             source frames that became the clip, pixel edges) (sorted by split, then row),
- ``rejected.parquet``       source, reason (always written, possibly empty),
- ``{split}_landmarks.npy``  float32 ``[N, T, K, 2]`` when a landmarks npz is given.

Memory stays flat in the corpus size: clips are decoded one by one into a staging memmap
(``[n_clips, T, H, W, 3]`` on disk in ``out_dir``), whose rows are then copied in chunks
into the per-split files; the staging file is deleted at the end (so the disk briefly holds
the clips twice).

Geometry convention for points (landmarks): x, y in pixels with integer coordinates at pixel
centres (pixel (0, 0) covers [-0.5, 0.5]²), the same convention PIL's resize uses, so the
centre of a W-wide frame is x = (W - 1) / 2.
"""

from __future__ import annotations

import math
import mmap
import os
import re
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ppfer_core import EMOTIONS
from ppfer_core.datasets import FRAME_EXTENSIONS, Listing, SourceClip
from ppfer_core.faces import FaceSettings

INDEX_COLUMNS = (
    "clip_id",
    "actor",
    "emotion",
    "label",
    "sentence",
    "level",
    "split",
    "row",
    "source",
    "frames_decoded",
    "box_x0",
    "box_y0",
    "box_x1",
    "box_y1",
)
REJECTED_COLUMNS = ("source", "reason")
CROPS = ("center", "none", "face")
ON_ERROR = ("skip", "fail")
_CHUNK_BYTES = 32 << 20  # bytes of clips written between two releases of the memory-mapped pages


class IngestError(Exception):
    """Bad inputs with ``on_error="fail"`` (the message names every one), or nothing left to ingest."""


class BadInput(Exception):
    """One input cannot be ingested; ``str(exc)`` is the reason written to rejected.parquet."""


# --------------------------------------------------------------------------- sampling


def sample_indices(n_frames: int, t: int) -> np.ndarray:
    """``t`` frame indices spread evenly over ``[0, n_frames - 1]`` (both ends included).

    A short clip (``n_frames < t``) gives ``0 .. n_frames - 1`` and then repeats the last
    frame (the authors' padding). ``t == 1`` gives ``[0]``.
    """
    if n_frames < 1:
        raise ValueError(f"cannot sample from a clip of {n_frames} frames")
    if t < 1:
        raise ValueError(f"t must be >= 1, got {t}")
    if n_frames < t:
        return np.concatenate([np.arange(n_frames), np.full(t - n_frames, n_frames - 1)]).astype(np.int64)
    # round half up (np.round rounds half to even, which would not be evenly spread)
    return np.floor(np.linspace(0, n_frames - 1, t) + 0.5).astype(np.int64)


# --------------------------------------------------------------------------- decoding


def frame_sort_key(name: str) -> tuple:
    """Numeric sort key of a frame file name: its digit groups as integers (``2.jpg`` < ``10.jpg``,
    ``00017_00002.jpg`` < ``00017_00010.jpg``), then the name."""
    return tuple(int(g) for g in re.findall(r"[0-9]+", Path(name).stem)), name


def list_frame_files(folder: str | Path) -> list[Path]:
    """Image files of a frame folder (.jpg/.jpeg/.png), sorted numerically by :func:`frame_sort_key`."""
    files = [p for p in Path(folder).iterdir() if p.suffix.lower() in FRAME_EXTENSIONS and p.is_file()]
    return sorted(files, key=lambda p: frame_sort_key(p.name))


@dataclass
class _Decoded:
    n: int  # frames available (decoded frames of a video, readable images of a folder)
    frames: dict[int, np.ndarray]  # index -> RGB uint8 frame, for the requested indices
    notes: list[str] = field(default_factory=list)


def _ffmpeg_error_text(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {text}"


def _decode_video(path: Path, t: int | None) -> _Decoded:
    import av  # imported lazily: listing and splitting do not need it

    try:
        n_bytes = path.stat().st_size
    except FileNotFoundError:
        raise BadInput("file not found") from None
    if n_bytes == 0:
        raise BadInput("empty file (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(64)
    if head.startswith(b"version https://git-lfs"):
        raise BadInput("git-lfs pointer file, not the video (fetch the data with `git lfs pull`)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise BadInput(f"cannot open as a video: not a readable container ({_ffmpeg_error_text(exc)})") from None
    with container:
        if not container.streams.video:
            kinds = ", ".join(f"{s.type}/{s.codec_context.name}" for s in container.streams) or "none"
            raise BadInput(f"no video stream (streams: {kinds})")
        stream = container.streams.video[0]
        declared = None
        if container.duration and stream.average_rate:
            declared = int(round(container.duration / 1e6 * float(stream.average_rate)))
        frames = []  # av.VideoFrame (YUV, smaller than RGB); converted only where sampled
        errors: list[Exception] = []
        stopped: Exception | None = None
        packets = container.demux(stream)  # video packets only: an audio track is skipped
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except (av.error.FFmpegError, OSError, ValueError) as exc:  # truncated / corrupt container
                stopped = exc
                break
            try:
                frames.extend(packet.decode())
            except (av.error.FFmpegError, ValueError) as exc:  # a corrupt packet: skip it, go on
                errors.append(exc)
        n = len(frames)
        if n == 0:
            why = []
            if errors:
                why.append(f"{len(errors)} packets failed, first: {_ffmpeg_error_text(errors[0])}")
            if stopped is not None:
                why.append(f"stream ends early: {_ffmpeg_error_text(stopped)}")
            if declared:
                why.append(f"container declares ~{declared} frames")
            raise BadInput("decodes to no frames" + (f" ({'; '.join(why)})" if why else " (no video packets)"))
        notes = []
        if stopped is not None:
            notes.append(f"stream ends early after {n} frames ({_ffmpeg_error_text(stopped)})")
        if errors:
            notes.append(f"{len(errors)} packets failed to decode (first: {_ffmpeg_error_text(errors[0])})")
        if declared and n < 0.9 * declared - 1:
            notes.append(f"decoded {n} of ~{declared} frames the container declares (truncated?)")
        wanted = range(n) if t is None else sorted(set(sample_indices(n, t).tolist()))
        out = {i: frames[i].to_ndarray(format="rgb24") for i in wanted}
        return _Decoded(n=n, frames=out, notes=notes)


def _load_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _decode_folder(folder: Path, t: int | None) -> _Decoded:
    files = list_frame_files(folder)
    if not files:
        raise BadInput(f"empty frame folder: no {'/'.join(FRAME_EXTENSIONS)} frames")
    wanted = range(len(files)) if t is None else sorted(set(sample_indices(len(files), t).tolist()))
    try:  # fast path: read only the sampled frames
        return _Decoded(n=len(files), frames={i: _load_image(files[i]) for i in wanted})
    except (OSError, ValueError, SyntaxError):
        pass
    good, bad = [], []  # some image is unreadable: keep the readable ones and sample among them
    for f in files:
        try:
            good.append(_load_image(f))
        except (OSError, ValueError, SyntaxError) as exc:
            bad.append((f.name, exc))
    if not good:
        raise BadInput(f"no readable frame in folder ({len(bad)} images, first: {bad[0][0]}: {bad[0][1]})")
    wanted = range(len(good)) if t is None else sorted(set(sample_indices(len(good), t).tolist()))
    note = f"{len(bad)} of {len(files)} frame images unreadable and skipped (first: {bad[0][0]})"
    return _Decoded(n=len(good), frames={i: good[i] for i in wanted}, notes=[note])


def _decode(source: str | Path, t: int | None) -> _Decoded:
    path = Path(source)
    if path.is_dir():
        return _decode_folder(path, t)
    return _decode_video(path, t)


def read_frames(source: str) -> list[np.ndarray]:
    """Every frame of a clip as RGB uint8 ``[h, w, 3]`` arrays.

    ``source`` is a video file (decoded with PyAV, first video stream only, so an audio
    track does not matter) or a folder of .jpg/.jpeg/.png frames sorted numerically by the
    digits in their names. A corrupt packet is skipped; a stream that ends early gives the
    frames before the break. Raises :class:`BadInput` with the reason when nothing can be read.
    """
    dec = _decode(source, None)
    return [dec.frames[i] for i in range(dec.n)]


# --------------------------------------------------------------------------- geometry


def crop_box(
    h: int, w: int, size: tuple[int, int], crop: str, box: tuple[float, float, float, float] | None = None
) -> tuple[float, float, float, float]:
    """Region ``(left, top, width, height)`` of an ``h x w`` frame that is resized to ``size`` = (H, W).

    ``"center"``: the largest centred region with the target aspect ratio (sub-pixel exact);
    ``"none"``: the whole frame (aspect ratio not preserved);
    ``"face"``: ``box`` = (x0, y0, x1, y1), the clip's face box (:func:`ppfer_core.faces.clip_box`).
    """
    H, W = size
    if crop == "face":
        if box is None:
            raise ValueError('crop "face" needs the clip\'s face box')
        x0, y0, x1, y1 = (float(v) for v in box)
        return x0, y0, x1 - x0, y1 - y0
    if crop == "none":
        return 0.0, 0.0, float(w), float(h)
    if crop != "center":
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    cw = min(float(w), h * W / H)
    ch = min(float(h), w * H / W)
    return (w - cw) / 2, (h - ch) / 2, cw, ch


def fit_frame(
    frame: np.ndarray, size: tuple[int, int], crop: str, box: tuple[float, float, float, float] | None = None
) -> np.ndarray:
    """Crop (``"center"``, ``"none"`` or ``"face"`` with its ``box``, see :func:`crop_box`) and resize
    (antialiased, PIL bilinear) to ``size`` = (H, W).

    Returns uint8 RGB ``[H, W, 3]``; a grey frame is repeated over 3 channels, alpha dropped.
    """
    from PIL import Image

    a = np.asarray(frame)
    if a.dtype != np.uint8:
        raise TypeError(f"frames must be uint8, got {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an [h, w, 3] frame, got shape {a.shape}")
    H, W = size
    h, w = a.shape[:2]
    left, top, cw, ch = crop_box(h, w, size, crop, box)
    if (h, w) == (H, W) and (cw, ch) == (w, h):
        return np.ascontiguousarray(a).copy()
    # hard crop to the whole pixels the region touches (nothing outside it bleeds in through the
    # filter), then resize the exact, possibly sub-pixel, region
    x0, y0 = int(math.floor(left + 1e-6)), int(math.floor(top + 1e-6))
    x1, y1 = min(w, int(math.ceil(left + cw - 1e-6))), min(h, int(math.ceil(top + ch - 1e-6)))
    img = Image.fromarray(np.ascontiguousarray(a[y0:y1, x0:x1]))
    box = (left - x0, top - y0, left - x0 + cw, top - y0 + ch)
    out = img.resize((W, H), Image.Resampling.BILINEAR, box=box)
    return np.asarray(out, dtype=np.uint8)


def fit_points(
    points: np.ndarray,
    frame_hw: tuple[int, int],
    size: tuple[int, int],
    crop: str,
    box: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """Map x, y points (``[..., 2]``, pixel centres at integers) of an ``frame_hw`` frame through
    the same crop + resize as :func:`fit_frame`; returns float32."""
    h, w = frame_hw
    H, W = size
    left, top, cw, ch = crop_box(h, w, size, crop, box)
    p = np.asarray(points, dtype=np.float64)
    out = np.empty_like(p)
    out[..., 0] = (p[..., 0] - left + 0.5) * (W / cw) - 0.5
    out[..., 1] = (p[..., 1] - top + 0.5) * (H / ch) - 0.5
    return out.astype(np.float32)


# --------------------------------------------------------------------------- split


def assign_split(index: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    """Clip-level closed-set split, stratified within each actor x emotion cell.

    ``n_test = floor(test_fraction * N)`` clips go to ``"test"``, shared over the cells in
    proportion to their size by largest remainder (ties broken by a seeded draw), with every
    cell of >= 2 clips keeping at least one clip in each split (so every such actor is in
    both). When the cells are too small for both (e.g. 3 clips per cell and 0.3: floor gives
    0.9 per cell, the constraint needs 1), the constraint wins: n_test is moved to the nearest
    feasible count and a warning says so. Which clips of a cell are test is a seeded random choice. The result depends on
    the clips (``actor``, ``emotion`` and, if present, ``clip_id`` columns) and the seed, not on
    the row order. Rows without an actor (DFEW) are stratified by emotion only.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    n = len(index)
    out = pd.Series("train", index=index.index, name="split", dtype=object)
    if n == 0:
        return out
    n_test = int(math.floor(test_fraction * n + 1e-9))
    actor = index["actor"].astype(object).where(index["actor"].notna(), "")
    emotion = index["emotion"].astype(str)
    order_key = index["clip_id"].astype(str) if "clip_id" in index.columns else pd.Series(range(n), index=index.index)
    frame = pd.DataFrame({"actor": actor.astype(str), "emotion": emotion, "key": order_key.values}, index=index.index)
    frame["pos"] = np.arange(n)

    cells = [g.sort_values(["key", "pos"]) for _, g in frame.groupby(["actor", "emotion"], sort=True)]
    sizes = np.array([len(g) for g in cells])
    lo = np.where(sizes >= 2, 1, 0)
    hi = np.where(sizes >= 2, sizes - 1, sizes)
    if not lo.sum() <= n_test <= hi.sum():
        clamped = int(np.clip(n_test, lo.sum(), hi.sum()))
        warnings.warn(
            f"assign_split: {n_test} test clips (floor({test_fraction} x {n})) cannot keep every actor x emotion "
            f"cell of >= 2 clips in both splits (possible: {lo.sum()}..{hi.sum()}); using {clamped}",
            stacklevel=2,
        )
        n_test = clamped
    rng = np.random.default_rng(seed)
    quota = sizes * n_test / n
    k = np.clip(np.floor(quota + 1e-9).astype(np.int64), lo, hi)
    tie = rng.random(len(cells))
    rem = n_test - int(k.sum())
    while rem != 0:
        frac = quota - k
        if rem > 0:
            cand = np.flatnonzero(k < hi)
            cand = cand[np.lexsort((tie[cand], -frac[cand]))][:rem]
            k[cand] += 1
            rem -= len(cand)
        else:
            cand = np.flatnonzero(k > lo)
            cand = cand[np.lexsort((tie[cand], frac[cand]))][:-rem]
            k[cand] -= 1
            rem += len(cand)
    for g, k_c in zip(cells, k):
        if k_c:
            chosen = rng.permutation(len(g))[:k_c]
            out.loc[g.index[chosen]] = "test"
    return out


# --------------------------------------------------------------------------- ingest


def _clip_region(dec: _Decoded, size: tuple[int, int], crop: str, face: FaceSettings | None):
    """The region (x0, y0, x1, y1) of the clip's frames that is kept, and notes; for ``"face"`` one
    smoothed box from the sampled frames (:func:`ppfer_core.faces.clip_box`)."""
    H, W = size
    frames = [dec.frames[i] for i in sorted(dec.frames)]
    h, w = frames[0].shape[:2]
    if crop != "face":
        left, top, cw, ch = crop_box(h, w, size, crop)
        return (left, top, left + cw, top + ch), []
    from ppfer_core import faces

    face = face or FaceSettings()
    if any(f.shape[:2] != (h, w) for f in frames):
        raise BadInput(f"frames of different sizes in one clip ({sorted({f.shape[:2] for f in frames})}): one face box cannot fit them")
    try:
        box, n_found = faces.clip_box(frames, faces.get_detector(face), face.margin, W / H, face.n_detect)
    except faces.NoFaceFound as exc:
        raise BadInput(str(exc)) from None
    searched = min(face.n_detect, len(frames))
    notes = [f"face found in {n_found} of {searched} frames searched"] if n_found < searched else []
    return box, notes


def _process_clip(
    clip: SourceClip, t: int, size: tuple[int, int], crop: str, lm: np.ndarray | None, face: FaceSettings | None = None
) -> tuple[np.ndarray, int, list[str], np.ndarray | None, tuple[float, float, float, float]]:
    """Decode one clip, sample ``t`` frames, fit them; map its landmarks the same way."""
    dec = _decode(clip.source, t)
    idx = sample_indices(dec.n, t)
    H, W = size
    box, box_notes = _clip_region(dec, size, crop, face)
    dec.notes = dec.notes + box_notes
    fitted = {i: fit_frame(f, size, crop, box) for i, f in dec.frames.items()}
    clip_arr = np.stack([fitted[i] for i in idx])
    lm_out = None
    if lm is not None:
        notes = dec.notes
        lm_out = np.full((t, lm.shape[1], 2), np.nan, dtype=np.float32)
        if lm.shape[0] != dec.n:
            notes = notes + [f"landmarks cover {lm.shape[0]} frames, clip has {dec.n} (frames past the end: NaN)"]
        for j, i in enumerate(idx):
            if i < lm.shape[0]:
                lm_out[j] = fit_points(lm[i], dec.frames[i].shape[:2], size, crop, box)
        dec.notes = notes
    return clip_arr, dec.n, dec.notes, lm_out, box


def _run_clip(args):
    """Worker wrapper: never raises for a bad input, returns the reason instead."""
    clip, t, size, crop, lm, face = args
    try:
        return "ok", _process_clip(clip, t, size, crop, lm, face)
    except BadInput as exc:
        return "bad", str(exc)
    except Exception as exc:  # noqa: BLE001 - a decoder crash on one input must not lose the others
        return "bad", f"unexpected error while decoding ({type(exc).__name__}: {exc})"


def _results(jobs: Sequence, workers: int):
    """Yield ``_run_clip`` results in order; with workers > 1 a bounded window runs in processes."""
    if workers <= 1:
        for job in jobs:
            yield _run_clip(job())
        return
    window = 4 * workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending = []
        for job in jobs:
            pending.append(pool.submit(_run_clip, job()))
            if len(pending) >= window:
                yield pending.pop(0).result()
        for fut in pending:
            yield fut.result()


def _open_npy(path: Path, dtype, shape: tuple[int, ...]) -> np.ndarray:
    if shape[0] == 0:  # np.memmap cannot map an empty file
        np.save(path, np.zeros(shape, dtype=dtype))
        return np.load(path)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def _release(arr: np.ndarray | None) -> None:
    """Write a memmap's dirty pages to its file and drop its pages from this process's resident set
    (they stay in the page cache), so that ingest's peak RSS does not grow with the corpus."""
    if isinstance(arr, np.memmap):
        arr.flush()
        mm = getattr(arr, "_mmap", None)
        if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            mm.madvise(mmap.MADV_DONTNEED)


def _copy_rows(src: np.ndarray, rows: np.ndarray, dst_path: Path) -> None:
    """Copy ``src[rows]`` into a new .npy at ``dst_path`` a chunk at a time."""
    dst = _open_npy(dst_path, src.dtype, (len(rows),) + src.shape[1:])
    row_bytes = max(1, int(np.prod(src.shape[1:])) * src.dtype.itemsize)
    step = max(1, _CHUNK_BYTES // row_bytes)
    for a in range(0, len(rows), step):
        for j, r in enumerate(rows[a : a + step], start=a):  # row by row: no chunk-sized copy in memory
            dst[j] = src[r]
        _release(dst)
        _release(src)
    del dst


def _table(columns: dict, schema):
    import pyarrow as pa

    return pa.table({name: pa.array(columns[name], type=typ) for name, typ in schema}, schema=pa.schema(schema))


def _write_index(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = [
        ("clip_id", pa.string()),
        ("actor", pa.string()),
        ("emotion", pa.string()),
        ("label", pa.int64()),
        ("sentence", pa.string()),
        ("level", pa.string()),
        ("split", pa.string()),
        ("row", pa.int64()),
        ("source", pa.string()),
        ("frames_decoded", pa.int64()),
        ("box_x0", pa.float64()),
        ("box_y0", pa.float64()),
        ("box_x1", pa.float64()),
        ("box_y1", pa.float64()),
    ]
    cols = {name: [None if pd.isna(v) else v for v in df[name].tolist()] for name, _ in schema}
    pq.write_table(_table(cols, schema), path)


def _write_rejected(rejected: list[tuple[str, str]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = [("source", pa.string()), ("reason", pa.string())]
    cols = {"source": [s for s, _ in rejected], "reason": [r for _, r in rejected]}
    pq.write_table(_table(cols, schema), path)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


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
    log: Callable[[str], None] = print,
    workers: int = 1,
    face: FaceSettings | None = None,
) -> pd.DataFrame:
    """Decode the clips of ``listing`` into ``out_dir`` (see the module docstring); return the index.

    ``t`` frames per clip (evenly sampled), ``size`` = (H, W), ``crop`` in ``("center", "none", "face")``;
    ``"face"`` crops one box per clip found by :mod:`ppfer_core.faces` with ``face`` settings (a clip
    without a face is a bad input, "no face found ...").
    ``on_error="skip"`` records bad inputs in rejected.parquet and goes on; ``"fail"`` checks every
    input, then raises :class:`IngestError` naming all bad ones (nothing is written).
    Preset splits (DFEW) are kept; otherwise :func:`assign_split` with ``test_fraction`` and ``seed``.
    ``landmarks``: npz, key = file stem of the source, value float32 ``[F, K, 2]`` in source pixels.
    ``workers`` > 1 decodes in that many processes (same output).
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}, got {crop!r}")
    H, W = (int(v) for v in size)
    size = (H, W)
    if t < 1 or H < 1 or W < 1:
        raise ValueError(f"t and size must be positive, got t={t}, size={size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    if crop == "face":
        from ppfer_core.faces import get_detector

        face = face or FaceSettings()
        detector = get_detector(face)  # a missing package or a bad model file stops here, not once per clip
        log(f"crop: face ({detector.name} on {face.n_detect} frames per clip, score >= {face.score_threshold}, "
            f"margin {face.margin}, median box, aspect {W}:{H})")

    for note in listing.notes:
        log(note)
    clips = list(listing.clips)
    n_clips = len(clips)
    n_dropped = sum(listing.dropped.values())
    rejected: list[tuple[str, str]] = list(listing.rejected)
    log(
        f"found {listing.n_found} inputs: {n_clips} clips to decode, {len(listing.rejected)} rejected at listing, "
        f"{n_dropped} dropped by label"
        + (
            " (" + ", ".join(f"{k}: {v}" for k, v in sorted(listing.dropped.items())) + "; not in the 6 classes)"
            if n_dropped
            else ""
        )
    )

    lm_file = np.load(landmarks) if landmarks is not None else None
    lm_keys = set(lm_file.files) if lm_file is not None else set()
    n_points = None
    if lm_file is not None and lm_file.files:
        n_points = int(lm_file[lm_file.files[0]].shape[1])
    staging = out_dir / f".ingest-staging-{os.getpid()}.npy"
    staging_lm = out_dir / f".ingest-staging-{os.getpid()}-landmarks.npy"
    stage = stage_lm = None
    try:
        stage = _open_npy(staging, np.uint8, (n_clips, t, H, W, 3)) if n_clips else None
        if lm_file is not None and n_clips and n_points is not None:
            stage_lm = _open_npy(staging_lm, np.float32, (n_clips, t, n_points, 2))
            stage_lm[:] = np.nan

        def job(clip):
            def make():
                lm = None
                stem = Path(clip.source).stem
                if stage_lm is not None and stem in lm_keys:
                    lm = np.asarray(lm_file[stem], dtype=np.float32)
                    if lm.ndim != 3 or lm.shape[1:] != (n_points, 2):
                        raise ValueError(f"landmarks of {stem}: expected [F, {n_points}, 2], got {lm.shape}")
                return clip, t, size, crop, lm, face

            return make

        kept: list[int] = []
        decoded: dict[int, int] = {}
        boxes: dict[int, tuple[float, float, float, float]] = {}
        no_landmarks = 0
        progress_every = max(1, math.ceil(n_clips / 10))  # about ten progress lines
        for i, (status, result) in enumerate(_results([job(c) for c in clips], workers)):
            clip = clips[i]
            if status == "bad":
                rejected.append((clip.source, result))
                log(f"rejected {clip.source}: {result}")
            else:
                arr, n_frames, notes, lm_out, boxes[i] = result
                stage[i] = arr
                if (len(kept) + 1) % max(1, _CHUNK_BYTES // max(1, arr.nbytes)) == 0:
                    _release(stage)
                if stage_lm is not None:
                    if lm_out is None:
                        no_landmarks += 1
                    else:
                        stage_lm[i] = lm_out
                kept.append(i)
                decoded[i] = n_frames
                for note in notes:
                    log(f"kept {clip.source} ({n_frames} frames): {note}")
            if (i + 1) % progress_every == 0 or i + 1 == n_clips:
                log(f"decoded {i + 1}/{n_clips} clips ({time.monotonic() - t0:.1f} s)")

        if on_error == "fail" and rejected:
            lines = "\n".join(f"  {src}: {why}" for src, why in rejected)
            raise IngestError(
                f"{len(rejected)} of {listing.n_found - n_dropped} inputs cannot be ingested "
                f"(on_error='fail'):\n{lines}"
            )

        rows = []
        for i in kept:
            c = clips[i]
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
                    frames_decoded=decoded[i],
                    **dict(zip(("box_x0", "box_y0", "box_x1", "box_y1"), boxes[i])),
                    _stage=i,
                )
            )
        df = pd.DataFrame(rows, columns=[*INDEX_COLUMNS, "_stage"])
        if df.empty:
            _write_rejected(rejected, out_dir / "rejected.parquet")
            raise IngestError(
                f"no clip could be ingested: {len(rejected)} rejected, {n_dropped} dropped "
                f"(see {out_dir / 'rejected.parquet'})"
            )

        preset = df["split"].notna()
        if preset.all():
            log(
                "splits: preset by the corpus (kept)"
                + (f"; test_fraction={test_fraction} not used" if test_fraction is not None else "")
            )
        elif not preset.any():
            if test_fraction is None:
                raise ValueError("the clips have no preset split: test_fraction is needed")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                df["split"] = assign_split(df, test_fraction, seed)
            for w in caught:
                log(f"warning: {w.message}")
            log(f"splits: assigned, test_fraction={test_fraction}, seed={seed}, stratified by actor x emotion")
        else:
            raise ValueError(f"{int((~preset).sum())} of {len(df)} clips have no preset split while the others do")
        df["row"] = df.groupby("split").cumcount()

        splits = sorted(df["split"].unique())
        for split in splits:
            part = df[df["split"] == split]
            _copy_rows(stage, part["_stage"].to_numpy(), out_dir / f"{split}.npy")
            if stage_lm is not None:
                _copy_rows(stage_lm, part["_stage"].to_numpy(), out_dir / f"{split}_landmarks.npy")
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
                _unlink(out_dir / f"{split}.npy")
            if split not in splits or stage_lm is None:
                _unlink(out_dir / f"{split}_landmarks.npy")
        if stage_lm is not None:
            log(
                f"landmarks: {len(df) - no_landmarks} clips from {landmarks}"
                + (f", {no_landmarks} clips without an entry (NaN)" if no_landmarks else "")
            )
    finally:
        stage = stage_lm = None  # close the staging memmaps before deleting their files
        if lm_file is not None:
            lm_file.close()
        _unlink(staging)
        _unlink(staging_lm)

    index = df.sort_values(["split", "row"]).reset_index(drop=True)[list(INDEX_COLUMNS)]
    _write_index(index, out_dir / "index.parquet")
    _write_rejected(rejected, out_dir / "rejected.parquet")
    index = pd.read_parquet(out_dir / "index.parquet")  # return exactly what downstream rules read

    expected = listing.n_found - n_dropped
    if len(index) + len(rejected) != expected:  # every input is accounted for
        raise AssertionError(f"{len(index)} kept + {len(rejected)} rejected != {expected} inputs")
    log(
        f"ingest done in {time.monotonic() - t0:.1f} s: found {listing.n_found}, kept {len(index)}, "
        f"rejected {len(rejected)}, dropped {n_dropped}; "
        + ", ".join(f"{s}={int((index['split'] == s).sum())}" for s in splits)
        + f"; clips [{t}, {H}, {W}, 3] uint8 in {out_dir}"
    )
    return index
