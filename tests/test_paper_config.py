"""Paper-scale correctness of the configuration (issue 12): config/paper.yaml merged over config.yaml
exactly as Snakemake merges --configfile, and the blur sweep it plans at 112 px."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from snakemake.utils import validate
from workflow_facts import merged, planning

blur_sweep = planning.blur_sweep

REPO = Path(__file__).resolve().parents[1]


# The paper run's effective budget of every training stage: (epochs, batch, lr, items per epoch).
# None items = one pass over every item (the embedded default's CPU caps must not survive the merge).
PAPER_TRAINING = {
    ("train", "identity"): (20, 128, 1e-4, None),
    ("train", "validator"): (
        40,
        128,
        1e-3,
        None,
    ),  # the independent validator (not the paper's; from scratch)
    ("train", "controller"): (10, 128, 1e-4, None),
    ("train", "enhancer_pretrain"): (10, 32, 1e-5, None),
    ("train", "enhancer"): (50, 256, 1e-4, None),
    ("train", "expression"): (100, 64, 1e-4, None),
    ("train", "compensator"): (20, 64, 1e-4, None),
    ("train", "utility"): (50, 32, 1e-4, None),
    ("train", "joint"): (50, 16, 1e-4, None),
    ("threat", "recovery"): (10, 32, 1e-4, None),
    ("threat", "adaptive"): (5, 128, 1e-4, None),
    ("baselines", "tradeoff"): (50, 16, 1e-4, None),
}


@pytest.mark.parametrize("section,stage", sorted(PAPER_TRAINING))
def test_paper_config_effective_training_budgets(section, stage):
    cfg = merged("config/paper.yaml")[section][stage]
    epochs, batch, lr, items = PAPER_TRAINING[section, stage]
    assert (cfg["epochs"], cfg["batch_size"], cfg.get("optimizer", "adam")) == (epochs, batch, "adam"), cfg
    assert cfg["lr"] == pytest.approx(lr), cfg
    assert cfg.get("items_per_epoch", None) is items, (
        f"{section}.{stage}.items_per_epoch: {cfg.get('items_per_epoch')}"
    )


def test_paper_compensator_runs_its_budget_and_keeps_its_best_validation_epoch():
    """Issue 30: the default's F_fc stops on its plateau; the paper's runs all 20 epochs at a constant lr."""
    cfg = merged("config/paper.yaml")["train"]["compensator"]
    assert cfg["patience"] >= cfg["epochs"] and cfg["lr_patience"] >= cfg["epochs"], cfg
    assert 0 < cfg["val_fraction"] <= 0.5


def test_every_paper_training_stage_is_in_the_table():
    cfg = merged("config/paper.yaml")
    stages = {("train", k) for k in cfg["train"]} | {("threat", "recovery"), ("threat", "adaptive")}
    assert stages | {("baselines", "tradeoff")} == set(PAPER_TRAINING)


def test_paper_config_models_and_shapes():
    cfg = merged("config/paper.yaml")
    assert (
        cfg["ingest"]["frames"] == 16
        and cfg["ingest"]["size"] == [112, 112]
        and cfg["ingest"]["crop"] == "face"
    )
    assert cfg["models"]["identity"]["arch"] == cfg["models"]["expression"]["arch"] == "resnet50"
    assert cfg["models"]["utility"]["arch"] == "r3d_18"
    assert (cfg["models"]["uvit"]["dim"], cfg["models"]["uvit"]["depth"], cfg["models"]["uvit"]["heads"]) == (
        1152,
        28,
        16,
    )
    assert cfg["baselines"]["swap"]["donor_image"] is None and cfg["data"]["source"] == "real"


def test_pretraining_comment_matches_its_value():
    text = (REPO / "config" / "paper.yaml").read_text()
    comment = text[text.index("# The authors' code") : text.index("\ntrain:")]
    assert "pretraining Adam lr 1e-5" in comment
    assert merged("config/paper.yaml")["train"]["enhancer_pretrain"]["lr"] == pytest.approx(1e-5)


def test_items_per_epoch_null_is_valid_and_zero_is_named():
    cfg = merged()
    cfg["train"]["identity"]["items_per_epoch"] = None
    validate(copy.deepcopy(cfg), str(REPO / "schemas" / "config.schema.yaml"))
    cfg["train"]["identity"]["items_per_epoch"] = 0
    with pytest.raises(Exception, match="items_per_epoch|minimum"):
        validate(cfg, str(REPO / "schemas" / "config.schema.yaml"))


def test_items_per_epoch_none_is_one_pass_over_every_item():
    import torch
    from torch.utils.data import TensorDataset

    from ppfer_core.training import make_loader

    data = TensorDataset(torch.arange(100))
    loader = make_loader(data, 7, True, 0, torch.device("cpu"), 0, None)
    seen = torch.cat([b[0] for b in loader])
    assert sorted(seen.tolist()) == list(range(100))


# ------------------------------------------------------------------------------ blur sweep scale


def test_blur_sweep_scales_with_the_frame_and_is_dense_at_112_px():
    paper = merged("config/paper.yaml")
    sweep = blur_sweep(paper["baselines"]["blur"]["sigmas"], paper["ingest"]["size"])
    px = np.array(sorted(sweep.values()))
    assert len(px) >= 10, px
    assert px[0] <= 1.5 and px[-1] >= 28, px  # the 64-px sweep's 1..16 px range, scaled to 112 px and beyond
    assert (px[1:] / px[:-1]).max() <= 1.5, px  # no gap wider than a factor 1.5
    default = merged()
    small = blur_sweep(default["baselines"]["blur"]["sigmas"], default["ingest"]["size"])
    assert sorted(small.values()) == [1.0, 2.0, 4.0, 8.0, 16.0] and "blur-s4" in small
    assert blur_sweep([0.0625], [112, 112]) == {"blur-s7": 7.0}


def test_blur_sweep_rejects_pixel_sigmas_naming_the_key():
    with pytest.raises(ValueError, match="baselines.blur.sigmas"):
        blur_sweep([4], [64, 64])
    cfg = merged()
    cfg["baselines"]["blur"]["sigmas"] = [1, 4, 16]
    with pytest.raises(Exception, match="sigmas|maximum"):
        validate(cfg, str(REPO / "schemas" / "config.schema.yaml"))


def test_blur_matching_fallback_is_logged():
    from ppfer_core.baselines import MATCH_ACC, MATCH_PLR
    from ppfer_core.blur_match import resolve_table1_rows

    leakage = {"blur-s1": {"plr": 90.0}, "blur-s2": {"plr": 60.0}, "ours": {"plr": 95.0}}
    utility = {r: {"acc": a, "val_acc": a} for r, a in (("blur-s1", 60.0), ("blur-s2", 50.0), ("ours", 70.0))}
    lines: list[str] = []
    rows = [("Gaussian Blur 1", MATCH_PLR), ("Gaussian Blur 2", MATCH_ACC), ("Ours", "ours")]
    resolve_table1_rows(rows, leakage, utility, {"blur-s1": 1.0, "blur-s2": 2.0}, log=lines.append)
    assert (
        len(lines) == 1 and "Gaussian Blur 1" in lines[0] and "nearest" in lines[0] and "sigma=1" in lines[0]
    )


def test_paper_settings_inherit_nothing_from_the_cpu_default():
    """Every model and training entry config/paper.yaml writes is the whole entry after the merge:
    no CPU-sized key of config.yaml (a frame mode, an augmentation, a weight decay, a per-epoch cap)
    slips into a paper-scale run unseen."""
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg = merged("config/paper.yaml")
    entries = [("models", k) for k in paper["models"]] + [("train", k) for k in paper["train"]]
    entries += [("openset", "train", k) for k in paper["openset"]["train"]]
    inherited = {}
    for path in entries:
        own, got, default = paper, cfg, base
        for key in path:
            own, got, default = own[key], got[key], default.get(key, {})
        ignored = {"width"} if got.get("arch") != "small_cnn" else set()  # small_cnn's width only
        extra = (set(got) - set(own) - ignored) & set(default)  # not the schema's defaults
        if extra:
            inherited[".".join(path)] = sorted(extra)
    assert not inherited, f"paper entries inheriting config.yaml keys: {inherited}"
