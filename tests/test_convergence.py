"""Attackers and the recovery U-Net trained to a validation plateau (issue 26): full passes, the learning
rate reduced on the plateau, the best-validation weights scored, ``converged`` only when it is, and all
of it resumable. Each test takes a few seconds on one thread."""

import numpy as np
import pytest
import torch
from test_attacks import QUIET, identity_clips
from test_threat import one_thread, smooth_clips  # noqa: F401  (autouse: tiny models, one thread)
from torch import nn
from torch.utils.data import TensorDataset

from ppfer_core.attacks import Convergence, build_small_cnn, frame_attack, slice_scores, validation_split
from ppfer_core.nets import UNet
from ppfer_core.plateau import BestOnValidation, Plateau, status
from ppfer_core.threat import RecoveryStop, fit_recovery, recovery_split
from ppfer_core.training import Player, Run, train

CPU = torch.device("cpu")


class Scripted:
    """A validation figure read from a script, one value per epoch (raises past ``fail_at`` calls: a preemption)."""

    def __init__(self, values, fail_at=None):
        self.values, self.calls, self.fail_at = list(values), 0, fail_at

    def __call__(self):
        if self.fail_at is not None and self.calls >= self.fail_at:
            raise KeyboardInterrupt("preempted")
        self.calls += 1
        return {"val_acc": self.values[self.calls - 1]}


def toy_training(values, epochs, plateau, state=None, fail_at=None, target=None):
    """A linear model trained for ``epochs`` on random data, stopped by a scripted validation accuracy."""
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,)))
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True, generator=torch.Generator())
    monitor = BestOnValidation(model, opt, Scripted(values, fail_at), "val_acc", "max", plateau, target)

    def loss(batch):
        return nn.functional.cross_entropy(model(batch[0]), batch[1]), {}

    snapshots = []
    original = monitor.__call__

    def stop(row):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return original(row)

    stop.state_dict, stop.load_state_dict = monitor.state_dict, monitor.load_state_dict
    result = train([Player("ce", [model], opt, loss)], loader, epochs, CPU, 0, state, {"toy": 1}, stop, QUIET)
    monitor.restore_best()
    return model, monitor, result, snapshots


def test_stops_after_patience_passes_without_gain_and_keeps_the_best_weights():
    values = [0.2, 0.5, 0.9, 0.6, 0.7, 0.9, 0.8, 0.85, 0.7]  # best 0.9 at epoch 3; 0.9 again (6) is no gain
    model, monitor, result, snaps = toy_training(values, 20, Plateau(patience=5, lr_patience=2))
    assert len(result.history) == 8 and status(result.stopped) == "converged"
    assert "not improved for 5 epochs" in result.stopped and monitor.gain_epoch == 3
    # the weights scored are the latest of the best epochs (6, as good as 3 and trained longer), not the last
    assert monitor.best_epoch == 6
    assert all(torch.equal(model.state_dict()[k], snaps[5][k]) for k in snaps[5])
    assert not all(torch.equal(model.state_dict()[k], snaps[-1][k]) for k in snaps[-1])
    # reduce on plateau (lr_patience 2): the third pass without a gain (epoch 6) halves the lr, from epoch 7 on
    lrs = [row["lr"] for row in result.history]
    assert lrs == pytest.approx([0.1] * 6 + [0.05] * 2)


