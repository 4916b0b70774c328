"""Tiny real video fixtures for ingest tests: CREMA-D-form FLVs (good and broken) and a DFEW-form tree.

Everything is written with PyAV / PIL into a folder given by the test (tmp_path); a few
kilobytes per file, well under a second for a whole corpus.
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import numpy as np

from ppfer_core import EMOTIONS

_SAMPLE_DTYPES = {
    "s16": np.int16,
    "s16p": np.int16,
    "s32": np.int32,
    "s32p": np.int32,
    "flt": np.float32,
    "fltp": np.float32,
}


def gradient_frame(i: int, h: int = 48, w: int = 64, hue: int = 0) -> np.ndarray:
    """Frame ``i`` of a test clip: colour gradients plus a white square moving right."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack(
        [(x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), np.full_like(x, (hue + 23 * i) % 256)],
        axis=-1,
    ).astype(np.uint8)
    s = max(4, h // 5)
    x0 = (3 + 4 * i) % max(w - s, 1)
    img[h // 4 : h // 4 + s, x0 : x0 + s] = 255
    return img


def write_flv(
    path: Path,
    n_frames: int = 10,
    size: tuple[int, int] = (48, 64),
    audio: str | None = None,
    fps: int = 25,
    hue: int = 0,
) -> list[np.ndarray]:
    """Write an FLV (Sorenson H.263, yuv420p) of ``gradient_frame``s; optionally with an audio track
    (``"libmp3lame"``, ``"aac"``, ``"adpcm_swf"``, ...). Returns the RGB frames written."""
    import av

    h, w = size
    frames = [gradient_frame(i, h, w, hue) for i in range(n_frames)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="flv") as out:
        vs = out.add_stream("flv", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        astream, sent = None, 0
        if audio is not None:
            astream = out.add_stream(audio, rate=22050 if audio != "aac" else 44100)
            astream.layout = "mono"
        for i, img in enumerate(frames):
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
            if astream is not None:  # keep the audio interleaved with the video
                cc = astream.codec_context
                n = cc.frame_size or 1024
                while sent * n < (i + 1) * cc.sample_rate / fps:
                    af = _audio_frame(cc.format.name, n, cc.sample_rate, sent)
                    for pkt in astream.encode(af):
                        out.mux(pkt)
                    sent += 1
        for pkt in vs.encode():
            out.mux(pkt)
        if astream is not None:
            for pkt in astream.encode():
                out.mux(pkt)
    return frames


def _audio_frame(fmt: str, n: int, rate: int, k: int):
    import av

    dtype = _SAMPLE_DTYPES[fmt]
    tt = (np.arange(n) + k * n) / rate
    wave = 0.2 * np.sin(2 * np.pi * 440 * tt)
    if np.issubdtype(dtype, np.integer):
        wave = wave * np.iinfo(dtype).max
    af = av.AudioFrame.from_ndarray(wave.astype(dtype)[None, :], format=fmt, layout="mono")
    af.sample_rate = rate
    af.pts = k * n
    return af


def write_audio_only_flv(path: Path, seconds: float = 0.5) -> None:
    """An FLV holding only an audio stream (ADPCM, Flash's own audio codec): no video stream."""
    import av

    with av.open(str(path), "w", format="flv") as out:
        a = out.add_stream("adpcm_swf", rate=22050)
        a.layout = "mono"
        cc = a.codec_context
        n = cc.frame_size or 1024
        for k in range(int(seconds * cc.sample_rate / n) + 1):
            for pkt in a.encode(_audio_frame(cc.format.name, n, cc.sample_rate, k)):
                out.mux(pkt)
        for pkt in a.encode():
            out.mux(pkt)


def write_undecodable_flv(good: Path, path: Path) -> None:
    """Copy of a good FLV whose video packet payloads are zeroed: it opens, has a video
    stream, and every packet fails to decode (0 frames)."""
    import av

    data = bytearray(good.read_bytes())
    with av.open(str(good)) as c:
        spans = [(p.pos, p.size) for p in c.demux(video=0) if p.pos is not None and p.size]
    for pos, size in spans:  # FLV tag: 11-byte header + 1 byte codec/frame-type flags, then payload
        data[pos + 12 : pos + 12 + size] = bytes(size)
    path.write_bytes(bytes(data))


def make_cremad_corpus(root: Path, n_frames: int = 10, size: tuple[int, int] = (48, 64)) -> dict:
    """A CREMA-D-layout folder ``root/VideoFlash`` with good and broken inputs.

    Returns ``dict(good=[names], truncated=name, bad={name: reason-substring}, audio=name)``.
    """
    vf = root / "VideoFlash"
    vf.mkdir(parents=True, exist_ok=True)
    good = []
    for k, (actor, emo) in enumerate(
        [("1001", "ANG"), ("1001", "HAP"), ("1002", "SAD"), ("1002", "NEU"), ("1003", "FEA"), ("1003", "DIS")]
    ):
        name = f"{actor}_DFA_{emo}_XX.flv"
        write_flv(vf / name, n_frames=n_frames, size=size, hue=40 * k)
        good.append(name)
    # a good video with an audio track (mp3, as FLV usually carries)
    write_flv(vf / "1003_IEO_HAP_HI.flv", n_frames=n_frames, size=size, audio="libmp3lame", hue=7)
    good.append("1003_IEO_HAP_HI.flv")
    data = (vf / good[0]).read_bytes()
    (vf / "1004_TIE_ANG_XX.flv").write_bytes(data[: int(0.4 * len(data))])  # truncated, still has frame 0
    bad = {}
    (vf / "1004_TIE_DIS_XX.flv").write_bytes(b"")
    bad["1004_TIE_DIS_XX.flv"] = "empty file (0 bytes)"
    (vf / "1004_TIE_FEA_XX.flv").write_text("this is a text file, not a video\n" * 20)
    bad["1004_TIE_FEA_XX.flv"] = "cannot open as a video"
    write_audio_only_flv(vf / "1004_TIE_HAP_XX.flv")
    bad["1004_TIE_HAP_XX.flv"] = "no video stream"
    write_undecodable_flv(vf / good[0], vf / "1004_TIE_NEU_XX.flv")
    bad["1004_TIE_NEU_XX.flv"] = "decodes to no frames"
    (vf / "1004_TIE_SAD_XX.flv").write_bytes(data[:150])  # truncated inside the header
    bad["1004_TIE_SAD_XX.flv"] = "cannot open as a video"
    (vf / "1004_TAI_ANG_XX.flv").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 301234\n"
    )
    bad["1004_TAI_ANG_XX.flv"] = "git-lfs pointer"
    write_flv(vf / "clip_of_1005_angry.flv", n_frames=n_frames, size=size)  # good video, unparsable name
    bad["clip_of_1005_angry.flv"] = "unparsable name"
    return dict(good=good, truncated="1004_TIE_ANG_XX.flv", bad=bad, audio="1003_IEO_HAP_HI.flv")


def make_dfew_corpus(root: Path, size: tuple[int, int] = (40, 40)) -> dict:
    """A DFEW-layout tree: ``Clip/clip_224x224/{id:05d}/{n}.jpg`` (numeric names, n = 1..F) and
    ``EmoLabel_DataSplit/{train,test}(single-labeled)/set_1.csv``.

    Labels: train 1 (happiness) 2 (sadness) 5 (surprise -> dropped) 7 (fear) and id 9 listed
    but with no folder; test 3 (neutral) 4 (anger) 6 (disgust), id 12 given as a zero-padded
    string. Returns ``dict(frames={id: F}, expected={clip_id: (emotion, split)}, missing=id)``.
    """
    from PIL import Image

    clip_root = root / "Clip" / "clip_224x224"
    train = [(1, 1), (2, 2), (3, 5), (4, 7), (9, 1)]
    test = [(10, 3), (11, 4), ("00012", 6)]
    n_frames = {1: 12, 2: 5, 3: 8, 4: 15, 10: 11, 11: 3, 12: 20}  # no folder for 9
    h, w = size
    for vid, n in n_frames.items():
        d = clip_root / f"{vid:05d}"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            img = np.full((h, w, 3), 0, np.uint8)
            img[..., 0] = vid * 10 % 256  # clip signature
            img[..., 1] = i * 12  # frame number, so the order can be checked after decoding
            Image.fromarray(img).save(d / f"{i}.jpg", quality=95)
    (clip_root / "00099").mkdir()  # a folder not in this fold's single-labelled CSVs
    for split, rows in (("train", train), ("test", test)):
        d = root / "EmoLabel_DataSplit" / f"{split}(single-labeled)"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "set_1.csv", "w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(["video_name", "label"])
            wr.writerows(rows)
    expected = {
        "00001": ("HAP", "train"),
        "00002": ("SAD", "train"),
        "00004": ("FEA", "train"),
        "00010": ("NEU", "test"),
        "00011": ("ANG", "test"),
        "00012": ("DIS", "test"),
    }
    return dict(frames=n_frames, expected=expected, missing=9)


# --------------------------------------------------------------------------- CREMA-D as it really is

CREMAD_SIZE = (360, 480)  # H, W of CREMA-D's VideoFlash files
CREMAD_FPS = 30


def encode_flv(
    path: Path,
    frames: np.ndarray,
    fps: int = CREMAD_FPS,
    audio: str | None = "libmp3lame",
    bit_rate: int = 1_000_000,
) -> None:
    """Encode RGB frames ``[F, H, W, 3]`` as CREMA-D stores them: FLV, Sorenson H.263 (``flv1``),
    yuv420p, ``fps`` frames/s, with an interleaved mono audio track (MP3 by default, 22,050 Hz)."""
    import av

    n, h, w, _ = frames.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="flv") as out:
        vs = out.add_stream("flv", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.bit_rate = bit_rate
        astream, sent = None, 0
        if audio is not None:
            astream = out.add_stream(audio, rate=22050)
            astream.layout = "mono"
        for i in range(n):
            for pkt in vs.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[i]), format="rgb24")):
                out.mux(pkt)
            if astream is not None:
                cc = astream.codec_context
                k = cc.frame_size or 1024
                while sent * k < (i + 1) * cc.sample_rate / fps:
                    for pkt in astream.encode(_audio_frame(cc.format.name, k, cc.sample_rate, sent)):
                        out.mux(pkt)
                    sent += 1
        for pkt in vs.encode():
            out.mux(pkt)
        if astream is not None:
            for pkt in astream.encode():
                out.mux(pkt)


