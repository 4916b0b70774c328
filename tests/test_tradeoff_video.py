"""Trade-off baseline (issue 12): its utility branch is a video model of F_u's R3D family, built by
the one video builder from models.utility, trained on whole clips with a budget comparable to Ours'."""

import json
import subprocess
import sys
from pathlib import Path

import torch
import yaml
from torch.utils.data import TensorDataset

from ppfer_core.nets import UNet, build_video_classifier
from ppfer_core.tradeoff import (
    anonymise,
    anonymiser_loss,
    build_privacy_encoder,
    privacy_images,
    privacy_loss,
    utility_loss,
)
from ppfer_core.training import Player, make_loader, optimizer, train

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


def test_the_rule_gives_the_tradeoff_the_utility_model(tmp_path):
    """The trade-off's utility branch is F_u's own video model (models.utility: r3d_18 at paper scale,
    frame_cnn on the embedded default), not a 2-D image network."""
    probe = tmp_path / "probe.smk"
    probe.write_text(
        f'include: "{ROOT / "Snakefile"}"\nimport json\n'
        'print("PARAMS" + json.dumps(dict(rules.train_tradeoff.params.items()), default=str))\n'
    )
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "-s",
        str(probe),
        "-d",
        str(tmp_path),
        "--configfile",
        str(ROOT / "config.yaml"),
        "--cores",
        "1",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    params = json.loads(
        next(ln for ln in run.stdout.splitlines() if ln.startswith("PARAMS"))[len("PARAMS") :]
    )
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert params["utility"] == config["models"]["utility"]
    arch = params["utility"]["arch"]
    net = build_video_classifier(arch, 6, None, width=params["utility"]["width"])
    assert net(torch.rand(1, 3, config["ingest"]["frames"], 64, 64)).shape == (1, 6), arch  # a clip model
    # budget: pixels through the anonymiser within a factor 2 of those through Ours' two enhancers
    # (band images of a one-level transform: half the frame side)
    cfg, enh, (h, w) = config["baselines"]["tradeoff"], config["train"]["enhancer"], config["ingest"]["size"]
    tradeoff_px = cfg["epochs"] * cfg["items_per_epoch"] * config["ingest"]["frames"] * h * w
    ours_px = 2 * enh["epochs"] * enh["items_per_epoch"] * (h // 2) * (w // 2)
    assert 0.5 <= tradeoff_px / ours_px <= 2.0, (tradeoff_px, ours_px)


def test_minimax_players_run_on_clips_with_a_video_utility_branch():
    torch.manual_seed(0)
    clips = torch.rand(6, 3, 4, 16, 16)  # [B, 3, T, H, W]
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    anon = UNet(base_width=4, depth=1)
    util = build_video_classifier("r3d_small", 6, None, width=8)
    enc = build_privacy_encoder("resnet18")
    a = anonymise(anon, clips)
    assert a.shape == clips.shape and privacy_images(a).shape == (6, 3, 16, 16)
    players = [
        Player(
            "anonymiser",
            [anon],
            optimizer(anon.parameters(), "adam", 1e-3),
            anonymiser_loss(anon, util, enc, 1.0, 0.5),
        ),
        Player("utility", [util], optimizer(util.parameters(), "adam", 1e-3), utility_loss(anon, util)),
        Player("privacy", [enc], optimizer(enc.parameters(), "adam", 1e-3), privacy_loss(anon, enc, 0.5)),
    ]
    before = [p.detach().clone() for p in util.parameters()]
    result = train(
        players, make_loader(TensorDataset(clips, y), 3, True, 0, CPU), 1, CPU, 0, log=lambda s: None
    )
    row = result.history[-1]
    assert {"anonymiser_loss", "utility_loss", "privacy_loss", "utility_acc"} <= set(row)
    assert any(not torch.equal(b, p) for b, p in zip(before, util.parameters()))