def test_a_run_that_hits_the_cap_is_budget_not_converged():
    values = [0.1 * k for k in range(1, 10)]  # still improving when the cap comes
    _, monitor, result, _ = toy_training(values, 6, Plateau(patience=10))
    assert result.stopped == "completed" and status(result.stopped) == "budget"
    rec = monitor.record(result.stopped, len(result.history))
    assert rec["status"] == "budget" and rec["epochs"] == 6 and rec["best_val_acc"] == pytest.approx(0.6)
    # the old rule (3 epochs without gain = converged) is gone: 3 flat passes of 10 are not a plateau
    _, _, result, _ = toy_training([0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 6, Plateau(patience=10))
    assert status(result.stopped) == "budget"


def test_a_non_finite_training_loss_is_diverged_not_converged():
    """As the default run's clip attackers (NaN loss under bf16, then every pass at chance): the training
    stops in the epoch its loss turns NaN, is ``diverged`` (with patience 1 the flat curve after it used
    to read ``converged``), and the best-validation weights before it are the ones kept."""
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = TensorDataset(torch.randn(32, 4), torch.randint(0, 2, (32,)))
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True, generator=torch.Generator())
    scripted = Scripted([0.5, 0.8, 0.05, 0.05, 0.05])
    monitor = BestOnValidation(model, opt, scripted, "val_acc", "max", Plateau(patience=1, lr_patience=1))

    def loss(batch):  # finite for two passes, NaN from the third on
        ce = nn.functional.cross_entropy(model(batch[0]), batch[1])
        return (ce * float("nan") if scripted.calls >= 2 else ce), {}

    result = train([Player("ce", [model], opt, loss)], loader, 10, CPU, 0, None, {"toy": 1}, monitor, QUIET)
    monitor.restore_best()
    assert len(result.history) == 3 and status(result.stopped) == "diverged"
    assert result.stopped.startswith("diverged: training ce_loss is nan at epoch 3")
    assert monitor.record(result.stopped, 3)["status"] == "diverged" and monitor.best_epoch == 2
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())


def test_the_plateau_state_resumes_to_the_same_end(tmp_path):
    values = [0.2, 0.5, 0.9, 0.6, 0.7, 0.9, 0.8, 0.85, 0.7]
    whole, wmon, wres, _ = toy_training(values, 20, Plateau(patience=5, lr_patience=2))
    state = tmp_path / "s.pt"
    with pytest.raises(KeyboardInterrupt):
        toy_training(values, 20, Plateau(patience=5, lr_patience=2), state, fail_at=5)  # preempted in epoch 6
    assert state.exists()
    resumed, rmon, rres, _ = toy_training(values[5:], 20, Plateau(patience=5, lr_patience=2), state)
    assert rres.resumed_from == 5 and rres.stopped == wres.stopped and rmon.best_epoch == wmon.best_epoch == 6
    assert [r["lr"] for r in rres.history] == [r["lr"] for r in wres.history]
    assert all(torch.equal(whole.state_dict()[k], resumed.state_dict()[k]) for k in whole.state_dict())


def test_frames_one_is_a_pass_over_clips_and_partial_epochs_are_refused():
    y = np.repeat(np.arange(2), 4)
    clips = identity_clips(y, 0, t=3, size=16)
    logs = []
    m = frame_attack(
        build_small_cnn(2, 4),
        clips,
        y,
        clips,
        y,
        {"epochs": 1, "batch_size": 4, "lr": 0.01, "optimizer": "adam"},
        Convergence(val_fraction=0.0, frames="one"),
        Run(CPU, 0, log=logs.append),
        0,
    )
    assert m["status"] == "budget" and any("status budget" in line for line in logs)
    with pytest.raises(ValueError, match="less than one pass"):
        frame_attack(
            build_small_cnn(2, 4),
            clips,
            y,
            clips,
            y,
            {"epochs": 1, "batch_size": 4, "lr": 0.01, "optimizer": "adam", "items_per_epoch": 5},
            Convergence(val_fraction=0.0),
            Run(CPU, 0, log=QUIET),
            0,
        )
    with pytest.raises(ValueError, match="all or one"):
        Convergence(frames="some")


def test_settings_name_their_missing_keys():
    with pytest.raises(KeyError, match="lr_patience, frames"):
        Convergence.from_config(
            {"target_train_acc": 0.99, "patience": 10, "val_fraction": 0.1, "shift": 4, "lr_factor": 0.5}
        )
    with pytest.raises(KeyError, match="threat.recovery lacks patience"):
        RecoveryStop.from_config({"val_fraction": 0.1, "min_delta": 0.0, "lr_factor": 0.5, "lr_patience": 1})
    with pytest.raises(ValueError, match="lr_factor"):
        Plateau(lr_factor=1.0)


