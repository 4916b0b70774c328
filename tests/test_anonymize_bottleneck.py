"""ppfer anonymize --method bottleneck (issue 27, item 8): the face region is a function of the
code, the astronaut's output still holds a face (someone else's), codes of a video are relative to
each track's neutral frames, and a bundle without its basis is refused naming the file.

The basis is fitted on the synthetic generator's landmarks of 3 actors x 6 emotions (seconds);
the template is the one the bundle packs (synthetic actor 9004 at 256 px). dlib and OpenCV come
with the ``faces`` extra; without them the tests skip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("cv2", reason='needs the faces extra (pip install -e ".[faces]")')
pytest.importorskip("dlib", reason='needs the faces extra (pip install -e ".[faces]")')

from fixtures_video import SMALL_BUNDLE  # noqa: E402

from ppfer_core import EMOTIONS  # noqa: E402
from ppfer_core.anonymize import Anonymizer, Options  # noqa: E402
from ppfer_core.anonymize.bottleneck import BottleneckParts  # noqa: E402
from ppfer_core.anonymize.demo import expression_landmarks  # noqa: E402
from ppfer_core.anonymize.tracking import track_faces  # noqa: E402
from ppfer_core.bottleneck import BasisSettings, fit_basis, synthetic_template  # noqa: E402
from ppfer_core.bottleneck.realface import FaceRenderer  # noqa: E402
from ppfer_core.bundle import BundleError, BundleSettings, load_bundle, write_bundle  # noqa: E402
from ppfer_core.cli import main  # noqa: E402
from ppfer_core.faces import Detection  # noqa: E402
from ppfer_core.synthetic import render_clip  # noqa: E402

SETTINGS = BundleSettings(**SMALL_BUNDLE)
BOX = (176.0, 60.0, 270.0, 178.0)  # the astronaut's face (YuNet), for stub detectors


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """A bundle holding only the bottleneck: a k = 8 basis of generator landmarks, the 256-px template."""
    d = tmp_path_factory.mktemp("bottleneck")
    lms = [
        render_clip(a, e, 1.0, 8, 32, 0, clip_key=i)[1]
        for a in (1001, 1002, 1003)
        for i, e in enumerate(EMOTIONS)
    ]
    basis = fit_basis(np.stack(lms), synthetic_template(9004, 64, 0).canonical, BasisSettings(k=8))
    basis.save(str(d / "basis.npz"))
    write_bundle(d / "b.pt", SETTINGS, {"bottleneck": BottleneckParts(str(d / "basis.npz"))})
    return d / "b.pt"


@pytest.fixture(scope="module")
def method(bundle):
    return load_bundle(bundle).method("bottleneck")


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def _stub_detector(frame):
    return [Detection(*BOX, 0.9)]


def _core(renderer: FaceRenderer, code, placement, shape) -> np.ndarray:
    """Pixels the paste sets to the template alone (blend weight 1): equal over black and white."""
    black, white = np.zeros(shape, np.uint8), np.full(shape, 255, np.uint8)
    renderer.paste(black, code, placement)
    renderer.paste(white, code, placement)
    return (black == white).all(-1)


def test_face_region_is_a_function_of_the_code(method, astronaut):
    """Two different source images, the same code and placement: the same face pixels; another code
    changes them."""
    renderer = method.renderer(0.1)
    lm = method.landmarks(astronaut, BOX)
    x, placement = method.coder.align(lm[None])
    code = method.coder.code(x[0], method.basis.mu, 1.0)
    core = _core(renderer, code, placement, astronaut.shape)
    assert core.sum() > 3000  # the face, not a few pixels
    noise = np.random.default_rng(0).integers(0, 256, astronaut.shape, dtype=np.uint8)
    a, b = astronaut.copy(), noise.copy()
    renderer.paste(a, code, placement)
    renderer.paste(b, code, placement)
    np.testing.assert_array_equal(a[core], b[core])
    assert (a[core] != astronaut[core]).any(-1).mean() > 0.9
    c = astronaut.copy()
    renderer.paste(c, code + 0.3 * np.eye(len(code))[0], placement)
    assert (c[core] != a[core]).any(-1).sum() > 100


def test_two_faces_with_the_same_landmarks_give_the_same_face(bundle, astronaut, tmp_path):
    """The whole command path (tracking, code, render, paste): two photographs whose faces differ but
    whose landmarks (hence codes and placement) are the same come out with the same face pixels."""
    from PIL import Image

    anonymizer = Anonymizer(load_bundle(bundle), Options(method="bottleneck"), detector=_stub_detector)
    lm = anonymizer.method.landmarks(astronaut, BOX)
    anonymizer.method.landmarks = lambda image, box: lm
    other = astronaut.copy()
    other[40:200, 150:300] = np.random.default_rng(1).integers(0, 256, (160, 150, 3), dtype=np.uint8)
    outs = []
    for name, img in (("a.png", astronaut), ("b.png", other)):
        Image.fromarray(img).save(tmp_path / name)
        r = anonymizer.process(tmp_path / name, tmp_path / "out", progress=False)
        outs.append(np.asarray(Image.open(r.output)))
    x, placement = anonymizer.method.coder.align(lm[None])
    code = anonymizer.method.coder.code(x[0], anonymizer.method.basis.mu, 1.0)
    core = _core(anonymizer.method.renderer(0.1), code, placement, astronaut.shape)
    assert core.sum() > 3000
    np.testing.assert_array_equal(outs[0][core], outs[1][core])


def test_astronaut_output_has_a_face_of_someone_else(bundle, astronaut, tmp_path):
    """YuNet, dlib's landmarks, the code and the template on the real photograph: dlib's HOG detector
    still finds a face in the output, and its face descriptor is >= 0.6 from the source's."""
    import dlib
    from PIL import Image

    from ppfer_core.baselines import dlib_model_file

    Image.fromarray(astronaut).save(tmp_path / "astronaut.png")
    r = Anonymizer(load_bundle(bundle), Options(method="bottleneck")).process(
        tmp_path / "astronaut.png", tmp_path / "out", progress=False
    )
    assert r.faces == 1 and r.fallback_frames == 0
    out = np.asarray(Image.open(r.output).convert("RGB"))
    detector = dlib.get_frontal_face_detector()
    src, found = detector(astronaut, 1), detector(out, 1)
    assert len(found) >= 1
    src, found = (max(rects, key=lambda r: r.area()) for rects in (src, found))
    shape = dlib.shape_predictor(dlib_model_file("shape_predictor_5_face_landmarks.dat"))
    net = dlib.face_recognition_model_v1(dlib_model_file("dlib_face_recognition_resnet_model_v1.dat"))
    d0 = np.asarray(net.compute_face_descriptor(astronaut, shape(astronaut, src)))
    d1 = np.asarray(net.compute_face_descriptor(out, shape(out, found)))
    assert np.linalg.norm(d1 - d0) >= 0.6


