"""The paper's shapes, run once on CPU (issue 12): config/paper.yaml's models and shapes with tiny
data and one optimiser step per training (config/paper_smoke.yaml), through the method's PLR and ACC.

Marked slow: it trains the ~500 M-parameter U-ViT-H compensator for a step and runs it over every
frame of G (docs/running.md "Paper-shape smoke run" gives its run time and peak memory). The rules past
Tables 1-2 (Table 3's recovery U-Nets, Table 4's three more U-ViT-H compensators and joint trainings,
the report) are left out: each further U-ViT-H job costs as much as the one kept, and none adds a
model or shape. Run in CI (about 6.5 min on 2 cores, 10.4 GB peak); skipped on a machine with less than
12 GiB of available memory. Build the data tree alone with ``python tests/test_paper_smoke.py DIR``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd  # noqa: F401
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixtures_video import cremad_real_clip, encode_flv, make_dfew_folds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [ROOT / "config.yaml", ROOT / "config" / "paper.yaml", ROOT / "config" / "paper_smoke.yaml"]
# two actors x one emotion x two sentences: 4 clips (2 train, 2 test), 16 frames each after ingest
CLIPS = ["1001_DFA_ANG_XX", "1001_IEO_ANG_HI", "1002_DFA_ANG_XX", "1002_ITS_ANG_XX"]
# the paper's method end to end (every paper-scale model: ResNet-50 V_pl / controllers / C_fc, the
# 64..1024 U-Nets, U-ViT-H, R3D-18), scored by the generic evaluation path; Table 1 itself now also
# needs the attack suite and "Ours (robust)" (more U-ViT-H and U-Net trainings), left out here
TARGETS = ["results/metrics/leakage/ours.json", "results/metrics/utility/ours.json"]
# It needs about 10.5 GB (the U-ViT-H job: weights, gradients and Adam's two states); a machine with
# less available memory skips it, saying so. Measured on the 2-core CI-sized machine: 6 min 33 s wall.
NEEDED_GIB = 12


def available_gib() -> float:
    """MemAvailable of /proc/meminfo in GiB (inf where there is no /proc, so the test runs)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("inf")


ENOUGH_MEMORY = pytest.mark.skipif(
    available_gib() < NEEDED_GIB,
    reason=f"the paper-shape smoke run needs about {NEEDED_GIB} GiB of available memory "
    f"({available_gib():.1f} GiB here): its U-ViT-H training step alone takes 9.9 GB",
)


def make_tree(root: Path) -> Path:
    """CREMA-D-form FLVs (480 x 360, face off-centre, 20 frames) and a 10-clip DFEW-form layout."""
    for k, stem in enumerate(CLIPS):
        frames, _ = cremad_real_clip(
            int(stem[:4]), stem.split("_")[2], n_frames=20, face_xy=(260 + 10 * k, 100), seed=k
        )
        encode_flv(root / "data" / "CREMA-D" / "VideoFlash" / f"{stem}.flv", frames)
    make_dfew_folds(root / "data" / "DFEW", n_clips=10, size=(112, 112), n_frames=4)
    return root


def command(workdir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(workdir),
        "--configfile",
        *map(str, CONFIGS),
        "--cores",
        "2",
        *extra,
        *TARGETS,
    ]


@pytest.mark.slow
@ENOUGH_MEMORY
def test_paper_shapes_run_through_the_method(tmp_path):
    pytest.importorskip("cv2", reason='face crops need the faces extra (pip install -e ".[faces]")')
    pytest.importorskip("dlib", reason='the swap donor needs the faces extra (pip install -e ".[faces]")')
    work = make_tree(tmp_path)
    run = subprocess.run(command(work), capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, run.stderr[-5000:]
    leakage, utility = (json.loads((work / t).read_text()) for t in TARGETS)
    assert 0 <= leakage["plr"] <= 100 and 0 <= utility["acc"] <= 100
    # the paper's shapes: 16 x 112 x 112 face crops of 480 x 360 input
    train = np.load(work / "results/data/cremad/train.npy", mmap_mode="r")
    assert train.shape[1:] == (16, 112, 112, 3)
    index = pd.read_parquet(work / "results/data/cremad/index.parquet")
    assert (index["box_x1"] <= 480).all() and (
        index["box_x1"] - index["box_x0"] < 360
    ).all()  # a face box, not the frame

    # and its models: ResNet-50 V_pl and controllers, U-ViT-H, R3D-18, the 64..1024 U-Net
    def sd(rel):
        return torch.load(work / "results/models" / rel, map_location="cpu", weights_only=True)

    for rel in ("identity.pt", "controller_low.pt", "controller_high.pt", "expression.pt"):
        assert any(k.endswith("layer4.2.conv3.weight") for k in sd(rel)), rel  # ResNet-50's bottleneck
    uvit = sd("compensator/ours.pt")
    assert sum(v.numel() for v in uvit.values()) > 490e6 and uvit["pos_embed"].shape[-1] == 1152
    assert any(k.endswith("layer4.1.conv2.0.weight") for k in sd("utility/ours.pt"))  # torchvision R3D-18
    assert max(v.shape[0] for v in sd("enhancer_low.pt").values() if v.ndim == 4) == 1024


if __name__ == "__main__":
    print(make_tree(Path(sys.argv[1])))
