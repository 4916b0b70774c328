"""Controlled feature compensation (paper §3.3, Algorithm 2): the U-ViT F_fc trained, frame by
frame, to make a frozen expression controller C_fc recognise the expression in F_fc(G).

F_fc trains on the train clips minus a validation slice of them (a share of each expression's train
clips, never a test clip) and stops once the slice's figure plateaus (issue 30,
:class:`CompensatorStop`, :class:`ppfer_core.plateau.BestOnValidation`): C_fc's accuracy on the
compensated slice (loss ``ce``) or the mean squared error of the compensated slice to its target
frames (loss ``mse``). It ends with its best-validation weights."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ppfer_core.arrays import FrameDataset, PairedFrameDataset, map_frames
from ppfer_core.attacks import validation_split
from ppfer_core.classifiers import predict_labels
from ppfer_core.plateau import CONVERGED, BestOnValidation, FromConfig, Plateau
from ppfer_core.training import Player, Run, TrainResult, TrainSettings, fit, to_device

LOSSES = ("ce", "mse")


def compensation_loss(compensator: nn.Module, controller: nn.Module | None, kind: str) -> Callable:
    """Compensator loss on a batch (G frame, expression, original frame).

    ``ce``: cross-entropy of the frozen controller C_fc on F_fc(G) (the paper); ``mse``: mean squared
    error of F_fc(G) to the original frame, without a controller (ablation task 4).
    """
    if kind not in LOSSES:
        raise ValueError(f"compensator loss {kind!r} not in {LOSSES}")
    if kind == "ce" and controller is None:
        raise ValueError("the cross-entropy compensator needs its controller C_fc")

    def loss(batch):
        g, e, original = batch[0], batch[1], batch[2]
        out = compensator(g)
        if kind == "mse":
            return F.mse_loss(out.float(), original), {}
        logits = controller(out).float()
        return F.cross_entropy(logits, e), {"controller_acc": (logits.argmax(1) == e).float().mean().item()}

    return loss


@dataclass(frozen=True)
class CompensatorStop(FromConfig):
    """When F_fc has converged (``train.compensator``'s ``val_fraction``, ``patience``, ``min_delta``,
    ``lr_factor``, ``lr_patience``): ``val_fraction`` of each expression's train clips are held out,
    and training stops once the validation figure (C_fc's accuracy in percent on the compensated
    slice, or its MSE to the target frames) has not improved by more than ``min_delta`` for
    ``patience`` epochs; the learning rate is reduced on its plateau, the best-validation weights kept."""

    val_fraction: float = 0.1
    patience: int = 3
    min_delta: float = 0.0
    lr_factor: float = 0.5
    lr_patience: int = 1

    ENTRY: ClassVar[str] = "train.compensator"

    def __post_init__(self) -> None:
        if not 0.0 < self.val_fraction <= 0.5:
            raise ValueError(f"train.compensator.val_fraction must be in (0, 0.5], got {self.val_fraction}")

    def plateau(self) -> Plateau:
        return Plateau(self.patience, self.min_delta, self.lr_factor, self.lr_patience)


@torch.no_grad()
def compensate(compensator: nn.Module, clips: np.ndarray, device: torch.device) -> np.ndarray:
    """F_fc(clips) as uint8 clips, quantised as the written representation is."""
    to_device(compensator, device).eval()
    return map_frames(lambda x: compensator(x.to(device)).float(), clips, np.empty_like(clips))


@dataclass(frozen=True)
class CompensationData:
    """What F_fc trains on: the input clips (G), their expressions and the MSE target clips (the
    original frames, or G), all of the train split."""

    inputs: np.ndarray
    labels: np.ndarray
    targets: np.ndarray

    def split(self, fraction: float, seed: int) -> tuple[CompensationData, CompensationData]:
        """(the clips F_fc fits, the validation slice): ``fraction`` of each expression's clips held out."""
        fit_rows, val_rows = validation_split(self.labels, fraction, seed)
        return self.rows(fit_rows), self.rows(val_rows)

    def rows(self, rows: np.ndarray) -> CompensationData:
        return CompensationData(
            np.asarray(self.inputs[rows]), np.asarray(self.labels[rows]), np.asarray(self.targets[rows])
        )


def validation_figures(
    compensator: nn.Module,
    controller: nn.Module | None,
    kind: str,
    val: CompensationData,
    device: torch.device,
) -> dict[str, float]:
    """``val_acc``: C_fc's accuracy (percent) on every compensated frame of the slice (loss ``ce``);
    ``val_mse``: mean squared error (pixels in [0, 1]) of the compensated slice to its targets (``mse``)."""
    out = compensate(compensator, val.inputs, device)
    if kind == "mse":
        diff = out.astype(np.float32) / 255.0 - val.targets.astype(np.float32) / 255.0
        return {"val_mse": float(np.mean(diff**2))}
    pred, true = predict_labels(controller, FrameDataset(out, val.labels), device)
    return {"val_acc": 100.0 * float((pred == true).mean())}


@dataclass
class CompensatorRun:
    """F_fc's training: the loop's result and its record (status converged / budget, epochs, why it
    stopped, best validation figure and its epoch, :meth:`BestOnValidation.record`), with the
    validation curve (the figure after every epoch)."""

    result: TrainResult
    record: dict[str, Any]


def fit_compensator(
    compensator: nn.Module,
    controller: nn.Module | None,
    kind: str,
    data: CompensationData,
    settings: TrainSettings | Mapping[str, Any],
    run: Run,
    fingerprint: Mapping[str, Any],
) -> CompensatorRun:
    """Train F_fc with ``kind``'s loss (:func:`compensation_loss`) on ``data`` minus its validation
    slice, ``settings`` (epochs: the cap) and the plateau of :class:`CompensatorStop` read from them;
    F_fc ends with its best-validation weights (the last ones when the slice is empty, e.g. a smoke run
    with one clip per expression). ``fingerprint``: the settings the resumable state belongs to."""
    s = TrainSettings.from_config(settings)
    stop = CompensatorStop.from_config(s.config())
    fit_data, val = data.split(stop.val_fraction, run.seed)
    if len(val.labels) == 0:
        run.log(
            f"[{run.desc}] WARNING: train.compensator.val_fraction {stop.val_fraction} holds out no train clip "
            "(too few per expression): no plateau, the last weights are kept"
        )
    key, mode = ("val_mse", "min") if kind == "mse" else ("val_acc", "max")
    opt = s.make_optimizer(compensator.parameters())
    monitor = BestOnValidation(
        compensator,
        opt,
        lambda: (
            validation_figures(compensator, controller, kind, val, run.device) if len(val.labels) else None
        ),
        key,
        mode,
        stop.plateau(),
        log=run.log,
    )
    result = fit(
        [Player("compensation", [compensator], opt, compensation_loss(compensator, controller, kind))],
        PairedFrameDataset(fit_data.inputs, fit_data.labels, fit_data.targets),
        s,
        run,
        {**fingerprint, "stop": asdict(stop)},
        monitor,
    )
    monitor.restore_best()
    record = {
        **monitor.record(result.stopped, len(result.history)),
        "validation_key": key,
        "validation_curve": [row[key] for row in result.history if key in row],
        "train_clips": len(fit_data.labels),
        "val_clips": len(val.labels),
    }
    if record["status"] != CONVERGED:
        run.log(
            f"[{run.desc}] stopped at the epoch cap ({record['epochs']}) before the {key} plateau: status budget"
        )
    return CompensatorRun(result, record)
