"""Anonymise one video or photograph: track the faces (first pass), then crop, transform, paste
back and encode (second pass); write the output and its JSON sidecar under temporary names and
rename them only when everything succeeded, so a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ppfer_core.anonymize import apply, media
from ppfer_core.anonymize.tracking import FaceTrackResult, track_faces
from ppfer_core.bundle import Bundle
from ppfer_core.ingest import sample_indices

NO_FACE = ("blur", "keep", "drop")
"""What happens to a frame without a face: blurred whole (default), kept as it is, or left out."""


@dataclass(frozen=True)
class Options:
    """Settings of one ``ppfer anonymize`` call (see ``ppfer anonymize --help``)."""

    method: str | None = None  # a bundle method (None: the bundle's default) or one of apply.REPLACEMENTS
    threshold: float = 0.6
    detect_every: int = 1
    smooth: int = 3
    margin: float | None = None  # None: the bundle's face margin
    feather: float = 0.1
    min_face: float = 16.0
    fallback: str = "blur"
    no_face: str = "blur"
    batch: int = 16
    crf: int = 18
    preset: str = "veryfast"
    device: str = "cpu"

    def check(self) -> None:
        """Raise ValueError naming the first invalid option."""
        if self.no_face not in NO_FACE:
            raise ValueError(f"--no-face must be one of {', '.join(NO_FACE)}, got {self.no_face!r}")
        if self.fallback not in apply.REPLACEMENTS:
            raise ValueError(
                f"--fallback must be one of {', '.join(apply.REPLACEMENTS)}, got {self.fallback!r}"
            )
        for name, value, low in (
            ("--thresh", self.threshold, 0.0),
            ("--margin", self.margin or 0.0, 0.0),
            ("--feather", self.feather, 0.0),
            ("--min-face", self.min_face, 0.0),
        ):
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value}")
        if self.detect_every < 1 or self.batch < 1 or self.smooth < 1:
            raise ValueError("--detect-every, --smooth and --batch must be >= 1")


@dataclass
class Timings:
    """Seconds spent per stage of one input."""

    decode: float = 0.0
    detect: float = 0.0
    models: float = 0.0
    paste: float = 0.0
    encode: float = 0.0

    def add(self, other: Timings) -> None:
        for k in asdict(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class Result:
    """What anonymising one input did."""

    input: str
    output: str
    frames: int
    frames_written: int
    faces: int  # face instances anonymised (summed over frames)
    tracks: int
    no_face_frames: int
    seconds: float
    timings: Timings = field(default_factory=Timings)


def _timed(it: Iterable[np.ndarray], timings: Timings) -> Iterator[np.ndarray]:
    it = iter(it)
    while True:
        t0 = time.perf_counter()
        try:
            frame = next(it)
        except StopIteration:
            return
        timings.decode += time.perf_counter() - t0
        yield frame


class Anonymizer:
    """Applies one method of a bundle (or a plain replacement) to whole videos and photographs."""

    def __init__(
        self,
        bundle: Bundle,
        options: Options,
        detector=None,
        transform: tuple[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    ):
        """``transform`` = (name, crops -> crops) replaces the method's networks (reference transforms
        of the benchmarks); F_u of the bundle's method still reads the expression."""
        options.check()
        self.bundle, self.options = bundle, options
        self.size = tuple(bundle.settings.size)
        self.margin = bundle.settings.face_margin if options.margin is None else options.margin
        if transform is not None:
            self.method = bundle.method(options.method, options.device)
            self.method_name, self.transform = transform
        elif options.method in apply.REPLACEMENTS:
            self.method, self.method_name = None, options.method
            self.transform: Callable[[np.ndarray], np.ndarray] | None = None
        else:
            self.method = bundle.method(options.method, options.device)
            self.method_name, self.transform = self.method.name, self.method.transform
        if detector is None:
            from ppfer_core.faces import YuNetDetector

            detector = YuNetDetector(score_threshold=options.threshold)
        self.detector = detector

    # ------------------------------------------------------------------ one input

    def process(self, path: Path, out_dir: Path, progress: bool = True) -> Result:
        """Anonymise ``path`` into ``out_dir``; :class:`media.BadInput` on a bad input (nothing written)."""
        path = Path(path)
        image = media.is_image(path)
        out = out_dir / (path.name if image else path.stem + ".mp4")
        sidecar = out_dir / (path.stem + ".json")
        if out.resolve() == path.resolve():
            raise media.BadInput(path, f"output {out} would overwrite the input")
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp_out, tmp_json = (
            out.with_name(f".{out.name}.partial"),
            sidecar.with_name(f".{sidecar.name}.partial"),
        )
        try:
            result, record = (self._image if image else self._video)(path, tmp_out, progress)
            result.output = str(out)
            record["output"] = str(out)
            tmp_json.write_text(json.dumps(record, indent=1))
            os.replace(tmp_out, out)
            os.replace(tmp_json, sidecar)
            return result
        finally:
            for p in (tmp_out, tmp_json):
                p.unlink(missing_ok=True)

    def _image(self, path: Path, tmp_out: Path, progress: bool) -> tuple[Result, dict]:
        t0, timings = time.perf_counter(), Timings()
        frame = media.read_image(path)
        tracks = track_faces([frame], self.detector, 1, 1, on_detect=lambda s: _acc(timings, "detect", s))
        frames, per_frame, crops = self._anonymize_chunk([frame], tracks.per_frame, 0, {}, timings)
        if frames[0] is None:
            raise media.BadInput(path, "no face found and --no-face drop: nothing to write")
        media.write_image(tmp_out, frames[0], path)
        record = self._record(path, tracks, per_frame, crops, {"size": list(frame.shape[1::-1])})
        return self._result(path, tracks, 1, record, t0, timings), record

    def _video(self, path: Path, tmp_out: Path, progress: bool) -> tuple[Result, dict]:
        t0, timings = time.perf_counter(), Timings()
        tracks = track_faces(
            _timed(media.iter_frames(path), timings),
            self.detector,
            self.options.detect_every,
            self.options.smooth,
            on_detect=lambda s: _acc(timings, "detect", s),
        )
        info = media.probe(path, tracks.n_frames)
        samples = self._expression_samples(tracks)
        writer = media.VideoWriter(tmp_out, path, info, self.options.crf, self.options.preset)
        per_frame: list[list[dict]] = []
        crops: dict[int, dict[int, np.ndarray]] = {}
        try:
            bar = _bar(path, tracks.n_frames, progress)
            for start, chunk in _chunks(_timed(media.iter_frames(path), timings), self.options.batch):
                done, faces, got = self._anonymize_chunk(chunk, tracks.per_frame, start, samples, timings)
                per_frame += faces
                for tid, d in got.items():
                    crops.setdefault(tid, {}).update(d)
                t1 = time.perf_counter()
                for f in done:
                    if f is not None:
                        writer.write(f)
                timings.encode += time.perf_counter() - t1
                bar.update(len(chunk))
            bar.close()
            if writer.n == 0:
                raise media.BadInput(path, "no face in any frame and --no-face drop: nothing to write")
            t1 = time.perf_counter()
            writer.close()
            timings.encode += time.perf_counter() - t1
        except BaseException:
            writer.abort()
            raise
        extra = {"size": [info.width, info.height], "fps": str(info.rate), "audio": writer.audio_mode}
        record = self._record(path, tracks, per_frame, crops, extra)
        return self._result(path, tracks, writer.n, record, t0, timings), record

    # ------------------------------------------------------------------ frames

    def _anonymize_chunk(
        self,
        chunk: list[np.ndarray],
        faces_of: list,
        start: int,
        samples: dict[int, set[int]],
        timings: Timings,
    ) -> tuple[list, list[dict], dict]:
        """Anonymise frames ``start ..`` of a chunk: returns the frames (None = dropped), the sidecar's
        per-frame records and the anonymised crops kept for the expression of each track."""
        t0 = time.perf_counter()
        frames = [f.copy() for f in chunk]
        jobs, records = [], []
        for i, frame in enumerate(frames):
            faces = []
            for tid, box, detected in faces_of[start + i] if start + i < len(faces_of) else []:
                region = apply.crop_region(box, frame.shape[:2], self.margin, self.size)
                small = min(box[2] - box[0], box[3] - box[1]) < self.options.min_face
                how = self.options.fallback if small and self.transform is not None else self.method_name
                faces.append(
                    {"track": tid, "box": _r(box), "region": _r(region), "detected": detected, "applied": how}
                )
                if how == self.method_name and self.transform is not None:
                    jobs.append((i, tid, region, apply.crop(chunk[i], region, self.size)))
                else:
                    apply.replace_region(frame, region, how, self.options.feather)
            records.append({"frame": start + i, "faces": faces})
        timings.paste += time.perf_counter() - t0
        kept: dict[int, dict[int, np.ndarray]] = {}
        if jobs:
            t0 = time.perf_counter()
            out = self.transform(np.stack([j[3] for j in jobs]))
            timings.models += time.perf_counter() - t0
            t0 = time.perf_counter()
            for (i, tid, region, _), patch in zip(jobs, out):
                apply.paste(frames[i], patch, region, self.options.feather)
                if start + i in samples.get(tid, ()):
                    kept.setdefault(tid, {})[start + i] = patch
            timings.paste += time.perf_counter() - t0
        return self._no_face(frames, records), records, kept

    def _no_face(self, frames: list[np.ndarray], records: list[dict]) -> list:
        out = []
        for frame, rec in zip(frames, records):
            if rec["faces"]:
                out.append(frame)
                continue
            rec["no_face"] = self.options.no_face
            out.append(
                None
                if self.options.no_face == "drop"
                else apply.blur_frame(frame)
                if self.options.no_face == "blur"
                else frame
            )
        return out

    # ------------------------------------------------------------------ expression and records

    def _expression_samples(self, tracks: FaceTrackResult) -> dict[int, set[int]]:
        """Per track, the T frames (spread over its frames) whose anonymised crops F_u sees."""
        covered: dict[int, list[int]] = {}
        for f, faces in enumerate(tracks.per_frame):
            for tid, _, _ in faces:
                covered.setdefault(tid, []).append(f)
        t = self.bundle.settings.frames
        return {tid: {fs[i] for i in sample_indices(len(fs), t)} for tid, fs in covered.items()}

    def _expressions(self, crops: dict[int, dict[int, np.ndarray]]) -> dict[int, dict | None]:
        out: dict[int, dict | None] = {}
        labels = self.bundle.settings.labels
        for tid, by_frame in crops.items():
            frames = [by_frame[f] for f in sorted(by_frame)]
            clip = np.stack([frames[i] for i in sample_indices(len(frames), self.bundle.settings.frames)])
            probs = self.method.expression(clip) if self.method is not None else None
            out[tid] = (
                None
                if probs is None
                else {
                    "label": labels[int(np.argmax(probs))],
                    "probabilities": {k: round(float(p), 4) for k, p in zip(labels, probs)},
                }
            )
        return out

    def _record(
        self, path: Path, tracks: FaceTrackResult, per_frame: list[dict], crops: dict, extra: dict
    ) -> dict:
        expressions = self._expressions(crops)
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
                        "expression": expressions.get(t.id),
                    }
                )
        o = self.options
        return {
            "input": str(path),
            "bundle": self.bundle.path,
            "method": self.method_name,
            "frames": tracks.n_frames,
            **extra,
            "settings": {
                "threshold": o.threshold,
                "detect_every": o.detect_every,
                "smooth": o.smooth,
                "margin": self.margin,
                "feather": o.feather,
                "min_face": o.min_face,
                "fallback": o.fallback,
                "no_face": o.no_face,
                "crop_size": list(self.size),
            },
            "tracks": track_rows,
            "per_frame": per_frame,
        }

    @staticmethod
    def _result(
        path: Path, tracks: FaceTrackResult, written: int, record: dict, t0: float, timings: Timings
    ) -> Result:
        faces = sum(len(r["faces"]) for r in record["per_frame"])
        no_face = sum(1 for r in record["per_frame"] if not r["faces"])
        return Result(
            str(path),
            "",
            tracks.n_frames,
            written,
            faces,
            len(record["tracks"]),
            no_face,
            time.perf_counter() - t0,
            timings,
        )


def _acc(timings: Timings, key: str, seconds: float) -> None:
    setattr(timings, key, getattr(timings, key) + seconds)


def _r(box) -> list[float]:
    return [round(float(v), 1) for v in box]


def _chunks(frames: Iterable[np.ndarray], size: int) -> Iterator[tuple[int, list[np.ndarray]]]:
    chunk: list[np.ndarray] = []
    start = 0
    for i, f in enumerate(frames):
        if not chunk:
            start = i
        chunk.append(f)
        if len(chunk) == size:
            yield start, chunk
            chunk = []
    if chunk:
        yield start, chunk


def _bar(path: Path, total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, desc=path.name, unit="frame", disable=not enabled, leave=True, dynamic_ncols=True
    )
