"""Anonymise one video or photograph: track the faces (first pass), then crop, transform, paste
back and encode (second pass, checked frame by frame against the first: same count, same
timestamps); write the output and its JSON sidecar under temporary names and rename them only
when everything succeeded, so a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from ppfer_core.anonymize import apply, media, sidecar
from ppfer_core.anonymize.decode import Frame, VideoReader
from ppfer_core.anonymize.encode import VideoWriter
from ppfer_core.anonymize.options import DEFAULT_MARGIN, Options, Result, Timings
from ppfer_core.anonymize.tracking import FaceTrackResult, track_faces
from ppfer_core.bundle import Bundle


def _timed(it: Iterable, timings: Timings) -> Iterator:
    it = iter(it)
    while True:
        t0 = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            return
        timings.decode += time.perf_counter() - t0
        yield item


class Anonymizer:
    """Applies one method of a bundle (or a plain replacement, which needs no bundle) to whole
    videos and photographs."""

    def __init__(
        self,
        bundle: Bundle | None,
        options: Options,
        detector=None,
        transform: tuple[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    ):
        """``transform`` = (name, crops -> crops) replaces the method's networks (reference transforms
        of the benchmarks); F_u of the bundle's method still reads the expression."""
        options.check()
        if bundle is None and (options.needs_bundle or transform is not None):
            raise ValueError(f"--method {options.method or '(the bundle default)'} needs a --bundle")
        self.bundle, self.options = bundle, options
        self.size = tuple(bundle.settings.size) if bundle is not None else (1, 1)
        self.margin = options.margin
        if self.margin is None:
            self.margin = bundle.settings.face_margin if bundle is not None else DEFAULT_MARGIN
        self.method, self.transform = None, None
        self.method_name = options.method
        if transform is not None:
            self.method = bundle.method(options.method, options.device)
            self.method_name, self.transform = transform
        elif options.needs_bundle:
            self.method = bundle.method(options.method, options.device)
            self.method_name, self.transform = self.method.name, self.method.transform
        # a method that renders faces into the frame (the bottleneck) instead of transforming crops
        self.renders = transform is None and getattr(self.method, "kind", None) == "bottleneck"
        self.applies = self.transform is not None or self.renders
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
        json_path = out_dir / (path.stem + ".json")
        if out.resolve() == path.resolve():
            raise media.BadInput(path, f"output {out} would overwrite the input")
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp_out, tmp_json = (
            out.with_name(f".{out.name}.partial"),
            json_path.with_name(f".{json_path.name}.partial"),
        )
        try:
            result, rec = (self._image if image else self._video)(path, tmp_out, progress)
            result.output = str(out)
            rec["output"] = str(out)
            tmp_json.write_text(json.dumps(rec, indent=1))
            os.replace(tmp_out, out)
            os.replace(tmp_json, json_path)
            return result
        finally:
            for p in (tmp_out, tmp_json):
                p.unlink(missing_ok=True)

    def _image(self, path: Path, tmp_out: Path, progress: bool) -> tuple[Result, dict]:
        t0, timings = time.perf_counter(), Timings()
        frame = media.read_image(path)
        session = self._session(photo=True)
        tracks = track_faces(
            [frame],
            self.detector,
            1,
            1,
            on_detect=lambda s: _acc(timings, "detect", s),
            on_found=_observer(session, timings),
        )
        if session is not None:
            session.prepare(tracks)
        frames, per_frame, crops = self._anonymize_chunk([frame], tracks.per_frame, 0, {}, timings, session)
        if frames[0] is None:
            raise media.BadInput(path, "no face found and --no-face drop: nothing to write")
        media.write_image(tmp_out, frames[0], path)
        rec = self._record(path, tracks, per_frame, crops, {"size": list(frame.shape[1::-1])}, session)
        return sidecar.result(path, rec, 1, self.method_name, t0, timings), rec

    def _video(self, path: Path, tmp_out: Path, progress: bool) -> tuple[Result, dict]:
        t0, timings = time.perf_counter(), Timings()
        reader = VideoReader(path, keep_partial=self.options.on_error == "keep-partial")
        session = self._session(photo=False)
        tracks, pts = self._first_pass(reader, timings, session)
        info, damage = reader.info(pts), reader.damage
        writer = VideoWriter(
            tmp_out, path, info, self.options.crf, self.options.preset, audio=self.options.audio == "keep"
        )
        try:
            per_frame, crops = self._second_pass(reader, pts, tracks, writer, timings, progress, session)
            if writer.n == 0:
                raise media.BadInput(path, "no face in any frame and --no-face drop: nothing to write")
            t1 = time.perf_counter()
            writer.close()
            timings.encode += time.perf_counter() - t1
        except BaseException:
            writer.abort()
            raise
        head = {
            "size": [info.width, info.height],
            "fps": str(info.rate),
            "time_base": str(info.time_base),
            "rotation": info.rotation,
            "audio": writer.audio_mode,
        }
        if damage is not None:
            head["damage"] = damage.to_dict()
        rec = self._record(path, tracks, per_frame, crops, head, session)
        return sidecar.result(path, rec, writer.n, self.method_name, t0, timings), rec

    def _session(self, photo: bool):
        """The per-input state of a method that renders faces (None for the others)."""
        return self.method.session(photo, self.options.feather) if self.renders else None

    def _first_pass(
        self, reader: VideoReader, timings: Timings, session=None
    ) -> tuple[FaceTrackResult, list[int]]:
        """Face tracks over the whole video, and the pts of every frame (the index pass 2 must match);
        a rendering method's session sees every detection, then gets the tracks."""
        pts: list[int] = []

        def images() -> Iterator[np.ndarray]:
            for fr in _timed(reader.frames(), timings):
                pts.append(fr.pts)
                yield fr.image

        tracks = track_faces(
            images(),
            self.detector,
            self.options.detect_every,
            self.options.smooth,
            on_detect=lambda s: _acc(timings, "detect", s),
            hold=round(self.options.hold * float(reader.rate)),
            on_found=_observer(session, timings),
        )
        if session is not None:
            session.prepare(tracks)
        return tracks, pts

    def _second_pass(
        self,
        reader: VideoReader,
        pts: list[int],
        tracks: FaceTrackResult,
        writer: VideoWriter,
        timings: Timings,
        progress: bool,
        session=None,
    ) -> tuple[list[dict], dict[int, dict[int, np.ndarray]]]:
        """Decode again (checked against pass 1), anonymise and encode; the sidecar's per-frame records
        and the anonymised crops F_u reads."""
        samples = (
            sidecar.expression_samples(tracks, self.method.settings.frames)
            if self.transform is not None
            else {}
        )
        per_frame: list[dict] = []
        crops: dict[int, dict[int, np.ndarray]] = {}
        bar = _bar(reader.path, tracks.n_frames, progress)
        try:
            for start, chunk in _chunks(_timed(_same_frames(reader, pts), timings), self.options.batch):
                images = [f.image for f in chunk]
                done, faces, got = self._anonymize_chunk(
                    images, tracks.per_frame, start, samples, timings, session
                )
                for rec, fr in zip(faces, chunk):
                    rec["time"] = round(float(fr.pts * reader.time_base), 6)
                per_frame += faces
                for tid, d in got.items():
                    crops.setdefault(tid, {}).update(d)
                t1 = time.perf_counter()
                for f, fr in zip(done, chunk):
                    if f is not None:
                        writer.write(f, fr.pts)
                timings.encode += time.perf_counter() - t1
                bar.update(len(chunk))
        finally:
            bar.close()
        return per_frame, crops

    # ------------------------------------------------------------------ frames

    def _anonymize_chunk(
        self,
        chunk: list[np.ndarray],
        faces_of: list,
        start: int,
        samples: dict[int, set[int]],
        timings: Timings,
        session=None,
    ) -> tuple[list, list[dict], dict]:
        """Anonymise frames ``start ..`` of a chunk: every box of every track on the frame gets the
        method (or the fallback); returns the frames (None = dropped), the sidecar's per-frame records
        and the anonymised crops kept for the expression of each track. A rendering method's
        ``session`` pastes its face into the frame at once (its time counts as the models')."""
        t0, models0 = time.perf_counter(), timings.models
        frames = [f.copy() for f in chunk]
        jobs, records = [], []
        for i, frame in enumerate(frames):
            faces = []
            for tid, box, detected in faces_of[start + i] if start + i < len(faces_of) else []:
                region = apply.crop_region(box, frame.shape[:2], self.margin, self.size)
                small = min(box[2] - box[0], box[3] - box[1]) < self.options.min_face
                how = self.options.fallback if small and self.applies else self.method_name
                face = {
                    "track": tid,
                    "box": _r(box),
                    "region": _r(region),
                    "detected": detected,
                    "applied": how,
                }
                faces.append(face)
                if how == self.method_name and session is not None:
                    if self._render(session, face, frame, chunk[i], start + i, box, timings):
                        continue
                    how = face["applied"]
                if how == self.method_name and self.transform is not None:
                    jobs.append((i, tid, region, apply.crop(chunk[i], region, self.size)))
                else:
                    apply.replace_region(frame, region, how, self.options.feather)
            records.append({"frame": start + i, "faces": faces})
        timings.paste += time.perf_counter() - t0 - (timings.models - models0)
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

    def _render(
        self, session, face: dict, frame: np.ndarray, source: np.ndarray, index: int, box, timings
    ) -> bool:
        """A rendering method's face (track ``face["track"]``, ``box`` on ``source``) pasted into
        ``frame``, its region recorded; False, with the fallback recorded, when nothing of the face
        would land on the frame."""
        t0 = time.perf_counter()
        pasted = session.render(frame, source, index, face["track"], box)
        timings.models += time.perf_counter() - t0
        if pasted is None:
            face["applied"] = self.options.fallback
            return False
        face["region"] = _r(pasted)
        return True

    def _no_face(self, frames: list[np.ndarray], records: list[dict]) -> list:
        out = []
        policy = self.options.no_face
        for frame, rec in zip(frames, records):
            if rec["faces"]:
                out.append(frame)
                continue
            rec["no_face"] = policy
            out.append(None if policy == "drop" else apply.blur_frame(frame) if policy == "blur" else frame)
        return out

    def _record(
        self, path: Path, tracks, per_frame: list[dict], crops: dict, media_fields: dict, session=None
    ) -> dict:
        head = {
            "bundle": self.bundle.path if self.bundle else None,
            "method": self.method_name,
            **media_fields,
        }
        model = {"margin": self.margin, "crop_size": list(self.size) if self.bundle else None}
        if session is not None:
            model["bottleneck"] = session.describe()
        found = sidecar.expressions(self.method, crops)
        return sidecar.record(path, head, model, self.options, tracks, per_frame, found)


