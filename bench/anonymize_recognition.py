"""Does a standard face recogniser still match the anonymised face to the original?

dlib's ResNet face descriptor (weights shipped in ``face-recognition-models``, the ``faces``
extra; 0.6 is dlib's same-person threshold) on the real-face test video (scikit-image's
astronaut, 480 x 360, panned and zoomed, with a tone): per frame, the descriptor distance between
the original face and the same face in the output of ``ppfer anonymize`` (the whole command path:
tracking, crop, models, paste-back, H.264 encoding), per method:

- every method of the bundle (``ours``, and any variant packed into it);
- ``blur``: the command's blur replacement (Gaussian, std = 1/8 of the face region);
- ``resize``: the face region resized down to the model's crop size and back up, nothing else
  (what the crop size alone removes).

The face is located by dlib's HOG detector on the original frame; on the anonymised frame the
recogniser uses dlib's own detection when it finds one, else the original's box (an attacker who
knows where the face is). Frames where dlib finds no face in the original are left out.

    python bench/anonymize_recognition.py --bundle results/models/anonymizer.pt
    python bench/anonymize_recognition.py --bundle B --figure docs/anonymize_example.png --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Recogniser:
    """dlib HOG detector + 5-point aligner + ResNet descriptor (local weights only)."""

    def __init__(self):
        import dlib

        from ppfer_core.baselines import dlib_model_file

        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.shape = dlib.shape_predictor(dlib_model_file("shape_predictor_5_face_landmarks.dat"))
        self.net = dlib.face_recognition_model_v1(
            dlib_model_file("dlib_face_recognition_resnet_model_v1.dat")
        )

    def face(self, img: np.ndarray):
        """Largest dlib detection of an RGB frame, or None."""
        rects = self.detector(img, 1)
        return max(rects, key=lambda r: r.area()) if len(rects) else None

    def descriptor(self, img: np.ndarray, rect) -> np.ndarray:
        return np.asarray(self.net.compute_face_descriptor(img, self.shape(img, rect)))


def decode(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def run_methods(bundle_path: str, video: Path, out: Path) -> dict[str, list[np.ndarray]]:
    """Decoded outputs of the command per method (bundle methods, blur, resize)."""
    from ppfer_core.anonymize import Anonymizer, Options
    from ppfer_core.anonymize.apply import down_up
    from ppfer_core.bundle import load_bundle

    bundle = load_bundle(bundle_path)
    runs: dict[str, Anonymizer] = {m: Anonymizer(bundle, Options(method=m)) for m in bundle.methods}
    runs["blur"] = Anonymizer(bundle, Options(method="blur"))
    runs["resize"] = Anonymizer(
        bundle,
        Options(),
        transform=(f"resize to {bundle.settings.size[0]} px", down_up(bundle.settings.size)),
    )
    outputs = {}
    for name, a in runs.items():
        r = a.process(video, out / name, progress=False)
        outputs[name] = decode(Path(r.output))
        print(f"{name}: {r.frames} frames, {r.faces} faces anonymised in {r.seconds:.1f} s", flush=True)
    return outputs


def distances(rec: Recogniser, originals: list[np.ndarray], outputs: dict[str, list[np.ndarray]]) -> dict:
    rows: dict[str, dict] = {m: {"distance": [], "dlib_found": 0} for m in outputs}
    skipped = 0
    for i, orig in enumerate(originals):
        rect = rec.face(orig)
        if rect is None:
            skipped += 1
            continue
        d0 = rec.descriptor(orig, rect)
        for m, frames in outputs.items():
            found = rec.face(frames[i])
            rows[m]["dlib_found"] += found is not None
            d = rec.descriptor(frames[i], found if found is not None else rect)
            rows[m]["distance"].append(float(np.linalg.norm(d - d0)))
    return {"frames_without_dlib_face_in_original": skipped, "methods": rows}


def summarise(res: dict) -> dict:
    from ppfer_core.stats import wilson_interval

    table = {}
    for m, row in res["methods"].items():
        d = np.asarray(row["distance"])
        n, k = len(d), int((d >= 0.6).sum())
        lo, hi = wilson_interval(k, n)
        q = np.percentile(d, [0, 5, 25, 50, 75, 95, 100])
        table[m] = {
            "n": n,
            "share_ge_0.6": round(100 * k / n, 1),
            "wilson95": [round(lo, 1), round(hi, 1)],
            "mean": round(float(d.mean()), 3),
            "min": round(q[0], 3),
            "p5": round(q[1], 3),
            "p25": round(q[2], 3),
            "median": round(q[3], 3),
            "p75": round(q[4], 3),
            "p95": round(q[5], 3),
            "max": round(q[6], 3),
            "dlib_found_percent": round(100 * row["dlib_found"] / n, 1),
        }
    return table


def figure(path: Path, original: np.ndarray, anonymised: np.ndarray, label: str) -> None:
    """One original frame beside its anonymised frame, captioned."""
    from PIL import Image, ImageDraw

    h, w = original.shape[:2]
    canvas = np.full((h + 24, 2 * w + 8, 3), 255, np.uint8)
    canvas[24:, :w], canvas[24:, w + 8 :] = original, anonymised
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    draw.text((6, 6), "original", fill=(0, 0, 0))
    draw.text((w + 14, 6), label, fill=(0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=str(ROOT / "results/models/anonymizer.pt"))
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--size", default="480x360", help="W x H")
    ap.add_argument(
        "--figure",
        help="write one original frame beside its anonymised frame (the bundle's default method) here",
    )
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    from ppfer_core.anonymize.demo import astronaut_frames, write_video
    from ppfer_core.bundle import load_bundle

    w, h = (int(v) for v in args.size.lower().split("x"))
    default = load_bundle(args.bundle).default_method
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        write_video(tmp / "astronaut.mp4", astronaut_frames(args.frames, (h, w)), fps=25)
        originals = decode(tmp / "astronaut.mp4")
        outputs = run_methods(args.bundle, tmp / "astronaut.mp4", tmp)
    table = summarise(distances(Recogniser(), originals, outputs))
    print(
        f"\ndlib ResNet descriptor distance, anonymised vs original face, {w} x {h}, {args.frames} frames "
        f"(bundle {args.bundle}); >= 0.6: dlib's different-person threshold"
    )
    print(
        f"{'method':<18} {'n':>4} {'>=0.6 %':>8} {'95% CI':>13} {'min':>6} {'p5':>6} {'median':>6} {'p95':>6} {'max':>6} {'dlib finds face %':>17}"
    )
    for m, r in table.items():
        print(
            f"{m:<18} {r['n']:4d} {r['share_ge_0.6']:8.1f} {str(r['wilson95']):>13} {r['min']:6.3f} {r['p5']:6.3f} "
            f"{r['median']:6.3f} {r['p95']:6.3f} {r['max']:6.3f} {r['dlib_found_percent']:17.1f}"
        )
    if args.figure:
        i = len(originals) // 3
        figure(Path(args.figure), originals[i], outputs[default][i], f"ppfer anonymize --method {default}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"bundle": args.bundle, "size": [w, h], "frames": args.frames, "table": table}, indent=1
            )
        )


if __name__ == "__main__":
    main()
