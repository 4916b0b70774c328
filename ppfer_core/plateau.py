"""Training to a validation plateau (issue 26): the stop rule of every attacker and of the recovery U-Net.

:class:`BestOnValidation` is a stop rule of :func:`ppfer_core.training.train`. After every epoch
(a full pass over the training items) it evaluates the model on a validation slice held out from the
*train* split, adds the figures to the epoch's history row, keeps a copy of the best-validation
weights, steps a reduce-on-plateau learning-rate scheduler on the same figure, and stops once the
figure has not improved for :attr:`Plateau.patience` epochs (or a target the caller gives is reached).
Such a stop is ``converged``; a training that runs out of epochs is ``budget``; one whose training loss
turns non-finite (NaN / inf: the weights are lost, every later epoch at chance) stops at once and is
``diverged`` (:func:`status`), never ``converged``, whatever its validation curve did. Its state (best figure, epoch and weights, the scheduler's counters) is part of the
training's resumable state, so a resumed training stops and scores exactly as an uninterrupted one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch
from torch import nn


class FromConfig:
    """Typed stop settings read from one config entry (``ENTRY``, e.g. ``threat.recovery``): every
    dataclass field is a required key, converted to the type of its default; a missing key is named."""

    ENTRY: ClassVar[str] = "the config entry"

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Any:
        missing = [f.name for f in fields(cls) if f.name not in cfg]  # type: ignore[arg-type]
        if missing:
            raise KeyError(f"{cls.ENTRY} lacks {', '.join(missing)}")
        return cls(**{f.name: type(f.default)(cfg[f.name]) for f in fields(cls)})  # type: ignore[arg-type]


CONVERGED = "converged"
BUDGET = "budget"
DIVERGED = "diverged"

Evaluate = Callable[[], Mapping[str, float] | None]
Target = Callable[[Mapping[str, float], bool], str | None]


@dataclass(frozen=True)
class Plateau:
    """When a validation figure has stopped improving: no gain larger than ``min_delta`` for
    ``patience`` epochs ends the training (converged); the learning rate is multiplied by
    ``lr_factor`` after ``lr_patience`` epochs without such a gain (``torch.optim.lr_scheduler.ReduceLROnPlateau``)."""

    patience: int = 10
    min_delta: float = 0.0
    lr_factor: float = 0.5
    lr_patience: int = 3

    def __post_init__(self) -> None:
        if self.patience < 1 or self.lr_patience < 0:
            raise ValueError(
                f"patience must be >= 1 and lr_patience >= 0, got {self.patience}, {self.lr_patience}"
            )
        if not 0.0 < self.lr_factor < 1.0:
            raise ValueError(f"lr_factor must be in (0, 1), got {self.lr_factor}")
        if self.min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta}")


def status(stopped: str) -> str:
    """``converged`` for a training its stop rule ended as converged, ``diverged`` for one it ended on a
    non-finite training loss, else ``budget`` (the epoch cap)."""
    for s in (CONVERGED, DIVERGED):
        if stopped.startswith(s):
            return s
    return BUDGET


def non_finite_loss(row: Mapping[str, Any]) -> str | None:
    """Why an epoch's training diverged: the first loss (a ``*_loss`` figure of its history row) that is
    NaN or infinite, else None."""
    for k, v in row.items():
        if k.endswith("loss") and isinstance(v, float) and not math.isfinite(v):
            return f"{DIVERGED}: training {k} is {v} at epoch {int(row['epoch'])}"
    return None


class BestOnValidation:
    """Stop rule on ``key`` of ``evaluate()`` (``mode`` max: higher is better; min: lower), see the module.

    ``evaluate`` returns the validation figures of the current weights (None: no validation slice;
    then only ``target`` can end the training as converged, and the last weights are kept).
    The weights kept are the latest of the best (a later epoch that equals the best figure has trained
    longer); patience counts from the last gain larger than ``min_delta``.
    ``target(row, improved)`` (``improved``: such a gain this epoch) may return why the training has converged on its own terms (e.g. train
    accuracy at its target). ``log``: where each epoch's validation figure is written."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        evaluate: Evaluate,
        key: str,
        mode: str,
        plateau: Plateau,
        target: Target | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be max or min, got {mode!r}")
        self.model, self.optimizer, self.evaluate = model, optimizer, evaluate
        self.key, self.mode, self.plateau, self.target, self.log = key, mode, plateau, target, log
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode=mode,
            factor=plateau.lr_factor,
            patience=plateau.lr_patience,
            threshold=plateau.min_delta,
            threshold_mode="abs",
        )
        self.best: dict[str, float] | None = None
        self.best_epoch = 0  # the epoch whose weights are kept (the latest of equally good ones)
        self.gain_epoch = 0  # the last epoch that improved on the best by more than min_delta (patience)
        self.best_weights: dict[str, torch.Tensor] | None = None

    def _compare(self, value: float) -> tuple[bool, bool]:
        """(at least as good as the best, better by more than ``min_delta``)."""
        if self.best is None:
            return True, True
        best, delta = self.best[self.key], self.plateau.min_delta
        if self.mode == "max":
            return value >= best, value > best + delta
        return value <= best, value < best - delta

    def __call__(self, row: dict[str, float]) -> str | None:
        row["lr"] = float(self.optimizer.param_groups[0]["lr"])
        diverged = non_finite_loss(row)
        if diverged:  # the weights are NaN: no figure of this epoch can be kept or counted
            kept = f"epoch {self.best_epoch}'s" if self.best is not None else "no"
            return f"{diverged}; {kept} best-validation weights kept"
        figures = self.evaluate()
        improved = False
        if figures is not None:
            row.update(figures)
            value = float(figures[self.key])
            as_good, improved = self._compare(value)
            if improved:
                self.gain_epoch = int(row["epoch"])
            if as_good:
                self.best, self.best_epoch = dict(figures), int(row["epoch"])
                self.best_weights = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
            self.scheduler.step(value)
            if self.log is not None:
                self.log(
                    f"  epoch {int(row['epoch'])}: validation {self.key}={value:.4g} (best {self.best[self.key]:.4g} "
                    f"at epoch {self.best_epoch}), lr {row['lr']:.3g}"
                )
        reason = self.target(row, improved) if self.target is not None else None
        if reason:
            return f"{CONVERGED}: {reason}"
        if figures is not None and row["epoch"] - self.gain_epoch >= self.plateau.patience:
            return (
                f"{CONVERGED}: validation {self.key} has not improved for {self.plateau.patience} epochs "
                f"(best {self.best[self.key]:.4g} at epoch {self.best_epoch})"
            )
        return None

    def restore_best(self) -> None:
        """Load the best-validation weights into the model (no-op without a validation slice)."""
        if self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "gain_epoch": self.gain_epoch,
            "best_weights": self.best_weights,
            "scheduler": self.scheduler.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], int(state["best_epoch"])
        self.gain_epoch = int(state["gain_epoch"])
        self.best_weights = state["best_weights"]
        self.scheduler.load_state_dict(state["scheduler"])

    def record(self, stopped: str, epochs: int) -> dict[str, Any]:
        """What a metric JSON keeps of the training: ``status`` (converged / budget / diverged), epochs run, why it
        stopped, the best validation figures (``best_{key}`` and the rest, prefixed ``best_``) and their epoch."""
        out: dict[str, Any] = {"status": status(stopped), "epochs": int(epochs), "stopped": stopped}
        out["best_epoch"] = self.best_epoch if self.best is not None else None
        for k, v in (self.best or {}).items():
            out[f"best_{k}"] = v
        return out