def test_video_codes_are_relative_to_the_tracks_neutral_frames(method, astronaut):
    """A track that opens its mouth in its first two frames and is neutral after: the reference is
    taken over the whole track, so the neutral frames code to 0 and the first two do not; a
    photograph of the same face gets the absolute code (against the mean face)."""
    neutral = method.landmarks(astronaut, BOX)
    shapes = [expression_landmarks(neutral, 0.0, 1.0, 0.0)] * 2 + [neutral] * 6
    frames = [np.full((8, 8, 3), i, np.uint8) for i in range(len(shapes))]
    session = method.session(photo=False, feather=0.1)
    method_landmarks = method.landmarks
    method.landmarks = lambda image, box: shapes[int(image[0, 0, 0])]
    try:
        tracks = track_faces(frames, _stub_detector, on_found=session.observe)
        session.prepare(tracks)
        codes = np.stack([session.code(f, i, 0, BOX)[0] for i, f in enumerate(frames)])
        photo = method.session(photo=True, feather=0.1)
        photo.prepare(track_faces(frames[:1], _stub_detector, on_found=photo.observe))
        absolute = photo.code(frames[0], 0, 0, BOX)[0]
    finally:
        method.landmarks = method_landmarks
    np.testing.assert_allclose(codes[2:], 0.0, atol=1e-9)
    assert np.linalg.norm(codes[0]) > 0.1
    x, _ = method.coder.align(shapes[0][None])
    np.testing.assert_allclose(absolute, (x[0] - method.basis.mu) @ method.basis.basis, atol=1e-9)


