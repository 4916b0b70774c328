"""The JSON sidecar of an anonymised output (face boxes per frame, tracks with the expression F_u
reads from the anonymised crops, settings, timing and damage) and the :class:`Result` it sums up."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ppfer_core.anonymize.options import Options, Result, Timings
from ppfer_core.anonymize.tracking import FaceTrackResult
from ppfer_core.ingest import sample_indices


def expression_samples(tracks: FaceTrackResult, frames: int) -> dict[int, set[int]]:
    """Per track, the ``frames`` frames (spread over its frames) whose anonymised crops F_u sees."""
    covered: dict[int, list[int]] = {}
    for f, faces in enumerate(tracks.per_frame):
        for tid, _, _ in faces:
            covered.setdefault(tid, []).append(f)
    return {tid: {fs[i] for i in sample_indices(len(fs), frames)} for tid, fs in covered.items()}


def expressions(method, crops: dict[int, dict[int, np.ndarray]]) -> dict[int, dict | None]:
    """Per track, F_u's label and probabilities on its sampled anonymised crops (None without F_u)."""
    out: dict[int, dict | None] = {}
    if method is None:
        return out
    labels, t = method.settings.labels, method.settings.frames
    for tid, by_frame in crops.items():
        frames = [by_frame[f] for f in sorted(by_frame)]
        probs = method.expression(np.stack([frames[i] for i in sample_indices(len(frames), t)]))
        out[tid] = (
            None
            if probs is None
            else {
                "label": labels[int(np.argmax(probs))],
                "probabilities": {k: round(float(p), 4) for k, p in zip(labels, probs)},
            }
        )
    return out


def record(
    path: Path,
    head: dict,
    model: dict,
    options: Options,
    tracks: FaceTrackResult,
    per_frame: list[dict],
    found: dict[int, dict | None],
) -> dict:
    """The sidecar's content; ``head`` holds the method, bundle and media fields, ``model`` the
    settings that come from the bundle (margin, crop size)."""
    track_rows = []
    for t in tracks.tracks:
        covered = [r["frame"] for r in per_frame if any(f["track"] == t.id for f in r["faces"])]
        if covered:
            track_rows.append(
                {
                    "id": t.id,
                    "first_frame": covered[0],
                    "last_frame": covered[-1],
                    "frames": len(covered),
                    "detections": len(t.detections),
                    "expression": found.get(t.id),
                }
            )
    o = options
    settings = {
        "threshold": o.threshold,
        "detect_every": o.detect_every,
        "smooth": o.smooth,
        "hold_seconds": o.hold,
        "feather": o.feather,
        "min_face": o.min_face,
        "fallback": o.fallback,
        "no_face": o.no_face,
        "audio": o.audio,
        "on_error": o.on_error,
    }
    return {
        "input": str(path),
        "frames": tracks.n_frames,
        **head,
        "settings": {**model, **settings},
        "tracks": track_rows,
        "per_frame": per_frame,
    }


def result(path: Path, rec: dict, written: int, method: str, t0: float, timings: Timings) -> Result:
    """The :class:`Result` of one input, counted from its sidecar record."""
    rows = rec["per_frame"]
    return Result(
        str(path),
        "",
        rec["frames"],
        written,
        sum(len(r["faces"]) for r in rows),
        len(rec["tracks"]),
        sum(1 for r in rows if not r["faces"]),
        time.perf_counter() - t0,
        timings,
        fallback_frames=sum(1 for r in rows if any(f["applied"] != method for f in r["faces"])),
        missing_frames=rec.get("damage", {}).get("missing_count", 0),
    )
