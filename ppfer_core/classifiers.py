"""Training and testing of the workflow's classifiers: identity classifier / validator V_pl,
identity budget controllers C_lpr, C_hpr, expression controller C_fc, utility model F_u,
and the adaptive attacker — all one supervised cross-entropy path."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ppfer_core.training import Player, Run, TrainResult, TrainSettings, autocast, fit, to_device


def cross_entropy_loss(model: nn.Module) -> Callable:
    """Loss of a classifier on a batch (x, y): cross-entropy, with its batch accuracy as a metric."""

    def loss(batch):
        x, y = batch[0], batch[1]
        logits = model(x)
        return F.cross_entropy(logits.float(), y), {"acc": (logits.argmax(1) == y).float().mean().item()}

    return loss


def fit_classifier(
    model: nn.Module,
    dataset: Dataset,
    settings: TrainSettings | Mapping[str, Any],
    run: Run,
    stop: Callable[[dict[str, float]], str | None] | None = None,
) -> TrainResult:
    """Train ``model`` with cross-entropy on ``dataset`` using ``settings`` (:class:`TrainSettings` or its
    config entry); ``stop``: the training loop's early-stop rule (e.g. an attacker's convergence)."""
    s = TrainSettings.from_config(settings)
    model.to(run.device)
    opt = s.make_optimizer(model.parameters())
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=s.epochs)
    return fit(
        [Player("ce", [model], opt, cross_entropy_loss(model), sched)],
        dataset,
        s,
        run,
        {"settings": s.config(), "desc": run.desc, "n": len(dataset)},
        stop,
    )


@torch.no_grad()
def predict_labels(
    model: nn.Module, dataset: Dataset, device: torch.device, batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true labels of every item of ``dataset`` (in order)."""
    to_device(model, device).eval()
    preds, labels = [], []
    for x, y in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        with autocast(device):
            preds.append(model(x.to(device)).argmax(1).cpu())
        labels.append(y)
    return torch.cat(preds).numpy(), torch.cat(labels).numpy()


def per_class_accuracy(
    pred: np.ndarray, true: np.ndarray, names: list[str] | tuple[str, ...]
) -> dict[str, float]:
    """Accuracy within each true class (NaN for a class with no items)."""
    return {
        name: float((pred[true == c] == c).mean()) if (true == c).any() else float("nan")
        for c, name in enumerate(names)
    }


@dataclass(frozen=True)
class ClipScores:
    """Predicted and true expression of the test clips, in the clips' order (the test index rows' order):
    what a utility metrics file records of a model (:meth:`record`)."""

    pred: np.ndarray
    true: np.ndarray

    @property
    def hits(self) -> np.ndarray:
        """1 per clip whose expression is right, 0 otherwise, in the clips' order."""
        return (self.pred == self.true).astype(int)

    def record(self, names: Sequence[str]) -> dict[str, Any]:
        """``acc`` (percent), ``correct``, ``per_class`` (percent, class ``names``), ``n`` and per-clip
        ``hits`` (actor-clustered intervals, paired tests): the test fields of a utility metrics file."""
        per_class = per_class_accuracy(self.pred, self.true, names)
        return {
            "acc": 100.0 * float((self.pred == self.true).mean()),
            "correct": int((self.pred == self.true).sum()),
            "per_class": {k: 100.0 * v for k, v in per_class.items()},
            "n": int(len(self.true)),
            "hits": self.hits.tolist(),
        }


def score_clips(model: nn.Module, dataset: Dataset, device: torch.device, batch_size: int = 16) -> ClipScores:
    """Test ``model`` on every clip of ``dataset`` in order (:func:`predict_labels`)."""
    return ClipScores(*predict_labels(model, dataset, device, batch_size))
