"""F_u's validation figure (issue 26): what Table 1's "Gaussian Blur 2" is matched on, so that no
choice of the workflow reads a test figure.

The validation slice is ``fraction`` of each expression's *train* clips, drawn with a seeded generator
from the train clips' expressions alone (:func:`ppfer_core.attacks.validation_split`), so every
representation of one corpus index holds out the same clips and the blur sweep and Ours are compared on
like clips. F_u's reported test ACC comes from the model trained on every train clip (the paper's); the
validation figure from a sibling trained with the same recipe on the train clips outside the slice and
scored on the slice. Neither training stops or selects on anything: both run their epochs and keep
their last weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from ppfer_core.arrays import ClipDataset
from ppfer_core.attacks import validation_split
from ppfer_core.classifiers import fit_classifier, score_clips
from ppfer_core.training import Run, TrainSettings, seed_everything


@dataclass(frozen=True)
class UtilitySlice:
    """F_u's validation slice of train (config key ``utility.val_fraction``; ``seed``: the utility rule's)."""

    fraction: float
    seed: int

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction < 1.0:
            raise ValueError(f"utility.val_fraction must be in (0, 1), got {self.fraction}")

    def rows(self, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(train rows the sibling fits, validation rows) of the train clips with expressions ``labels``:
        ``fraction`` of each expression's clips (rounded down), disjoint, sorted."""
        fit_rows, val_rows = validation_split(np.asarray(labels), self.fraction, self.seed)
        if not len(val_rows):
            raise ValueError(
                f"utility.val_fraction {self.fraction} holds out no train clip (the smallest expression has "
                f"{int(np.bincount(labels).min())} train clips): raise it"
            )
        return fit_rows, val_rows


def validation_record(
    build: Callable[[], nn.Module],
    clips: np.ndarray,
    labels: np.ndarray,
    split: UtilitySlice,
    settings: TrainSettings | Mapping[str, Any],
    run: Run,
    augment: bool,
) -> dict[str, Any]:
    """Train a fresh F_u (``build()``, after re-seeding with ``run.seed``) with ``settings`` on the train
    ``clips`` outside the validation slice and score it on the slice: ``val_acc`` (percent),
    ``val_correct``, ``val_n``, ``val_fraction``, ``val_train_clips``, ``val_rows`` (the slice's train
    rows: the same for every representation of one index) and its training history (``val_history``)."""
    fit_rows, val_rows = split.rows(labels)
    seed_everything(run.seed)
    model = build()
    result = fit_classifier(
        model, ClipDataset(np.asarray(clips[fit_rows]), labels[fit_rows], augment=augment), settings, run
    )
    scores = score_clips(model, ClipDataset(np.asarray(clips[val_rows]), labels[val_rows]), run.device)
    correct = int((scores.pred == scores.true).sum())
    return {
        "val_acc": 100.0 * correct / len(val_rows),
        "val_correct": correct,
        "val_n": int(len(val_rows)),
        "val_fraction": split.fraction,
        "val_train_clips": int(len(fit_rows)),
        "val_rows": val_rows.tolist(),
        "val_history": result.history,
    }
