"""The identity-budget stop of the privacy enhancers (issue 12): decided on a held-out slice of the
train split, with the enhancer in eval mode (batch-norm running statistics, as G is written), not on
the training batches' accuracy under training-mode batch norm.

The held-out slice is whole training clips (every frame or band image of a held-out clip leaves the
training set), drawn per identity with a seeded generator, so each identity the controller knows
is represented. Test clips are never used."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset

from ppfer_core.arrays import BandDataset, FrameDataset
from ppfer_core.classifiers import predict_labels


def item_clips(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(clip of every item, label of every clip) of a frame / band-image dataset; a plain
    TensorDataset (x, y) counts each item as its own clip."""
    if isinstance(dataset, ConcatDataset):
        parts = [item_clips(d) for d in dataset.datasets]
        return np.concatenate([c for c, _ in parts]), parts[0][1]
    if isinstance(dataset, FrameDataset) and not dataset.per_clip:
        return np.arange(len(dataset)) // dataset.t, dataset.labels.numpy()
    if isinstance(dataset, BandDataset):
        return np.arange(len(dataset)) // dataset.per_clip, dataset.labels.numpy()
    if isinstance(dataset, TensorDataset):
        return np.arange(len(dataset)), dataset.tensors[1].numpy()
    raise TypeError(f"cannot hold out clips of a {type(dataset).__name__}")


def holdout_split(dataset: Dataset, fraction: float, seed: int) -> tuple[Subset, Subset]:
    """(train, held-out) subsets: ``fraction`` of each identity's clips (at least one of an identity
    with two or more, never all of them) held out, whole."""
    if not 0 < fraction < 1:
        raise ValueError(f"enhancer.holdout must be a fraction in (0, 1), got {fraction}")
    clips, labels = item_clips(dataset)
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for y in np.unique(labels):
        ids = np.flatnonzero(labels == y)
        k = min(max(int(round(fraction * len(ids))), 1), len(ids) - 1)
        held.extend(rng.choice(ids, size=k, replace=False).tolist() if k > 0 else [])
    mask = np.isin(clips, held)
    if not mask.any():
        raise ValueError("the identity-budget hold-out is empty: every identity has a single training clip")
    return Subset(dataset, np.flatnonzero(~mask).tolist()), Subset(dataset, np.flatnonzero(mask).tolist())


def enhanced_accuracy(
    enhancer: nn.Module, controller: nn.Module, dataset: Dataset, device: torch.device, batch_size: int = 64
) -> float:
    """The controller's identity accuracy (fraction) on the enhancer's outputs, both in eval mode
    (through :func:`~ppfer_core.classifiers.predict_labels`, the one inference loop over a dataset).
    The enhancer's mode is restored afterwards."""
    was_training = enhancer.training
    try:
        pred, true = predict_labels(nn.Sequential(enhancer, controller), dataset, device, batch_size)
    finally:
        enhancer.train(was_training)
    return float((pred == true).sum()) / max(len(true), 1)


def heldout_budget_stop(
    enhancer: nn.Module,
    controller: nn.Module,
    held: Dataset,
    budget: float,
    device: torch.device,
    batch_size: int,
    log: Callable[[str], None],
) -> Callable[[dict[str, float]], str | None]:
    """Stop rule: after each epoch, the controller's eval-mode accuracy on the enhanced held-out
    slice (recorded in the epoch's row as ``heldout_controller_acc``) at or below ``budget``."""

    def stop(row: dict[str, float]) -> str | None:
        acc = enhanced_accuracy(enhancer, controller, held, device, batch_size)
        row["heldout_controller_acc"] = acc
        log(
            f"epoch {row.get('epoch')}: controller accuracy on the held-out train slice (eval mode) {acc:.4f}"
        )
        if acc <= budget:
            return f"identity budget reached: held-out controller accuracy {acc:.4f} <= {budget}"
        return None

    return stop
