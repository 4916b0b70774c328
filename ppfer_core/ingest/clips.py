"""One clip at a time: decode, sample T frames, fit them (and its landmarks) to the target size.

A clip's outcome is a :class:`ClipResult` or a :class:`Rejected` (the reason); :func:`decode_clips`
yields them in listing order, in worker processes when asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np

from ppfer_core.datasets import SourceClip
from ppfer_core.faces import FaceSettings
from ppfer_core.ingest.decode import BadInput, _decode, _Decoded, sample_indices
from ppfer_core.ingest.geometry import crop_box, fit_frame, fit_points
from ppfer_core.ingest.settings import IngestSettings

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in source pixels (pixel edges)


@dataclass(frozen=True)
class ClipJob:
    """What a worker needs for one clip: the clip, its landmarks (``[F, K, 2]`` or None), the settings."""

    clip: SourceClip
    landmarks: np.ndarray | None
    settings: IngestSettings


@dataclass
class ClipResult:
    """A decoded clip: ``clip`` uint8 ``[T, H, W, 3]``, the frames its source had, notes for the log,
    its landmarks mapped into the clip (float32 ``[T, K, 2]``, None without any) and the region kept."""

    clip: np.ndarray
    frames_decoded: int
    notes: list[str] = field(default_factory=list)
    landmarks: np.ndarray | None = None
    box: Box = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Rejected:
    """A clip that cannot be ingested; ``reason`` goes to rejected.parquet."""

    reason: str


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
        sizes = sorted({f.shape[:2] for f in frames})
        raise BadInput(f"frames of different sizes in one clip ({sizes}): one face box cannot fit them")
    try:
        box, n_found = faces.clip_box(frames, faces.get_detector(face), face.margin, W / H, face.n_detect)
    except faces.NoFaceFound as exc:
        raise BadInput(str(exc)) from None
    searched = min(face.n_detect, len(frames))
    notes = [f"face found in {n_found} of {searched} frames searched"] if n_found < searched else []
    return box, notes


def _fit_landmarks(lm: np.ndarray, dec: _Decoded, idx: np.ndarray, s: IngestSettings, box: Box):
    """The clip's landmarks at the sampled frames, mapped like the frames (NaN past the end); notes."""
    out = np.full((s.frames, lm.shape[1], 2), np.nan, dtype=np.float32)
    notes = []
    if lm.shape[0] != dec.n:
        notes.append(f"landmarks cover {lm.shape[0]} frames, clip has {dec.n} (frames past the end: NaN)")
    for j, i in enumerate(idx):
        if i < lm.shape[0]:
            out[j] = fit_points(lm[i], dec.frames[i].shape[:2], s.size, s.crop, box)
    return out, notes


def process_clip(job: ClipJob) -> ClipResult:
    """Decode one clip, sample T frames, fit them; map its landmarks the same way (BadInput if unreadable)."""
    s = job.settings
    dec = _decode(job.clip.source, s.frames)
    idx = sample_indices(dec.n, s.frames)
    box, notes = _clip_region(dec, s.size, s.crop, s.face)
    notes = dec.notes + notes
    fitted = {i: fit_frame(f, s.size, s.crop, box) for i, f in dec.frames.items()}
    result = ClipResult(np.stack([fitted[i] for i in idx]), dec.n, notes, None, box)
    if job.landmarks is not None:
        result.landmarks, lm_notes = _fit_landmarks(job.landmarks, dec, idx, s, box)
        result.notes = notes + lm_notes
    return result


def run_clip(job: ClipJob) -> ClipResult | Rejected:
    """Worker entry: never raises for a bad input, returns the reason instead."""
    try:
        return process_clip(job)
    except BadInput as exc:
        return Rejected(str(exc))
    except Exception as exc:  # noqa: BLE001 - a decoder crash on one input must not lose the others
        return Rejected(f"unexpected error while decoding ({type(exc).__name__}: {exc})")


def decode_clips(jobs: Iterable[ClipJob], workers: int) -> Iterator[ClipResult | Rejected]:
    """:func:`run_clip` of every job, in order; with workers > 1 a bounded window runs in processes.
    ``jobs`` is consumed lazily (one job ahead of its submission)."""
    if workers <= 1:
        for job in jobs:
            yield run_clip(job)
        return
    window = 4 * workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        pending = []
        for job in jobs:
            pending.append(pool.submit(run_clip, job))
            if len(pending) >= window:
                yield pending.pop(0).result()
        for fut in pending:
            yield fut.result()
