"""The independent validator (issue 26, item 3): it shares no architecture, weights or training run with
any network a method was trained against (V_pl and its fine-tunes C_lpr / C_hpr, C_fc, the adversaries),
a config that would make it so is rejected when the workflow is parsed, the one leakage scoring reads
both the validator (the PLR column) and V_pl (beside it), and Gaussian Blur 1 is matched on plr_worst's
validation figure, never on a test metric."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from workflow_facts import merged

from ppfer_core.baselines import MATCH_ACC, MATCH_PLR
from ppfer_core.blur_match import blur_match_plr, resolve_table1_rows
from ppfer_core.evaluation import LeakageScorers, score_leakage
from ppfer_core.registry import create_model
from ppfer_core.suite import worst_on_validation
from ppfer_core.tables import table1, table4, vpl_plr
from ppfer_core.validator import (
    ADVERSARY_ARCHS,
    arch_family,
    check_independent,
    check_validator_inputs,
    checkpoint_inputs,
    related,
)

ROOT = Path(__file__).resolve().parents[1]


CONFIGS = [(), ("config/tiny.yaml",), ("config/paper.yaml",), ("config/paper_smoke.yaml",)]


@pytest.mark.parametrize("files", CONFIGS)
def test_every_shipped_config_has_a_validator_of_another_family(files):
    """The build recipe: the validator's timm module (its architecture family) differs from V_pl's
    (also C_lpr / C_hpr's), C_fc's and the adversaries' small_cnn; no initialisation is shared."""
    import timm

    cfg = merged(*files)
    spec = check_independent(cfg)
    v, ident = cfg["models"]["validator"], cfg["models"]["identity"]
    module = timm.models.model_entrypoint(v["arch"]).__module__
    assert module != timm.models.model_entrypoint(ident["arch"]).__module__
    assert not any(
        related(arch_family(v["arch"]), arch_family(a)) for a in (ident["arch"], *spec.other_archs)
    )
    assert not v["weights"] or v["weights"] != ident["weights"]
    assert cfg["train"]["validator"]["seed"] != cfg["seed"]  # its own training run


def test_arch_family_groups_sizes_and_variants():
    assert arch_family("resnet18") == arch_family("resnet50") == arch_family("test_resnet") == "resnet"
    assert arch_family("mobilenetv3_small_100") == "mobilenetv3"
    assert arch_family("efficientnet_b0") == "efficientnet" and arch_family("convnext_atto") == "convnext"
    assert arch_family("small_cnn") == "small_cnn" and "small_cnn" in ADVERSARY_ARCHS


@pytest.mark.parametrize(
    "validator,needle",
    [
        ({"arch": "resnet34", "weights": None}, "'resnet' family, as models.identity"),
        ({"arch": "seresnet18", "weights": None}, "'seresnet' family, as models.identity"),
        ({"arch": "small_cnn", "weights": None}, "'small_cnn' family"),
        ({"arch": "mobilenetv3_small_100", "weights": "results/models/identity.pt"}, "workflow checkpoint"),
        (
            {"arch": "mobilenetv3_small_100", "weights": "results/models/controller_low.pt"},
            "workflow checkpoint",
        ),
    ],
)
def test_a_validator_sharing_arch_or_weights_is_rejected(validator, needle):
    cfg = merged()
    cfg["models"]["validator"] = validator
    with pytest.raises(ValueError, match="models.validator") as err:
        check_independent(cfg)
    assert needle in str(err.value)


def test_validator_weights_equal_to_vpl_initialisation_are_rejected(tmp_path):
    cfg = merged()
    w = str(tmp_path / "resnet.pth")
    cfg["models"]["identity"]["weights"] = w
    cfg["models"]["validator"] = {"arch": "efficientnet_b0", "weights": w}
    with pytest.raises(ValueError, match="models.identity.weights"):
        check_independent(cfg)


@pytest.mark.parametrize(
    "override,needle",
    [
        ("models:\n  validator: {arch: resnet18, weights: null}\n", "'resnet' family"),
        (
            "models:\n  validator: {arch: mobilenetv3_small_100, weights: results/models/identity.pt}\n",
            "workflow checkpoint",
        ),
    ],
)
def test_the_workflow_refuses_a_dependent_validator_at_parse_time(tmp_path, override, needle):
    bad = tmp_path / "bad.yaml"
    bad.write_text(override)
    cmd = [sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path)]
    cmd += ["--configfile", str(ROOT / "config.yaml"), str(bad), "--cores", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "models.validator" in out and needle in out, out[-2000:]
    assert not (tmp_path / "results").exists()


def test_the_validator_rule_may_read_no_checkpoint_of_the_workflow():
    rules = {
        "train_identity": (["results/data/cremad/train.npy"], ["results/models/identity.pt"]),
        "train_controller": (["results/models/identity.pt"], ["results/models/controller_{band}.pt"]),
        "train_validator": (["results/data/cremad/train.npy", "results/data/cremad/index.parquet"], []),
    }
    assert checkpoint_inputs(rules, "train_validator") == []
    check_validator_inputs(rules)
    rules["train_validator"][0].append("results/models/controller_low.pt")
    assert checkpoint_inputs(rules, "train_validator") == ["results/models/controller_low.pt"]
    with pytest.raises(ValueError, match="train_validator reads results/models/controller_low.pt"):
        check_validator_inputs(rules)


def test_the_validator_shares_no_parameter_with_vpl_or_the_adversaries():
    """No parameter of the built validator has a name and shape of V_pl's (so of C_lpr / C_hpr's, its
    fine-tunes) or of the adversaries' small_cnn: no weights could be carried over between them."""
    cfg = merged()
    validator = create_model("image", cfg["models"]["validator"]["arch"], num_classes=18, weights=None)
    own = {(k, tuple(v.shape)) for k, v in validator.named_parameters()}
    for arch in (cfg["models"]["identity"]["arch"], *ADVERSARY_ARCHS):
        other = create_model("image", arch, num_classes=18, weights=None)
        shared = own & {(k, tuple(v.shape)) for k, v in other.named_parameters()}
        assert not shared, (arch, sorted(shared)[:5])


# --------------------------------------------------------------------------------------------- scoring


class Fixed(nn.Module):
    """Predicts identity ``k`` for every frame (a stand-in classifier)."""

    def __init__(self, k: int, n: int):
        super().__init__()
        self.k, self.n, self.w = k, n, nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(x), self.n)
        out[:, self.k] = 1.0
        return out + self.w