def studio_background(h: int = CREMAD_SIZE[0], w: int = CREMAD_SIZE[1], seed: int = 0) -> np.ndarray:
    """A plain, softly lit backdrop like CREMA-D's (grey-blue gradient, a little noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 70 + 50 * (x / w) + 20 * (y / h)
    img = np.stack([base, base + 8, base + 25], axis=-1) + rng.normal(0, 2, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def cremad_real_clip(
    actor: int,
    emotion: str,
    n_frames: int = 45,
    face_px: int = 160,
    face_xy: tuple[int, int] = (290, 110),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``[F, 360, 480, 3]`` of a CREMA-D-like clip: a synthetic talking face
    (:func:`ppfer_core.synthetic.render_clip`, ``face_px`` square) pasted at ``face_xy`` (left, top)
    of a 480x360 studio frame, off-centre. Returns (frames, the face's landmark box per frame
    ``[F, 4]`` = x0, y0, x1, y1 in the 480x360 frame)."""
    from ppfer_core.synthetic import render_clip

    face, lm = render_clip(actor, emotion, 0.8, n_frames, face_px, seed=seed)
    h, w = CREMAD_SIZE
    x, y = face_xy
    if not (0 <= x and x + face_px <= w and 0 <= y and y + face_px <= h):
        raise ValueError(f"a {face_px}px face at {face_xy} does not fit a {w}x{h} frame")
    frames = np.repeat(studio_background(seed=actor)[None], n_frames, axis=0)
    frames[:, y : y + face_px, x : x + face_px] = face
    boxes = np.stack(
        [lm[..., 0].min(1) + x, lm[..., 1].min(1) + y, lm[..., 0].max(1) + x, lm[..., 1].max(1) + y], 1
    )
    return frames, boxes


