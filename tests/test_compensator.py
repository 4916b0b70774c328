"""The feature compensator's stop (issue 30): F_fc fits the train clips minus a validation slice of
them (never a test clip), stops on the slice's plateau and records why it stopped."""

import numpy as np
import pytest
import torch
from torch import nn

from ppfer_core.attacks import validation_split
from ppfer_core.compensator import CompensationData, CompensatorStop, fit_compensator
from ppfer_core.training import Run, freeze

CPU = torch.device("cpu")
STOP = {"val_fraction": 0.25, "patience": 2, "min_delta": 0.0, "lr_factor": 0.5, "lr_patience": 1}


class Recorder(nn.Module):
    """A trainable image-to-image map (x + scale * x) that records the clip id (the frame's pixel value)
    of every frame it sees, separately in train and eval mode."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.zeros(()))
        self.seen = {True: set(), False: set()}

    def forward(self, x):
        ids = torch.round(x[:, 0, 0, 0] * 255).long().tolist()
        self.seen[self.training].update(ids)
        return x + self.scale * x


class MeanController(nn.Module):
    """Frozen C_fc: logits from the frame's mean pixel (class 0 for dark frames, 1 for bright)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([-10.0, 10.0]))

    def forward(self, x):
        return (x.mean(dim=(1, 2, 3)) - 0.5)[:, None] * self.w[None]


def _clips(n=16, t=3, size=8):
    """Clip i: every pixel equal to i (its id); label: clip i's parity."""
    ids = np.arange(n, dtype=np.uint8)
    clips = np.broadcast_to(ids[:, None, None, None, None], (n, t, size, size, 3)).copy()
    return CompensationData(clips, (ids % 2).astype(np.int64), clips.copy())


def _settings(epochs, **stop):
    return {"epochs": epochs, "batch_size": 4, "lr": 0.01, "optimizer": "adam", **STOP, **stop}


@pytest.mark.parametrize("kind", ["ce", "mse"])
def test_compensator_fits_the_train_clips_and_stops_on_a_validation_slice_of_them(kind):
    data = _clips()
    model = Recorder()
    controller = freeze(MeanController()) if kind == "ce" else None
    run = fit_compensator(model, controller, kind, data, _settings(3), Run(CPU, 0, log=lambda _: None), {})
    fit_rows, val_rows = validation_split(data.labels, 0.25, 0)
    assert len(val_rows) == 4 and run.record["val_clips"] == 4 and run.record["train_clips"] == 12
    # the validation figure is computed on the held-out train clips only, and they are never trained on
    assert model.seen[False] == set(val_rows.tolist())
    assert model.seen[True] == set(fit_rows.tolist())
    key = "val_acc" if kind == "ce" else "val_mse"
    assert run.record["validation_key"] == key
    assert all(key in row and "lr" in row for row in run.result.history)


def test_the_record_says_why_the_compensator_stopped():
    data = _clips()
    controller = freeze(MeanController())
    run = Run(CPU, 0, log=lambda _: None)
    # a constant validation accuracy: converged after `patience` epochs without a gain
    plateau = fit_compensator(Recorder(), controller, "ce", data, _settings(10, patience=2), run, {})
    rec = plateau.record
    assert rec["status"] == "converged" and rec["epochs"] == 3 < 10
    assert "has not improved for 2 epochs" in rec["stopped"]
    assert len(rec["validation_curve"]) == 3 and rec["best_epoch"] == 3
    # val clips: 2 even, 2 odd; every frame is dark, so C_fc calls each class 0
    assert rec["best_val_acc"] == rec["validation_curve"][0] == 50.0
    # the cap binds first: budget
    capped = fit_compensator(Recorder(), controller, "ce", data, _settings(1, patience=2), run, {}).record
    assert capped["status"] == "budget" and capped["epochs"] == 1 and capped["stopped"] == "completed"


def test_compensator_stop_names_its_missing_keys():
    with pytest.raises(KeyError, match="train.compensator lacks patience"):
        CompensatorStop.from_config({k: v for k, v in STOP.items() if k != "patience"})
    with pytest.raises(ValueError, match="val_fraction"):
        CompensatorStop(val_fraction=0.0)