def test_one_leakage_scoring_reads_the_validator_and_vpl():
    clips = np.zeros((4, 2, 8, 8, 3), dtype=np.uint8)
    ids = np.array([0, 0, 0, 1])
    m = score_leakage(LeakageScorers(Fixed(1, 3), Fixed(0, 3)), clips, ids, 3, 0, torch.device("cpu"))
    assert m["scorer"] == "validator" and m["plr"] == 25.0 and m["hits"] == [0, 0, 0, 1]
    assert m["vpl"]["plr"] == 75.0 and m["vpl"]["hits"] == [1, 1, 1, 0]
    assert vpl_plr(m) == 75.0
    with pytest.raises(KeyError, match="'vpl'"):
        vpl_plr({"rep": "ours", "plr": 1.0})


def _leak(plr, vpl):
    return {"plr": plr, "chance": 10.0, "correct": 1, "n": 4, "vpl": {"plr": vpl}}


def test_tables_keep_vpl_beside_the_validator():
    leakage, utility = {"ours": _leak(20.0, 5.0)}, {"ours": {"acc": 60.0}}
    t1 = table1([("Ours", "ours")], leakage, utility)
    assert list(t1.columns[:5]) == ["approach", "plr", "plr_vpl", "acc", "chance"]
    assert (t1["plr"].iloc[0], t1["plr_vpl"].iloc[0]) == (20.0, 5.0)
    spec = dict(
        transform=1, enhancers=1, controller=1, compensator=1, compensator_controller=1, task=5, rep="ours"
    )
    t4 = table4([spec], leakage, utility)
    assert (t4["plr"].iloc[0], t4["plr_vpl"].iloc[0]) == (20.0, 5.0)


# --------------------------------------------------------------------------------------------- blur matching

SIGMAS = {"blur-s1": 1.0, "blur-s2": 2.0, "blur-s4": 4.0}


def test_blur_1_is_matched_on_the_validation_figure_not_on_test():
    """On test, Ours leaks 10 % and blur-s4 is the nearest above; on the validation slice that chose
    plr_worst, Ours leaks 55 % and blur-s2 (60 %) is: the match follows validation."""
    leakage = {"ours": _leak(10.0, 5.0)} | {
        r: _leak(t, t) for r, t in zip(SIGMAS, (90.0, 40.0, 12.0))
    }  # test PLRs
    val = {"ours": 55.0, "blur-s1": 95.0, "blur-s2": 60.0, "blur-s4": 20.0}
    utility = {r: {"acc": a, "val_acc": a} for r, a in zip([*SIGMAS, "ours"], (80.0, 60.0, 40.0, 70.0))}
    rows = [("Gaussian Blur 1", MATCH_PLR), ("Gaussian Blur 2", MATCH_ACC), ("Ours", "ours")]
    figure = blur_match_plr("plr_worst", ["ours", *SIGMAS], leakage, lambda r: ("plr_scratch", val[r]))
    assert figure == val
    resolved, settings, sweep = resolve_table1_rows(
        rows, leakage, utility, SIGMAS, match_plr=figure, match_label="validation"
    )
    assert resolved[0] == ("Gaussian Blur 1", "blur-s2")
    assert settings["Gaussian Blur 1"] == "sigma=2; PLR matched on validation"
    assert list(sweep["match_plr"]) == [95.0, 60.0, 20.0] and list(sweep["plr"]) == [90.0, 40.0, 12.0]
    paper = blur_match_plr("vpl", ["ours", *SIGMAS], leakage, lambda r: pytest.fail("no suite read"))
    assert resolve_table1_rows(rows, leakage, utility, SIGMAS, match_plr=paper)[0][0] == (
        "Gaussian Blur 1",
        "blur-s4",
    )
    with pytest.raises(ValueError, match="baselines.blur.match"):
        blur_match_plr("test", ["ours"], leakage, lambda r: ("", 0.0))


def _record(val_correct, correct, **extra):
    hits = [1] * correct + [0] * (10 - correct)
    return {
        "correct": correct,
        "n": 10,
        "hits": hits,
        "val_correct": val_correct,
        "val_n": 5,
        "status": "converged",
        **extra,
    }


def test_worst_on_validation_reports_the_chosen_attackers_validation_rate():
    """The attacker is the one best on validation (scratch, 4/5), reported at its validation rate (80 %),
    although another attacker (clip) has the higher test rate."""
    vote = dict(correct_vote=0, hits_vote=[0] * 10, val_correct_vote=0)
    metrics = {
        "frames": {
            "ours": {
                "validator": _record(5, 9, **vote),  # V_pl: never selectable
                "scratch": _record(4, 3, **vote),
            }
        },
        "adaptive": {"ours": _record(1, 2, **vote)},
        "clip": {"ours": _record(2, 8)},
    }
    assert worst_on_validation("ours", metrics) == ("plr_scratch", 80.0)
