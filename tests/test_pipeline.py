"""The privacy pipeline is one path: the DAG's representation (rule scripts merge_enhanced, then
F_fc on G as train_compensator writes C, and openset_apply_closed) equals the anonymiser bundle's
output for the same clips and the same weights."""

from __future__ import annotations

import logging
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ppfer_core import wavelet
from ppfer_core.arrays import load_clips, write_representation
from ppfer_core.bundle import BundleSettings, load_bundle, write_bundle
from ppfer_core.pipeline import PrivacyPipeline
from ppfer_core.registry import create_model
from ppfer_core.training import save_weights

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow_scripts"
UNET = {"base_width": 4, "depth": 2}
UVIT = {"patch": 4, "dim": 16, "depth": 1, "heads": 2, "weights": None}
WAVELET = {"name": "haar", "level": 2}
SIZE = (32, 32)
SETTINGS = BundleSettings(
    size=SIZE,
    frames=5,
    wavelet=WAVELET["name"],
    level=WAVELET["level"],
    face_margin=0.25,
    unet=UNET,
    uvit={k: v for k, v in UVIT.items() if k != "weights"},
    utility={"arch": "frame_cnn", "width": 8},
    labels=("a", "b", "c"),
)


def _run_script(name: str, tmp: Path, params: dict, inputs: dict, outputs: dict) -> None:
    """Run a rule script as Snakemake does, with a stand-in ``snakemake`` object."""
    sm = SimpleNamespace(
        log=[str(tmp / f"{name}.log")],
        config={"seed": 0, "device": "cpu", "cpu_dtype": "float32", "workers": 0},
        params=SimpleNamespace(seed=0, **params),
        input=SimpleNamespace(**inputs),
        output=SimpleNamespace(**outputs),
        threads=1,
        rule=name,
        wildcards={},
    )
    out, err, threads = sys.stdout, sys.stderr, torch.get_num_threads()
    try:
        runpy.run_path(str(SCRIPTS / f"{name}.py"), init_globals={"snakemake": sm})
    finally:
        sys.stdout, sys.stderr = out, err
        logging.captureWarnings(False)
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def method_files(tmp_path_factory):
    """Random F_lpr, F_hpr, F_fc written as the DAG's weight files, the same weights as a bundle, and clips."""
    d = tmp_path_factory.mktemp("pipeline")
    torch.manual_seed(0)
    files = {"enhancer_low": d / "enhancer_low.pt", "enhancer_high": d / "enhancer_high.pt"}
    for f in files.values():
        save_weights(create_model("unet", "unet", settings=UNET), f)
    files["compensator"] = d / "compensator.pt"
    save_weights(create_model("compensator", "uvit", settings=UVIT, img_size=SIZE[0]), files["compensator"])
    write_bundle(d / "anonymizer.pt", SETTINGS, {"ours": {k: str(v) for k, v in files.items()}})
    clips = np.random.default_rng(0).integers(0, 256, (2, 5, *SIZE, 3), dtype=np.uint8)
    np.save(d / "clips.npy", clips)
    return d, files, clips


def test_bundle_output_equals_the_dags_representation(method_files):
    d, files, clips = method_files
    low, highs = wavelet.clips_to_bands(clips, WAVELET["name"], WAVELET["level"])
    bands = [d / "low.npy"] + [d / f"high_{k + 1}.npy" for k in range(len(highs))]
    for path, arr in zip(bands, [low, *highs], strict=True):
        np.save(path, arr)
    _run_script(
        "merge_enhanced",
        d,
        {"unet": UNET, "wavelet": WAVELET, "size": list(SIZE)},
        {
            "low": str(files["enhancer_low"]),
            "high": str(files["enhancer_high"]),
            "bands": [str(b) for b in bands],
        },
        {"clips": str(d / "G.npy")},
    )
    g = load_clips(d / "G.npy")
    # train_compensator writes C = F_fc(G) with write_representation(compensator, ...)
    compensator = create_model(
        "compensator", "uvit", settings=UVIT, img_size=SIZE[0], weights=files["compensator"]
    ).eval()
    write_representation(compensator, torch.device("cpu"), [g], [str(d / "C.npy")])
    dag_c = load_clips(d / "C.npy")
    method = load_bundle(d / "anonymizer.pt").method()
    flat = clips.reshape(-1, *clips.shape[2:])
    bundle_c = method.transform(flat).reshape(clips.shape)
    np.testing.assert_array_equal(bundle_c, dag_c)
    no_fc = PrivacyPipeline.from_bundle(d / "anonymizer.pt")
    no_fc.compensator = None
    np.testing.assert_array_equal(no_fc.transform(flat).reshape(clips.shape), g)


def test_apply_closed_equals_the_bundle(method_files):
    d, files, clips = method_files
    _run_script(
        "apply_closed",
        d,
        {"unet": UNET, "uvit": UVIT, "wavelet": WAVELET},
        {
            "low": str(files["enhancer_low"]),
            "high": str(files["enhancer_high"]),
            "compensator": str(files["compensator"]),
            "train": str(d / "clips.npy"),
            "test": str(d / "clips.npy"),
        },
        {"train": str(d / "closed_train.npy"), "test": str(d / "closed_test.npy")},
    )
    bundle_c = PrivacyPipeline.from_bundle(load_bundle(d / "anonymizer.pt")).transform(
        clips.reshape(-1, *clips.shape[2:])
    )
    np.testing.assert_array_equal(load_clips(d / "closed_test.npy"), bundle_c.reshape(clips.shape))


def test_pipeline_quantises_g_between_the_stages(method_files):
    _, files, clips = method_files
    pipe = PrivacyPipeline.from_files(
        UNET,
        files["enhancer_low"],
        files["enhancer_high"],
        WAVELET,
        SIZE,
        compensator=(UVIT, files["compensator"]),
    )
    x = torch.from_numpy(clips[0]).permute(0, 3, 1, 2).float() / 255.0
    g = pipe.enhance(x)
    assert torch.equal(g * 255.0, (g * 255.0).round())  # on the uint8 grid, as G is stored
    with torch.no_grad():
        assert torch.equal(pipe(x), pipe.compensator(g).float())
    with pytest.raises(ValueError, match="32 x 32"):
        pipe.transform(np.zeros((1, 16, 16, 3), np.uint8))
