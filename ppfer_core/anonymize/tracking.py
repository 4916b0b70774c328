"""Face tracks over a video: detections on every k-th frame linked by overlap, smoothed, and
interpolated to every frame.

1. the detector (YuNet, :mod:`ppfer_core.faces`) runs on frames 0, k, 2k, ... and the last frame;
2. each detection joins the live track whose last box overlaps it most (IoU >= ``min_iou``),
   else starts a new track; a track missing for more than ``max_missed`` detection frames (and
   for more than ``hold`` frames) ends;
3. a track's detected boxes are smoothed by a centred moving average over ``smooth`` detections
   (centre and size), then linearly interpolated to every frame between its first and last
   detection, and held for ``hold`` frames (at least k - 1, the frames no detection looked at)
   beyond both ends.

So a face the detector misses for a while keeps a box, per track, whatever the detector found
elsewhere in the frame: inside its track the interpolated box, before and after it the held one.

Boxes are pixel edges ``(x0, y0, x1, y1)`` as in :mod:`ppfer_core.faces`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ppfer_core.faces import Detection, FaceDetector

Box = tuple[float, float, float, float]


@dataclass
class Track:
    """One face over time: detected boxes by frame index."""

    id: int
    detections: dict[int, Box] = field(default_factory=dict)
    scores: dict[int, float] = field(default_factory=dict)
    missed: int = 0

    @property
    def last(self) -> Box:
        return self.detections[max(self.detections)]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class Tracker:
    """Links per-frame detections into :class:`Track` s (step 2 of the module docstring)."""

    def __init__(self, min_iou: float = 0.2, max_missed: int = 2):
        self.min_iou, self.max_missed = min_iou, max_missed
        self.tracks: list[Track] = []
        self._live: list[Track] = []

    def update(self, index: int, found: list[Detection]) -> None:
        """Add the detections of frame ``index``."""
        boxes = [(d.x0, d.y0, d.x1, d.y1) for d in found]
        pairs = sorted(
            ((iou(t.last, b), ti, bi) for ti, t in enumerate(self._live) for bi, b in enumerate(boxes)),
            reverse=True,
        )
        used_t, used_b = set(), set()
        for overlap, ti, bi in pairs:
            if overlap < self.min_iou or ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            self._add(self._live[ti], index, boxes[bi], found[bi].score)
        for ti, t in enumerate(self._live):
            if ti not in used_t:
                t.missed += 1
        for bi, b in enumerate(boxes):
            if bi not in used_b:
                t = Track(id=len(self.tracks))
                self.tracks.append(t)
                self._live.append(t)
                self._add(t, index, b, found[bi].score)
        self._live = [t for t in self._live if t.missed <= self.max_missed]

    @staticmethod
    def _add(track: Track, index: int, box: Box, score: float) -> None:
        track.detections[index] = box
        track.scores[index] = score
        track.missed = 0


def smooth_boxes(frames: np.ndarray, boxes: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average (``window`` detections, shrinking at the ends) of boxes [N, 4] in
    centre/size form, back to edges."""
    if window <= 1 or len(boxes) < 2:
        return boxes
    c = np.stack(
        [
            (boxes[:, 0] + boxes[:, 2]) / 2,
            (boxes[:, 1] + boxes[:, 3]) / 2,
            boxes[:, 2] - boxes[:, 0],
            boxes[:, 3] - boxes[:, 1],
        ],
        axis=1,
    )
    half = window // 2
    out = np.empty_like(c)
    for i in range(len(c)):
        out[i] = c[max(0, i - half) : i + half + 1].mean(axis=0)
    return np.stack(
        [
            out[:, 0] - out[:, 2] / 2,
            out[:, 1] - out[:, 3] / 2,
            out[:, 0] + out[:, 2] / 2,
            out[:, 1] + out[:, 3] / 2,
        ],
        axis=1,
    )


def track_boxes(
    track: Track, n_frames: int, every: int, smooth: int, hold: int = 0
) -> dict[int, tuple[Box, bool]]:
    """Box of ``track`` on every frame it covers: frame -> (box, detected on that frame); the ends
    are held for ``max(hold, every - 1)`` frames."""
    idx = np.array(sorted(track.detections))
    boxes = smooth_boxes(idx, np.array([track.detections[i] for i in idx], dtype=np.float64), smooth)
    pad = max(hold, every - 1)
    first, last = max(0, idx[0] - pad), min(n_frames - 1, idx[-1] + pad)
    frames = np.arange(first, last + 1)
    coords = np.stack([np.interp(frames, idx, boxes[:, j]) for j in range(4)], axis=1)
    return {
        int(f): (tuple(float(v) for v in coords[i]), int(f) in track.detections) for i, f in enumerate(frames)
    }


@dataclass
class FaceTrackResult:
    """Per frame, the faces to anonymise: list of (track id, box, detected)."""

    n_frames: int
    per_frame: list[list[tuple[int, Box, bool]]]
    tracks: list[Track]


def _search(tracker: Tracker, detector: FaceDetector, index: int, frame, on_detect, on_found) -> None:
    """Run the detector on frame ``index`` and add what it found to the tracks."""
    import time

    t0 = time.perf_counter()
    found = detector(frame)
    tracker.update(index, found)
    if on_detect:
        on_detect(time.perf_counter() - t0)
    if on_found:
        on_found(index, frame, found)


def track_faces(
    frames,
    detector: FaceDetector,
    every: int = 1,
    smooth: int = 3,
    min_iou: float = 0.2,
    max_missed: int = 2,
    on_detect=None,
    hold: int = 0,
    on_found=None,
) -> FaceTrackResult:
    """Detect and track faces over an iterable of RGB frames (consumed once; the frame count is
    learnt on the way). ``on_detect(seconds)`` receives each detector call's time; ``hold`` (frames)
    keeps a lost track alive and its box on screen that long; ``on_found(index, frame, detections)``
    sees each searched frame and what the detector found in it (the tracks' boxes are theirs)."""
    tracker = Tracker(min_iou, max(max_missed, -(-hold // every)))
    pending: tuple[int, np.ndarray] | None = None
    n = 0
    for i, frame in enumerate(frames):
        n = i + 1
        pending = (i, frame)
        if i % every == 0:
            _search(tracker, detector, i, frame, on_detect, on_found)
            pending = None
    if pending is not None:  # the last frame is always searched
        _search(tracker, detector, *pending, on_detect, on_found)
    per_frame: list[list[tuple[int, Box, bool]]] = [[] for _ in range(n)]
    for t in tracker.tracks:
        for f, (box, detected) in track_boxes(t, n, every, smooth, hold).items():
            per_frame[f].append((t.id, box, detected))
    return FaceTrackResult(n, per_frame, tracker.tracks)