def test_missing_basis_is_named(tmp_path, bundle):
    """Packing without the basis file names the file; a bundle whose bottleneck lost its basis names
    the bundle and the part."""
    missing = tmp_path / "results/models/bottleneck/basis.npz"
    with pytest.raises(ValueError, match=f"basis file {missing} not found"):
        write_bundle(tmp_path / "x.pt", SETTINGS, {"bottleneck": BottleneckParts(str(missing))})
    assert not (tmp_path / "x.pt").exists()
    obj = torch.load(bundle, weights_only=True)
    del obj["methods"]["bottleneck"]["basis"]
    torch.save(obj, tmp_path / "broken.pt")
    with pytest.raises(BundleError, match=r"broken\.pt: method 'bottleneck': no basis"):
        load_bundle(tmp_path / "broken.pt").method("bottleneck")


def test_list_methods_shows_basis_and_template(bundle, capsys):
    assert main(["anonymize", "--bundle", str(bundle), "--list-methods"]) == 0
    out = capsys.readouterr().out
    for part in (
        "bottleneck: expression-code bottleneck",
        "basis.npz (sha256 ",
        "k=8",
        "synthetic actor 9004",
    ):
        assert part in out
    assert "F_fc not applied" in out


def test_the_plan_accepts_bottleneck_in_anonymize_methods():
    """config anonymize.methods may name the bottleneck beside the design's methods; a misspelt name
    is still refused, with the bottleneck among the known ones."""
    import yaml

    from ppfer_core.design import BOTTLENECK_METHOD, build_plan

    root = Path(__file__).resolve().parents[1]
    design = yaml.safe_load((root / "config" / "design.yaml").read_text())
    config = yaml.safe_load((root / "config.yaml").read_text())
    config["anonymize"] = {**config["anonymize"], "methods": ["ours", BOTTLENECK_METHOD]}
    assert build_plan(design, config).anonymizer == ("ours", BOTTLENECK_METHOD)
    config["anonymize"]["methods"] = ["ours", "botleneck"]
    with pytest.raises(ValueError, match=r"unknown method 'botleneck' \(known: .*bottleneck"):
        build_plan(design, config)


def test_the_bundle_packs_the_basis_at_anonymize_bottleneck_k(tmp_path):
    """anonymize.bottleneck_k picks the bundle's basis: Table 1's (rule fit_basis) at bottleneck.k or
    null, else rule fit_basis_k's at that k, which the workflow then builds for the bundle."""
    import subprocess
    import sys

    import yaml

    from ppfer_core.design import BOTTLENECK_BASIS, RES, anonymizer_basis

    root = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((root / "config.yaml").read_text())
    k = config["bottleneck"]["k"]
    for anon_k, basis in (
        (None, BOTTLENECK_BASIS),
        (k, BOTTLENECK_BASIS),
        (k + 4, f"{RES}/models/bottleneck/k{k + 4}/basis.npz"),
    ):
        assert (
            anonymizer_basis({**config, "anonymize": {**config["anonymize"], "bottleneck_k": anon_k}})
            == basis
        )
    override = tmp_path / "anon.yaml"
    override.write_text(
        yaml.safe_dump({"anonymize": {"methods": ["ours", "bottleneck"], "bottleneck_k": k + 4}})
    )
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-s", str(root / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(root / "config.yaml"), str(override), "--resources", "gpu=1", "--", "results/models/anonymizer.pt"],
        capture_output=True, text=True, cwd=root,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert f"results/models/bottleneck/k{k + 4}/basis.npz" in dry.stdout and "fit_basis_k" in dry.stdout
