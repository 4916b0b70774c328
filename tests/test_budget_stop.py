"""The identity-budget stop reads the controller's eval-mode accuracy on a held-out slice of the
train split (issue 12), not the training batches' accuracy with the enhancer in training mode."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from ppfer_core.arrays import FrameDataset
from ppfer_core.enhancer import fit_enhancer
from ppfer_core.holdout import holdout_split
from ppfer_core.training import Run

CPU = torch.device("cpu")
TRAIN = dict(epochs=3, batch_size=8, lr=1e-3, optimizer="adam")


class ModeDependent(nn.Module):
    """An 'enhancer' that wipes the identity in one mode only (as batch norm's batch statistics
    can hide it in training mode while the running statistics, used for G, do not)."""

    def __init__(self, wipe_in_training: bool):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))
        self.wipe_in_training = wipe_in_training

    def forward(self, x):
        if self.training == self.wipe_in_training:
            return torch.full_like(x, 0.5) + 0 * self.p
        return x + 0 * self.p


def _problem(classes=4, per_class=10):
    """Images whose first channel's mean says the identity, and a frozen controller that reads it."""
    y = torch.arange(classes).repeat_interleave(per_class)
    x = torch.rand(len(y), 3, 8, 8) * 0.1
    x[:, 0] += (y.float() / classes)[:, None, None]
    controller = nn.Sequential(nn.Conv2d(3, 1, 8), nn.Flatten(), nn.Linear(1, classes))
    with torch.no_grad():  # logit_k = -(m - k/classes)^2 ~ linear in m: -m*(-2k/c) - (k/c)^2
        controller[0].weight.zero_()
        controller[0].weight[0, 0] = 1.0 / 64
        controller[0].bias.fill_(-0.05)
        k = torch.arange(classes).float() / classes
        controller[2].weight[:, 0] = 2 * k
        controller[2].bias.copy_(-(k**2))
    assert (controller(x).argmax(1) == y).all()
    return TensorDataset(x, y), controller


def _fit(enhancer, budget):
    data, controller = _problem()
    return fit_enhancer(
        enhancer,
        controller,
        data,
        TRAIN,
        dict(objective="ce", l1_weight=0.0, identity_budget=budget, holdout=0.1),
        Run(CPU, 0, None, lambda s: None, "test"),
    )


def test_no_stop_when_only_training_mode_hides_the_identity():
    result = _fit(ModeDependent(wipe_in_training=True), 0.5)
    assert (
        result.history[0]["controller_acc"] <= 0.5
    )  # the old rule (training-batch accuracy) would stop here
    assert result.stopped == "completed" and len(result.history) == 3
    assert all(row["heldout_controller_acc"] == 1.0 for row in result.history)


def test_stop_when_the_eval_mode_outputs_meet_the_budget():
    result = _fit(ModeDependent(wipe_in_training=False), 0.5)
    assert len(result.history) == 1 and "held-out controller accuracy 0.2500" in result.stopped


def test_holdout_is_whole_train_clips_per_identity():
    clips = np.zeros((20, 4, 8, 8, 3), np.uint8)
    labels = np.repeat(np.arange(4), 5)
    train, held = holdout_split(FrameDataset(clips, labels), 0.2, seed=0)
    held_clips = {i // 4 for i in held.indices}
    assert len(held_clips) == 4 and sorted(labels[sorted(held_clips)]) == [
        0,
        1,
        2,
        3,
    ]  # one clip per identity
    assert len(held) == 16 and not {i // 4 for i in train.indices} & held_clips
    again = holdout_split(FrameDataset(clips, labels), 0.2, seed=0)[1]
    assert again.indices == held.indices  # seeded
    with pytest.raises(ValueError, match="enhancer.holdout"):
        holdout_split(FrameDataset(clips, labels), 1.0, seed=0)