def make_cremad_real_corpus(
    root: Path,
    clips: list[tuple[str, tuple[int, int]]],
    n_frames: int = 45,
    face_px: int = 160,
    no_face: str | None = None,
) -> dict[str, np.ndarray]:
    """``root/VideoFlash/{name}.flv`` in CREMA-D's real form (480x360, 30 fps, flv1 + MP3) for
    ``clips`` = [(CREMA-D stem, face (left, top)), ...]; ``no_face``: one more stem whose clip is
    the empty studio backdrop. Returns {stem: mean landmark box [4] in the 480x360 frame}."""
    boxes = {}
    for k, (stem, xy) in enumerate(clips):
        actor, _, emotion, _ = stem.split("_")
        frames, b = cremad_real_clip(int(actor), emotion, n_frames, face_px, xy, seed=k)
        encode_flv(root / "VideoFlash" / f"{stem}.flv", frames)
        boxes[stem] = b.mean(0)
    if no_face is not None:
        empty = np.repeat(studio_background(seed=1)[None], n_frames, axis=0)
        encode_flv(root / "VideoFlash" / f"{no_face}.flv", empty)
    return boxes


def cremad_names() -> list[str]:
    """7,442 stems shaped like CREMA-D's: 91 actors 1001-1091 x (11 sentences x 6 emotions at XX,
    plus IEO: NEU at XX and 5 emotions at LO/MD/HI) = 7,462, less 20 (CREMA-D lacks a few)."""
    from ppfer_core.datasets import CREMAD_SENTENCES

    names = []
    for actor in range(1001, 1092):
        for sentence in CREMAD_SENTENCES:
            for emo in EMOTIONS:
                levels = ["XX"] if sentence != "IEO" or emo == "NEU" else ["LO", "MD", "HI"]
                names += [f"{actor}_{sentence}_{emo}_{level}" for level in levels]
    drop = set(np.random.default_rng(123).choice(len(names), 20, replace=False).tolist())
    return [n for i, n in enumerate(names) if i not in drop]