def _same_frames(reader: VideoReader, pts: list[int]) -> Iterator[Frame]:
    """The second pass's frames, each checked against the first pass's index (count and pts)."""
    n = 0
    for fr in reader.frames():
        if fr.index >= len(pts):
            raise media.BadInput(
                reader.path, f"pass 2 decoded frame {fr.index}, pass 1 only {len(pts)} frames"
            )
        if fr.pts != pts[fr.index]:
            raise media.BadInput(
                reader.path, f"pass 2 decoded frame {fr.index} at pts {fr.pts}, pass 1 at {pts[fr.index]}"
            )
        n += 1
        yield fr
    if n != len(pts):
        raise media.BadInput(reader.path, f"pass 2 decoded {n} frames, pass 1 {len(pts)}")


def _observer(session, timings: Timings):
    """Pass 1's ``on_found`` for a rendering method's session (its time counts as the models'), or None."""
    if session is None:
        return None

    def observe(index: int, frame: np.ndarray, found: list) -> None:
        t0 = time.perf_counter()
        session.observe(index, frame, found)
        timings.models += time.perf_counter() - t0

    return observe


def _acc(timings: Timings, key: str, seconds: float) -> None:
    setattr(timings, key, getattr(timings, key) + seconds)


def _r(box) -> list[float]:
    return [round(float(v), 1) for v in box]


def _chunks(frames: Iterable, size: int) -> Iterator[tuple[int, list]]:
    chunk: list = []
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
