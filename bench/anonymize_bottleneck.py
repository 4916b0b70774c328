"""``ppfer anonymize --method bottleneck`` on a real face (issue 27, item 8): does the output still
hold a face, is it someone else, and does it wear the source's expression?

The input is scikit-image's astronaut photograph (480 x 360, her top 360 rows) turned into a
video whose expression changes (``ppfer_core.anonymize.demo.astronaut_expressions``: her dlib
landmarks moved and the face warped with scikit-image's ``PiecewiseAffineTransform`` -- smile
toned down with the lips closed, a broad smile, the mouth opening, the brows rising), encoded
as H.264, anonymised by the whole command path (YuNet tracking, dlib landmarks, code, template
render, paste-back, H.264), and decoded again; plus the photograph itself (absolute code).
Measured with dlib on the decoded source and output frames:

(a) its HOG detector finds a face in the output (share of frames);
(b) its ResNet face-descriptor distance between the source face and the output face (dlib's
    same-person threshold is 0.6; the output's face is dlib's own detection, else the source's);
(c) the expression: from dlib's 68 points (HOG rectangle) on source and output, in inter-ocular
    distances along and across the eye line, the mouth opening (inner lips 62-66), the mouth
    corners' height above the lips' centre and the brows' height above the eyes; Pearson r
    between source and output over the video, per measure.

Without ``--bundle`` the method is packed from ``--basis`` (rule fit_basis writes
``results/models/bottleneck/basis.npz``) into a temporary bundle with the config's settings; with
``--train-landmarks`` the basis is first fitted as rule fit_basis fits it (the config's ``bottleneck``
settings, the template's canonical shape) from the given train landmarks [N, T, 68, 2], e.g. the
generator's ``results/data/cremad/train_landmarks.npy``.

    python bench/anonymize_bottleneck.py --basis results/models/bottleneck/basis.npz
    python bench/anonymize_bottleneck.py --train-landmarks results/data/cremad/train_landmarks.npy
    python bench/anonymize_bottleneck.py --basis B.npz --figure docs/anonymize_bottleneck.png --json out.json
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

MEASURES = ("mouth_open", "mouth_corners", "brows")
SHOWN = {"near neutral": 0.08, "smile": 0.36, "mouth open": 0.56, "brows raised": 0.85}
"""Figure columns: a name and the frame's position in the video (share of its length)."""


def make_bundle(args, tmp: Path) -> str:
    """The bundle to use: ``--bundle``, else one holding only the bottleneck packed from ``--basis``."""
    if args.bundle:
        return args.bundle
    import yaml

    from ppfer_core.anonymize.bottleneck import BottleneckParts
    from ppfer_core.bottleneck.realface import TemplateSettings
    from ppfer_core.bundle import settings_from_config, write_bundle

    config = yaml.safe_load(Path(args.config).read_text())
    template = TemplateSettings(actor=int(config["bottleneck"]["template_actor"]), seed=int(config["seed"]))
    basis = fit(args.train_landmarks, config, tmp / "basis.npz") if args.train_landmarks else args.basis
    path = tmp / "bottleneck.pt"
    write_bundle(path, settings_from_config(config), {"bottleneck": BottleneckParts(basis, template)})
    return str(path)


def fit(train_landmarks: str, config: dict, out: Path) -> str:
    """The basis rule fit_basis would fit from these train landmarks, written to ``out``."""
    from ppfer_core.bottleneck import BottleneckSettings, fit_basis, synthetic_template

    s = BottleneckSettings.from_config(config["bottleneck"])
    template = synthetic_template(s.template_actor, int(config["ingest"]["size"][0]), int(config["seed"]))
    fit_basis(np.load(train_landmarks), template.canonical, s.basis).save(str(out))
    return str(out)


def measures(lm: np.ndarray) -> np.ndarray:
    """(mouth opening, mouth corners' height above the lips' centre, brows' height above the eyes)
    of 68 landmarks, in inter-ocular distances, across the eye line."""
    a, b = lm[36], lm[45]
    d = float(np.linalg.norm(b - a))
    ex = (b - a) / d
    down = np.array([-ex[1], ex[0]])
    y = (lm - lm.mean(0)) @ down / d
    return np.array(
        [
            y[66] - y[62],
            (y[51] + y[57]) / 2 - (y[48] + y[54]) / 2,
            y[36:48].mean() - y[17:27].mean(),
        ]
    )


def dlib_faces(frames: list[np.ndarray]) -> tuple[list, np.ndarray]:
    """dlib's HOG rectangle (largest, or None) and 68 landmarks (NaN without a face) per frame."""
    import dlib

    from ppfer_core.baselines import dlib_model_file

    detector, predictor = dlib.get_frontal_face_detector(), dlib.shape_predictor(dlib_model_file())
    rects, lms = [], np.full((len(frames), 68, 2), np.nan)
    for i, f in enumerate(frames):
        found = detector(f, 1)
        rect = max(found, key=lambda r: r.area()) if len(found) else None
        rects.append(rect)
        if rect is not None:
            lms[i] = [[p.x, p.y] for p in predictor(f, rect).parts()]
    return rects, lms