# --------------------------------------------------------------------------- DFEW as it really is


def make_dfew_folds(
    root: Path, n_clips: int = 20, size: tuple[int, int] = (24, 24), n_frames: int = 4
) -> dict:
    """DFEW's layout with all five folds: ``Clip/clip_224x224/{id:05d}/{n:05d}.jpg`` and
    ``EmoLabel_DataSplit/{train,test}(single-labeled)/set_{1..5}.csv``. Clip ``id`` (1..n_clips) is in
    fold ``k``'s test set when ``(id - 1) % 5 == k - 1`` and in its train set otherwise, as in DFEW's
    5-fold cross-validation; labels cycle 1..7 (5 = surprise, dropped). Returns
    ``dict(labels={id: label}, test={fold: set(ids)})``."""
    from PIL import Image

    clip_root = root / "Clip" / "clip_224x224"
    labels = {vid: (vid - 1) % 7 + 1 for vid in range(1, n_clips + 1)}
    h, w = size
    for vid in labels:
        d = clip_root / f"{vid:05d}"
        d.mkdir(parents=True, exist_ok=True)
        for i in range(1, n_frames + 1):
            Image.fromarray(np.full((h, w, 3), (vid * 9) % 256, np.uint8)).save(d / f"{i:05d}.jpg")
    test = {k: {vid for vid in labels if (vid - 1) % 5 == k - 1} for k in range(1, 6)}
    for k in range(1, 6):
        for split in ("train", "test"):
            d = root / "EmoLabel_DataSplit" / f"{split}(single-labeled)"
            d.mkdir(parents=True, exist_ok=True)
            ids = sorted(test[k]) if split == "test" else sorted(set(labels) - test[k])
            with open(d / f"set_{k}.csv", "w", newline="") as f:
                wr = csv.writer(f)
                wr.writerow(["video_name", "label"])
                wr.writerows((vid, labels[vid]) for vid in ids)
    return dict(labels=labels, test=test)


def write_timed_video(
    path: Path,
    frames: list[np.ndarray],
    pts: list[int],
    time_base: Fraction = Fraction(1, 1000),
    rotation: int = 0,
    tone: float | None = 440.0,
) -> None:
    """An H.264 MP4 as a phone writes it: each frame at its own ``pts`` (so a variable frame rate),
    the index at the front (``faststart``: a cut file still states its full duration), the upright
    ``frames`` stored turned and a display ``rotation`` (degrees counter-clockwise) telling the
    player to turn them back, and a sine tone as long as the video."""
    import av

    from ppfer_core.anonymize.demo import _write_tone

    k = round(rotation / 90) % 4
    stored = [np.ascontiguousarray(np.rot90(f, -k)) for f in frames]
    h, w = stored[0].shape[:2]
    mean_step = (pts[-1] - pts[0]) / max(len(pts) - 1, 1)
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as out:
        vs = out.add_stream(
            "libx264", rate=Fraction(1, 1) / (time_base * Fraction(mean_step).limit_denominator())
        )
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.time_base = time_base
        if rotation:
            vs.set_display_rotation(rotation)
        aus = None
        if tone is not None:
            aus = out.add_stream("aac", rate=44100)
            aus.layout = "mono"
        for img, p in zip(stored, pts):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = p, time_base
            for pkt in vs.encode(vf):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if aus is not None:
            _write_tone(out, aus, float((pts[-1] + mean_step) * time_base), tone)


def truncate(path: Path, out: Path, keep: float = 0.7) -> None:
    """A copy of ``path`` with only its first ``keep`` of the bytes, as a cut download leaves it."""
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])


SMALL_BUNDLE = dict(
    size=(32, 32),
    frames=4,
    wavelet="haar",
    level=1,
    face_margin=0.25,
    unet={"base_width": 4, "depth": 2},
    uvit={"patch": 8, "dim": 16, "depth": 3, "heads": 2},
    utility={"arch": "r3d_small", "width": 4},
    labels=EMOTIONS,
)
"""Settings (``BundleSettings(**SMALL_BUNDLE)``) of the small random bundles of the anonymiser tests."""