def test_recovery_stops_on_a_validation_l1_plateau():
    fit_rows, val_rows = recovery_split(20, 0.1, seed=0)
    assert len(val_rows) == 2 and len(np.intersect1d(fit_rows, val_rows)) == 0 and len(fit_rows) == 18
    train = smooth_clips(16, 0)
    torch.manual_seed(0)
    model = UNet(base_width=8, depth=1)
    run = fit_recovery(
        model,
        train,
        train,
        {"epochs": 60, "batch_size": 16, "lr": 0.01, "optimizer": "adam"},
        Run(CPU, 0, log=QUIET, desc="recovery"),
        RecoveryStop(val_fraction=0.2, patience=2, min_delta=0.002, lr_patience=1),
    )
    rec = run.record
    assert rec["status"] == "converged" and rec["epochs"] < 60 and rec["val_clips"] == 3
    assert 0 <= rec["epochs"] - rec["best_epoch"] <= 2  # patience 2 after the last gain
    assert rec["best_val_l1"] == pytest.approx(min(r["val_l1"] for r in run.history))
    with pytest.raises(ValueError, match="less than one pass"):
        fit_recovery(
            UNet(base_width=4, depth=1),
            train,
            train,
            {"epochs": 1, "batch_size": 16, "lr": 0.01, "optimizer": "adam", "items_per_epoch": 10},
            Run(CPU, 0, log=QUIET),
        )


def test_validator_scored_on_the_attackers_validation_slice():
    y = np.repeat(np.arange(3), 4)
    clips = identity_clips(y, 0, t=2, size=16)
    torch.manual_seed(0)
    model = build_small_cnn(3, 4)
    conv = Convergence(val_fraction=0.25)
    s = slice_scores(model, clips, y, conv, 0, CPU, 0)
    _, rows = validation_split(y, 0.25, 0)
    assert s["val_n"] == len(rows) == 3 and 0 <= s["val_correct"] <= 3
    # a corpus too small for a slice has none: val_n 0, nothing to select on
    assert slice_scores(model, clips, y, Convergence(val_fraction=0.1), 0, CPU, 0)["val_n"] == 0


def test_recovery_frames_one_is_a_pass_over_clips():
    """threat.recovery.frames: one -- a pass is one random frame per train clip, src and dst the same frame."""
    from ppfer_core.arrays import PairedFrameDataset

    n, t = 5, 4
    src = (
        np.zeros((n, t, 2, 2, 3), np.uint8)
        + (np.arange(n)[:, None] * 10 + np.arange(t))[:, :, None, None, None]
    )
    data = PairedFrameDataset(src, np.zeros(n, np.int64), src + 1, per_clip=True)
    assert len(data) == n and len(PairedFrameDataset(src, np.zeros(n, np.int64), src + 1)) == n * t
    torch.manual_seed(0)
    seen = set()
    for _ in range(8):
        for c in range(n):
            x, _, y = data[c]
            v = round(float(x[0, 0, 0]) * 255)
            assert v // 10 == c and round(float(y[0, 0, 0]) * 255) == v + 1  # the same frame of clip c
            seen.add(v % 10)
    assert seen == set(range(t))  # every frame is drawn over the passes
    with pytest.raises(KeyError, match="threat.recovery lacks frames"):
        RecoveryStop.from_config(
            {"val_fraction": 0.1, "patience": 1, "min_delta": 0.0, "lr_factor": 0.5, "lr_patience": 1}
        )
    with pytest.raises(ValueError, match="all or one"):
        RecoveryStop(frames="some")
    train = smooth_clips(8, 0)
    run = fit_recovery(
        UNet(base_width=4, depth=1),
        train,
        train,
        {"epochs": 2, "batch_size": 4, "lr": 0.01, "optimizer": "adam"},
        Run(CPU, 0, log=QUIET, desc="recovery"),
        RecoveryStop(val_fraction=0.25, patience=5, frames="one"),
    )
    assert run.record["status"] == "budget" and run.record["train_clips"] == 6 and len(run.history) == 2