def evaluate(source: list[np.ndarray], output: list[np.ndarray]) -> dict:
    """(a), (b) and (c) of the module docstring on decoded source and output frames."""
    from anonymize_recognition import Recogniser

    rec = Recogniser()
    src_rects, src_lm = dlib_faces(source)
    out_rects, out_lm = dlib_faces(output)
    dist = []
    for s, o, rs, ro in zip(source, output, src_rects, out_rects):
        if rs is not None:
            d0 = rec.descriptor(s, rs)
            dist.append(float(np.linalg.norm(rec.descriptor(o, ro if ro is not None else rs) - d0)))
    d = np.asarray(dist)
    res = {
        "frames": len(source),
        "output_face_found_percent": round(100 * float(np.mean([r is not None for r in out_rects])), 1),
        "distance_ge_0.6_percent": round(100 * float((d >= 0.6).mean()), 1) if len(d) else None,
        "distance_median_min_max": [round(float(v), 3) for v in np.percentile(d, [50, 0, 100])] if len(d) else None,
    }  # fmt: skip
    return {**res, **expression(src_lm, out_lm)} if len(source) >= 3 else res


def expression(src_lm: np.ndarray, out_lm: np.ndarray) -> dict:
    """(c): Pearson r of each of :data:`MEASURES` between source and output, over the frames where
    dlib finds both faces, and each measure's range."""
    ok = np.isfinite(src_lm).all((1, 2)) & np.isfinite(out_lm).all((1, 2))
    ms = np.array([measures(lm) for lm in src_lm[ok]]).reshape(-1, 3)
    mo = np.array([measures(lm) for lm in out_lm[ok]]).reshape(-1, 3)
    return {
        "expression_frames": int(ok.sum()),
        "pearson_r": {m: round(float(np.corrcoef(ms[:, j], mo[:, j])[0, 1]), 3) for j, m in enumerate(MEASURES)},
        "source_range": {m: [round(float(ms[:, j].min()), 3), round(float(ms[:, j].max()), 3)] for j, m in enumerate(MEASURES)},
        "output_range": {m: [round(float(mo[:, j].min()), 3), round(float(mo[:, j].max()), 3)] for j, m in enumerate(MEASURES)},
    }  # fmt: skip


def run(bundle: str, inputs: list[Path], out: Path) -> list[Path]:
    """Anonymise the inputs with the bundle's bottleneck method (the command's defaults)."""
    from ppfer_core.anonymize import Anonymizer, Options
    from ppfer_core.bundle import load_bundle

    anonymizer = Anonymizer(load_bundle(bundle), Options(method="bottleneck"))
    return [Path(anonymizer.process(p, out, progress=False).output) for p in inputs]


def figure(path: Path, source: list[np.ndarray], output: list[np.ndarray]) -> None:
    """Source (top) and output (bottom) faces at the :data:`SHOWN` moments of the video."""
    from PIL import Image, ImageDraw

    idx = [round(s * (len(source) - 1)) for s in SHOWN.values()]
    y0, y1, x0, x1 = 20, 230, 120, 330  # around the face of the 480 x 360 video
    top = np.concatenate([source[i][y0:y1, x0:x1] for i in idx], 1)
    bottom = np.concatenate([output[i][y0:y1, x0:x1] for i in idx], 1)
    h, w = top.shape[0], x1 - x0
    canvas = np.full((2 * h + 40, top.shape[1], 3), 255, np.uint8)
    canvas[20 : 20 + h], canvas[40 + h :] = top, bottom
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    for j, name in enumerate(SHOWN):
        draw.text((j * w + 4, 4), f"source: {name}", fill=(0, 0, 0))
        draw.text((j * w + 4, h + 24), "ppfer anonymize --method bottleneck", fill=(0, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", help="a bundle with a 'bottleneck' method (default: pack one from --basis)")
    ap.add_argument("--basis", default=str(ROOT / "results/models/bottleneck/basis.npz"))
    ap.add_argument("--train-landmarks", help="fit the basis from these train landmarks instead of --basis")
    ap.add_argument("--config", default=str(ROOT / "config.yaml"), help="settings of the packed bundle")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--figure", help="write the source / output faces at four moments here")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    from anonymize_recognition import decode
    from PIL import Image
    from skimage import data

    from ppfer_core.anonymize.demo import astronaut_expressions, write_video

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bundle = make_bundle(args, tmp)
        frames, _ = astronaut_expressions(args.frames)
        write_video(tmp / "astronaut.mp4", frames, fps=25, tone=None)
        Image.fromarray(data.astronaut()).save(tmp / "astronaut.png")
        video, photo = run(bundle, [tmp / "astronaut.mp4", tmp / "astronaut.png"], tmp / "out")
        source, output = decode(tmp / "astronaut.mp4"), decode(video)
        res = {
            "bundle": args.bundle or f"packed from {args.train_landmarks or args.basis}",
            "video": evaluate(source, output),
        }
        res["photo"] = evaluate([data.astronaut()], [np.asarray(Image.open(photo).convert("RGB"))])
    for name, r in (("video", res["video"]), ("photograph", res["photo"])):
        print(
            f"{name}: {r['frames']} frames; (a) dlib HOG finds a face in the output: {r['output_face_found_percent']} %"
        )
        print(
            f"  (b) descriptor distance >= 0.6: {r['distance_ge_0.6_percent']} % (median, min, max {r['distance_median_min_max']})"
        )
        if name == "video":
            print(f"  (c) Pearson r source vs output over {r['expression_frames']} frames: {r['pearson_r']}")
            print(f"      source ranges {r['source_range']}\n      output ranges {r['output_range']}")
    if args.figure:
        figure(Path(args.figure), source, output)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
