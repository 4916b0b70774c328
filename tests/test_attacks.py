"""The attack suite (ppfer_core.attacks) and the robust sweep's table and figure (ppfer_core.sweep; the
robust enhancers themselves: tests/test_robust.py). Each test takes a few seconds on one thread."""

import numpy as np
import pandas as pd
import pytest
import torch
from test_threat import one_thread  # noqa: F401  (autouse: tiny models, one thread)

from ppfer_core.attacks import (
    Convergence,
    build_small_cnn,
    clip_attack,
    frame_attack,
    score_frames,
    validation_split,
    vote,
)
from ppfer_core.nets import build_video_classifier
from ppfer_core.stats import actor_bootstrap
from ppfer_core.suite import Leak, append_suite_columns, worst_case
from ppfer_core.training import Run

CPU = torch.device("cpu")


def QUIET(_: str) -> None:
    """A log function that drops its message."""


def identity_clips(labels, seed, t=3, size=16):
    """uint8 clips whose identity is a colour patch in a corner (identity cue) plus noise."""
    rng = np.random.default_rng(seed)
    colours = np.array([[230, 30, 30], [30, 230, 30], [30, 30, 230], [230, 230, 30]], dtype=np.uint8)
    x = rng.integers(60, 120, size=(len(labels), t, size, size, 3)).astype(np.uint8)
    x[:, :, size // 8 : size // 2, size // 8 : size // 2] = colours[labels][:, None, None, None, :]
    return x


# --------------------------------------------------------------------------------------------- scoring


def test_vote_takes_the_majority_and_breaks_ties_by_probability():
    logits = np.zeros((2, 3, 3), dtype=np.float32)
    logits[0, 0, 1] = logits[0, 1, 1] = 5.0  # two frames say 1
    logits[0, 2, 2] = 50.0  # one very sure frame says 2
    logits[1, 0, 0], logits[1, 1, 2], logits[1, 2] = (
        1.0,
        3.0,
        [0.0, 0.0, 0.0],
    )  # tie 0 / 2 / (0,1,2 -> 0): 2 votes for 0
    logits[1, 2, 0] = 0.5
    assert list(vote(logits)) == [1, 0]
    tie = np.zeros((1, 2, 2), dtype=np.float32)
    tie[0, 0, 0], tie[0, 1, 1] = 1.0, 3.0  # one vote each: the surer frame wins
    assert list(vote(tie)) == [1]


def test_score_frames_uses_the_validators_random_frame_and_voting():
    from ppfer_core.evaluation import leakage_frames

    n, t, c = 20, 4, 3
    y = np.arange(n) % c
    logits = np.zeros((n, t, c), dtype=np.float32)
    logits[np.arange(n), :, y] = 1.0  # every frame right ...
    frames = leakage_frames(n, t, 7)
    logits[np.arange(n), frames, (y + 1) % c] = 5.0  # ... except the one V_pl would look at
    m = score_frames(logits, y, 7)
    assert (
        m["plr"] == 0.0 and m["plr_vote"] == 100.0 and m["n"] == n and m["chance"] == pytest.approx(100 / 3)
    )


ACTORS10 = [f"a{i // 2}" for i in range(10)]  # 10 test clips of 5 actors


def _hits(c: int, n: int = 10) -> tuple[int, ...]:
    return tuple([1] * c + [0] * (n - c))


def test_worst_case_is_chosen_on_validation_and_reported_on_test():
    """Issue 26: the scratch CNN is best on validation, the clip attacker (and V_pl, not selectable) on
    test: plr_worst is the scratch CNN's TEST rate; plr_max_test keeps the optimistic maximum."""
    leaks = [
        Leak("plr", 9, 10, _hits(9), 10, 10, None, False),  # V_pl: optimistic validation, never chosen
        Leak("plr_scratch", 4, 10, _hits(4), 8, 10, "budget", True),
        Leak("plr_clip", 7, 10, _hits(7), 5, 10, "converged", True),
    ]
    w = worst_case("r", leaks, ACTORS10)
    assert w["plr_worst"] == 40.0 and w["worst_attacker"] == "plr_scratch" and w["worst_status"] == "budget"
    assert w["plr_max_test"] == 90.0 and w["max_test_attacker"] == "plr"
    ci = actor_bootstrap(_hits(4), ACTORS10)
    assert (w["plr_worst_lo"], w["plr_worst_hi"]) == (round(ci.lo, 3), round(ci.hi, 3))
    assert w["plr"] == 90.0 and w["plr_clip"] == 70.0


def test_suite_columns_join_tables_by_representation():
    def rec(c, val, **k):
        return (
            {"correct": c, "correct_vote": c + 1, "n": 10, "hits": _hits(c), "hits_vote": _hits(c + 1)}
            | {
                "val_correct": val,
                "val_correct_vote": val,
                "val_n": 10,
            }
            | k
        )

    def frames(c):
        return {
            "validator": rec(c, 9),
            "scratch": rec(c, 2, train_acc=1.0, status="converged"),
            "recovered": rec(c, 0),
        }

    metrics = {
        "frames": {"a": frames(1), "b": frames(8)},
        "adaptive": {r: rec(2, 3, train_acc=0.99, status="budget") for r in "ab"},
        "clip": {r: rec(5, 1, train_acc=0.5, status="converged", val_correct_vote=None) for r in "ab"},
    }
    t = pd.DataFrame({"approach": ["A", "B"], "plr": [10.0, 80.0], "representation": ["a", "b"]})
    out = append_suite_columns(t, metrics, ACTORS10)
    assert list(out["plr"]) == [10.0, 80.0]  # existing columns keep their meaning
    # the adaptive attacker is best on validation (3 of 10; V_pl's 9 is not eligible); its TEST rate is reported
    assert list(out["plr_worst"]) == [20.0, 20.0] and list(out["worst_attacker"]) == ["plr_adaptive"] * 2
    assert list(out["worst_status"]) == ["budget"] * 2 and list(out["status_clip"]) == ["converged"] * 2
    assert list(out["plr_max_test"]) == [50.0, 90.0]
    assert list(out["train_acc_clip"]) == [50.0, 50.0]


# --------------------------------------------------------------------------------------------- attackers


def test_validation_slice_comes_from_the_train_split_per_identity():
    y = np.repeat(np.arange(4), 10)
    fit, val = validation_split(y, 0.2, seed=0)
    assert len(np.intersect1d(fit, val)) == 0 and sorted(np.concatenate([fit, val])) == list(range(40))
    assert all((y[val] == c).sum() == 2 for c in range(4))
    assert validation_split(y, 0.2, seed=0)[1].tolist() == val.tolist()
    assert (
        len(validation_split(np.array([0, 1]), 0.5, 0)[1]) == 0
    )  # a single clip of a class stays in training


def test_scratch_cnn_attacker_converges_and_reidentifies():
    y_train, y_test = np.repeat(np.arange(4), 8), np.repeat(np.arange(4), 2)
    torch.manual_seed(0)
    conv = Convergence(target_train_acc=0.99, patience=5, val_fraction=0.25, shift=2)
    m = frame_attack(
        build_small_cnn(4, 8),
        identity_clips(y_train, 0, size=32),
        y_train,
        identity_clips(y_test, 1, size=32),
        y_test,
        {"epochs": 40, "batch_size": 16, "lr": 0.01, "optimizer": "adam"},
        conv,
        Run(CPU, 0, log=QUIET),
        0,
    )
    assert m["converged"] and m["epochs"] < 40 and m["train_acc"] >= 0.9
    assert m["plr"] == 100.0 and m["plr_vote"] == 100.0 and m["val_clips"] == 8 and m["train_clips"] == 24
    # the record: status, validation counts, per-clip hits, the plateau's history
    assert m["status"] == "converged"
    assert m["val_n"] == 8 and m["val_correct"] == 8 and m["val_acc"] == 1.0 and m["best_epoch"] >= 1
    assert (
        len(m["hits"]) == m["n"] == 8
        and sum(m["hits"]) == m["correct"]
        and sum(m["hits_vote"]) == m["correct_vote"]
    )
    assert all("lr" in row and "val_correct" in row for row in m["history"])


def test_attackers_never_read_test_clips_while_training():
    """Training is the same whatever the test clips are: only the train split feeds it."""
    y_train, y_test = np.repeat(np.arange(3), 4), np.arange(3)
    train = identity_clips(y_train, 0, t=2, size=16)
    settings = {"epochs": 3, "batch_size": 4, "lr": 0.01, "optimizer": "adam"}
    conv = Convergence(target_train_acc=1.01, patience=10, val_fraction=0.25, shift=2)
    runs = []
    for test in (identity_clips(y_test, 1, t=2), np.zeros((3, 2, 16, 16, 3), np.uint8)):
        torch.manual_seed(0)
        frame = frame_attack(
            build_small_cnn(3, 4), train, y_train, test, y_test, settings, conv, Run(CPU, 0, log=QUIET), 0
        )
        torch.manual_seed(0)
        clip = clip_attack(
            build_video_classifier("r3d_small", 3, None, width=4),
            train,
            y_train,
            test,
            y_test,
            {**settings, "epochs": 2, "batch_size": 3},
            conv,
            Run(CPU, 0, log=QUIET),
        )
        runs.append(
            [{k: v for k, v in row.items() if k != "seconds"} for row in frame["history"] + clip["history"]]
        )
    assert runs[0] == runs[1] and len(runs[0]) == 5


def test_clip_attacker_reports_a_clip_level_rate_and_its_training():
    y_train, y_test = np.repeat(np.arange(3), 4), np.arange(3)
    torch.manual_seed(0)
    m = clip_attack(
        build_video_classifier("r3d_small", 3, None, width=4),
        identity_clips(y_train, 0, t=4),
        y_train,
        identity_clips(y_test, 1, t=4),
        y_test,
        {"epochs": 2, "batch_size": 4, "lr": 0.01, "optimizer": "adam"},
        Convergence(val_fraction=0.0),
        Run(CPU, 0, log=QUIET),
    )
    assert m["n"] == 3 and 0 <= m["plr"] <= 100 and m["epochs"] == 2 and not m["converged"]
    assert m["stopped"] == "completed" and 0 <= m["train_acc"] <= 1


def test_clip_attacker_trains_in_float32_under_cpu_bf16():
    """R3D under CPU bf16 autocast went NaN within 1-5 passes on most of the default run's
    representations: the clip attacker trains in float32 whatever cpu_dtype says."""
    y = np.repeat(np.arange(3), 4)
    torch.manual_seed(0)
    m = clip_attack(
        build_video_classifier("r3d_small", 3, None, width=4),
        identity_clips(y, 0, t=4),
        y,
        identity_clips(np.arange(3), 1, t=4),
        np.arange(3),
        {"epochs": 1, "batch_size": 4, "lr": 0.01, "optimizer": "adam"},
        Convergence(val_fraction=0.0),
        Run(CPU, 0, log=QUIET, cpu_dtype=torch.bfloat16),
    )
    assert m["train_dtype"] == "float32"


# --------------------------------------------------------------------------------------------- robust sweep


def _suite_record(c: int) -> dict:
    """An attacker's metric record: ``c`` of 10 test clips (and of 10 validation clips) right."""
    hits = _hits(c)
    return {"correct": c, "correct_vote": c, "n": 10, "train_acc": 1.0, "hits": hits, "hits_vote": hits} | {
        "val_correct": c,
        "val_correct_vote": c,
        "val_n": 10,
        "status": "converged",
    }


def _robust_suite(points) -> tuple[dict, dict]:
    """Suite records of robust points (the i-th point's scratch CNN right on 2 + i of 10) and their ACC."""
    suite = {
        "frames": {
            r: {"validator": _suite_record(1), "scratch": _suite_record(2 + i), "recovered": _suite_record(1)}
            for i, r in enumerate(points)
        },
        "adaptive": {r: _suite_record(1) for r in points},
        "clip": {r: _suite_record(1) for r in points},
    }
    return suite, {r: {"acc": 50.0 + i} for i, r in enumerate(points)}


def test_robust_sweep_table_and_figure(tmp_path):
    from workflow_facts import planning

    compensated_name, robust_variants = planning.compensated_name, planning.robust_variants
    from ppfer_core.sweep import plot_robust_sweep, point_labels, robust_sweep_table

    robust = {
        "l1_weight": 1.0,
        "adversaries": {"steps": 5, "scratch": 2, "width": 16, "aggregate": "softmax"},
        "train": {},
        "sweep": {
            "enabled": True,
            "l1_weights": [3, 0.3, 1.0],
            "steps": [1, 5],
            "scratch": [4],
            "aggregates": ["max", "softmax"],
        },
    }
    variants = robust_variants(robust)
    assert list(variants) == [
        "G-robust",
        "G-robust-l1w3",
        "G-robust-l1w0.3",
        "G-robust-steps1",
        "G-robust-scratch4",
        "G-robust-aggmax",
    ]
    assert (variants["G-robust-steps1"].l1_weight, variants["G-robust-steps1"].steps) == (1.0, 1)
    # the rule's settings: robust.* (no train, sweep) with the point's L1 weight, steps, ensemble, aggregate
    settings = variants["G-robust-scratch4"].settings(robust)
    assert settings["adversaries"] == {"steps": 5, "scratch": 4, "width": 16, "aggregate": "softmax"}
    assert "sweep" not in settings
    assert variants["G-robust-aggmax"].settings(robust)["adversaries"]["aggregate"] == "max"
    assert list(robust_variants({**robust, "sweep": {**robust["sweep"], "enabled": False}})) == ["G-robust"]
    points = {compensated_name(g): vars(pt) for g, pt in variants.items()}
    assert list(points)[:3] == ["ours-robust", "ours-robust-l1w3", "ours-robust-l1w0.3"]

    suite, utility = _robust_suite(points)
    t = robust_sweep_table(points, utility, suite, ACTORS10)
    assert list(t["representation"]) == [
        "ours-robust-aggmax",
        "ours-robust-steps1",
        "ours-robust-l1w0.3",
        "ours-robust",
        "ours-robust-l1w3",
        "ours-robust-scratch4",
    ]
    assert list(t["adversary_steps"]) == [5, 1, 5, 5, 5, 5] and list(t["ensemble"]) == [2, 2, 2, 2, 2, 4]
    assert list(t["aggregate"]) == ["max", *["softmax"] * 5]
    assert list(t["plr_worst"]) == [70.0, 50.0, 40.0, 20.0, 30.0, 60.0]
    assert {"acc", "plr", "plr_worst_lo", "plr_worst_hi", "worst_attacker", "train_acc_clip"} <= set(
        t.columns
    )
    assert point_labels(t) == [
        "max",
        "1 adv. steps",
        "L1 0.3",
        "L1 1, 5 adv. steps, 2 scratch, softmax",
        "L1 3",
        "4 scratch",
    ]
    plot_robust_sweep(t, tmp_path / "sweep.png", chance=10.0)
    assert (tmp_path / "sweep.png").stat().st_size > 0
    with pytest.raises(ValueError, match="robust G"):
        compensated_name("G")


# --------------------------------------------------------------------------------------- bottleneck k-sweep


def _leak(c: int, val: int | None = None) -> dict:
    hits = _hits(c)
    val = c if val is None else val
    return {"correct": c, "correct_vote": c, "n": 10, "train_acc": 1.0, "hits": hits, "hits_vote": hits} | {
        "val_correct": val,
        "val_correct_vote": val,
        "val_n": 10,
        "status": "converged",
    }


def test_bottleneck_points_and_sweep_table(tmp_path):
    """Issue 27: bottleneck.sweep's points (k itself is the default row, bottleneck), and the sweep table:
    one row per k in k order, plr_worst over the pixel AND code attackers (chosen on validation), the
    landmark attacker beside and never chosen; the figure with the robust sweep on the same axes."""
    from workflow_facts import planning

    from ppfer_core.sweep import SWEEP_HEAD, bottleneck_sweep_table, plot_bottleneck_sweep

    cfg = {"k": 4, "sweep": {"enabled": True, "ks": [16, 4, 1]}}
    points = planning.bottleneck_points(cfg)
    assert list(points) == ["bottleneck", "bottleneck-k16", "bottleneck-k1"]
    assert (points["bottleneck-k16"].render, points["bottleneck-k16"].k) == ("bottleneck-render-k16", 16)
    assert points["bottleneck-k1"].coding["basis"] == "models/bottleneck/k1/basis.npz"
    assert list(planning.bottleneck_points({**cfg, "sweep": {"enabled": False, "ks": [1]}})) == ["bottleneck"]
    with pytest.raises(ValueError, match="bottleneck.sweep.ks: 0"):
        planning.bottleneck_points({**cfg, "sweep": {"enabled": True, "ks": [0]}})
    ks = {rep: pt.k for rep, pt in points.items()}
    pixels = {"validator": _leak(1), "scratch": _leak(2), "recovered": _leak(1)}
    suite = {
        "frames": {r: pixels for r in ks},
        "adaptive": {r: _leak(1) for r in ks},
        "clip": {r: _leak(1) for r in ks},
        # the GRU on the codes leaks more with k; at k=1 it is worse than the scratch CNN on validation
        "codes": {
            r: {
                "logreg": _leak(1),
                "mlp": _leak(1),
                "gru": _leak(min(k, 9), val=min(k, 9)),
                "landmarks": {**_leak(10), "attacker": "mlp"},
            }
            for r, k in ks.items()
        },
    }
    utility = {r: {"acc": 40.0 + k} for r, k in ks.items()}
    t = bottleneck_sweep_table(ks, utility, suite, ACTORS10)
    assert list(t.columns[: len(SWEEP_HEAD)]) == list(SWEEP_HEAD)
    assert list(t["k"]) == [1, 4, 16] and list(t["representation"]) == [
        "bottleneck-k1",
        "bottleneck",
        "bottleneck-k16",
    ]
    assert list(t["acc"]) == [41.0, 44.0, 56.0]
    assert list(t["worst_attacker"]) == ["plr_scratch", "plr_code_gru", "plr_code_gru"]
    assert list(t["plr_worst"]) == [20.0, 40.0, 90.0] and (t["plr_worst_lo"] <= t["plr_worst"]).all()
    assert (t["plr_landmarks"] == 100.0).all() and "plr_landmarks" not in set(t["worst_attacker"])
    robust = pd.DataFrame(
        {
            "representation": ["ours-robust"],
            "l1_weight": [1.0],
            "adversary_steps": [5],
            "ensemble": [2],
            "aggregate": ["max"],
            "acc": [70.0],
            "plr_worst": [80.0],
            "plr_worst_lo": [70.0],
            "plr_worst_hi": [90.0],
        }
    )
    plot_bottleneck_sweep(t, tmp_path / "k.png", chance=10.0, robust=robust)
    assert (tmp_path / "k.png").stat().st_size > 0


def test_robust_sweep_figure_draws_other_methods_beside_it(tmp_path):
    from ppfer_core.sweep import plot_robust_sweep, reference_points, robust_sweep_table

    point = {"l1_weight": 1.0, "steps": 5, "scratch": 2, "aggregate": "softmax"}
    suite, utility = _robust_suite({"ours-robust": point})
    # a Table 1 row by its suite (here the robust point's own files); nothing else is read
    ref = reference_points({"ours-robust": "Ours (x)"}, utility, suite, ACTORS10)
    assert list(ref["label"]) == ["Ours (x)"] and list(ref["plr_worst"]) == [20.0]
    assert list(ref.columns) == ["label", "acc", "plr_worst", "plr_worst_lo", "plr_worst_hi"]
    assert reference_points({}, utility, suite, ACTORS10).empty
    t = robust_sweep_table({"ours-robust": point}, utility, suite, ACTORS10)
    plot_robust_sweep(t, tmp_path / "sweep.png", chance=10.0, references=ref)
    assert (tmp_path / "sweep.png").stat().st_size > 0
