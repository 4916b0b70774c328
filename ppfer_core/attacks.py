"""The worst-case attack suite (beyond the paper): identity attackers that adapt to a representation.

Every attacker trains only on a representation's *train* split and is scored on its *test* split,
both on the paper's one seeded random frame per clip (the frame V_pl sees) and per clip by voting
over all of the clip's frames:

- ``validator``: V_pl itself (the paper's PLR), also scored by voting;
- ``adaptive``: an identity classifier fine-tuned from V_pl on the representation's train frames;
- ``scratch``: a plain 4-layer CNN (:class:`ppfer_core.nets.SmallCNN`) trained from a fresh initialisation;
- ``clip``: a video identity classifier (R3D family, ``create_model("video", arch)``)
  on whole clips, since identity also lives in motion (one score: a clip-level prediction);
- ``recovered``: V_pl on the recovery attack's output (:mod:`ppfer_core.threat`).

Attackers train with random horizontal flips and shifts until they converge (:class:`Convergence`:
the epoch's train accuracy reaches a target, or the accuracy on a validation slice held out from
the *train* split stops improving); the epoch cap is only a safety net, and a run that hits it is
reported as such. ``plr_worst`` is the highest leakage over all attackers and both scorings
(:func:`ppfer_core.suite.worst_case`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ppfer_core.arrays import (
    ClipDataset,
    FlipShiftFrames,
    batched,
    batches,
    frames_to_tensor,
)
from ppfer_core.classifiers import fit_classifier
from ppfer_core.evaluation import leakage_frames
from ppfer_core.nets import SMALL_CNN, Normalized
from ppfer_core.registry import create_model
from ppfer_core.training import Run, TrainResult, TrainSettings, autocast

# --------------------------------------------------------------------------------------------- models


def build_clip_attacker(arch: str, num_classes: int, width: int, pool: int = 1) -> nn.Module:
    """The clip-level attacker: a video classifier of the R3D family (``create_model("video", arch)``,
    from scratch) on clips ``[B, 3, T, H, W]``, after averaging ``pool`` x ``pool`` pixel blocks (cheaper)."""
    model = create_model("video", arch, num_classes=num_classes, width=width)
    return nn.Sequential(nn.AvgPool3d((1, pool, pool)), model) if pool > 1 else model


def build_small_cnn(num_classes: int, width: int = 32) -> Normalized:
    """:class:`ppfer_core.nets.SmallCNN` on float frames in [0, 1] (ImageNet normalisation inside, as the other classifiers)."""
    return create_model("image", SMALL_CNN, num_classes=num_classes, width=width)


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Convergence:
    """When an attacker counts as trained: an epoch's (augmented) train accuracy reaches
    ``target_train_acc``, or the accuracy on the validation slice (``val_fraction`` of each identity's
    train clips, never test clips) has not improved for ``patience`` epochs. ``shift``: px of the
    random shift augmentation (with a random horizontal flip)."""

    target_train_acc: float = 0.99
    patience: int = 3
    val_fraction: float = 0.1
    shift: int = 4

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Convergence:
        return cls(
            float(cfg["target_train_acc"]),
            int(cfg["patience"]),
            float(cfg["val_fraction"]),
            int(cfg["shift"]),
        )


def validation_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the train split kept for training and held out for validation: ``fraction`` of each
    class's clips (rounded down; none when a class has fewer than 2 clips), chosen with ``seed``."""
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        k = int(len(rows) * fraction) if len(rows) > 1 else 0
        val.extend(rng.choice(rows, size=min(k, len(rows) - 1), replace=False).tolist())
    val_rows = np.sort(np.asarray(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(labels)), val_rows), val_rows


@dataclass
class TrainSplit:
    """An attacker's train split in memory: the clips it fits and its validation slice (both from the
    representation's train split only; :func:`validation_split`)."""

    fit: np.ndarray
    fit_ids: np.ndarray
    val: np.ndarray
    val_ids: np.ndarray

    @classmethod
    def of(cls, clips: np.ndarray, ids: np.ndarray, conv: Convergence, seed: int) -> TrainSplit:
        fit_rows, val_rows = validation_split(ids, conv.val_fraction, seed)
        return cls(np.asarray(clips[fit_rows]), ids[fit_rows], np.asarray(clips[val_rows]), ids[val_rows])

    def sizes(self) -> dict[str, int]:
        return {"train_clips": len(self.fit), "val_clips": len(self.val)}


# --------------------------------------------------------------------------------------------- scoring


@torch.no_grad()
def frame_logits(model: nn.Module, clips: np.ndarray, device: torch.device, batch: int = 256) -> np.ndarray:
    """Logits of every frame of uint8 clips ``[N, T, H, W, 3]``: float32 ``[N, T, classes]``."""
    model.to(device).eval()
    n, t = clips.shape[:2]
    return (
        batched(lambda x: model(x).float(), clips.reshape(n * t, *clips.shape[2:]), batch, device)
        .reshape(n, t, -1)
        .numpy()
    )


def vote(logits: np.ndarray) -> np.ndarray:
    """Per clip, the class most frames predict (``logits [N, T, C]``); ties go to the higher summed probability."""
    n, t, c = logits.shape
    counts = np.zeros((n, c))
    np.add.at(counts, (np.repeat(np.arange(n), t), logits.argmax(-1).ravel()), 1.0)
    probs = torch.softmax(torch.from_numpy(logits), -1).sum(1).numpy()
    return (counts + 1e-3 * probs / t).argmax(1)


def score_frames(logits: np.ndarray, identities: np.ndarray, leakage_seed: int) -> dict[str, Any]:
    """Leakage of frame logits ``[N, T, C]``: on the seeded random frame per clip V_pl sees
    (``plr``, ``correct``) and by voting over all frames (``plr_vote``, ``correct_vote``), in percent."""
    n, t = logits.shape[:2]
    one = logits[np.arange(n), leakage_frames(n, t, leakage_seed)].argmax(-1)
    correct, correct_vote = int((one == identities).sum()), int((vote(logits) == identities).sum())
    return {
        "plr": 100.0 * correct / n,
        "correct": correct,
        "plr_vote": 100.0 * correct_vote / n,
        "correct_vote": correct_vote,
        "n": int(n),
        "chance": 100.0 / logits.shape[-1],
        "n_identities": int(logits.shape[-1]),
    }


@torch.no_grad()
def clip_accuracy(
    model: nn.Module, clips: np.ndarray, labels: np.ndarray, device: torch.device, batch: int = 16
) -> tuple[int, int]:
    """Correct clip-level predictions of a video classifier over uint8 clips, and their number."""
    model.to(device).eval()
    correct = 0
    for sl in batches(len(clips), batch):
        x = frames_to_tensor(np.asarray(clips[sl])).movedim(1, 2).to(device)
        with autocast(device):
            correct += int((model(x).argmax(1).cpu().numpy() == labels[sl]).sum())
    return correct, len(clips)


# --------------------------------------------------------------------------------------------- training


def convergence_stop(
    conv: Convergence, val_acc: Callable[[], float | None], log: Callable[[str], None]
) -> Callable:
    """The training loop's stop rule for an attacker: adds ``val_acc`` to each epoch's row and stops
    once the train accuracy reaches the target (and the validation accuracy has stopped rising or
    reached it too), or the validation accuracy has plateaued."""
    best = {"acc": -1.0, "epoch": 0}

    def stop(row: dict[str, float]) -> str | None:
        acc = val_acc()
        improved = acc is not None and acc > best["acc"]
        if acc is not None:
            row["val_acc"] = acc
            if improved:
                best.update(acc=acc, epoch=row["epoch"])
        if row.get("acc", 0.0) >= conv.target_train_acc and (not improved or acc >= conv.target_train_acc):
            return f"converged: train accuracy {row['acc']:.4f} >= {conv.target_train_acc}"
        if acc is not None and row["epoch"] - best["epoch"] >= conv.patience:
            return f"converged: validation accuracy has not improved for {conv.patience} epochs (best {best['acc']:.4f})"
        return None

    return stop


@dataclass
class AttackerRun:
    """A trained attacker's training record: final train / validation accuracy and why it stopped."""

    train_acc: float
    val_acc: float | None
    epochs: int
    stopped: str
    converged: bool
    history: list[dict[str, float]]

    @classmethod
    def of(cls, result: TrainResult) -> AttackerRun:
        last = result.history[-1] if result.history else {}
        return cls(
            float(last.get("acc", float("nan"))),
            last.get("val_acc"),
            len(result.history),
            result.stopped,
            result.stopped.startswith("converged"),
            result.history,
        )

    def summary(self) -> dict[str, Any]:
        return {
            "train_acc": self.train_acc,
            "val_acc": self.val_acc,
            "epochs": self.epochs,
            "stopped": self.stopped,
            "converged": self.converged,
            "history": self.history,
        }


def fit_attacker(
    model: nn.Module,
    train_set: Dataset,
    val_acc: Callable[[], float | None],
    settings: TrainSettings | Mapping[str, Any],
    conv: Convergence,
    run: Run,
) -> AttackerRun:
    """Train an attacker with cross-entropy (``settings``: epochs = the cap, batch_size, lr, optimizer[,
    items_per_epoch]) until it converges (:func:`convergence_stop`); returns its training record."""
    record = AttackerRun.of(
        fit_classifier(model, train_set, settings, run, stop=convergence_stop(conv, val_acc, run.log))
    )
    if not record.converged:
        run.log(
            f"[{run.desc}] WARNING: stopped at the epoch cap before converging (train accuracy {record.train_acc:.4f})"
        )
    return record


def frame_attack(
    model: nn.Module,
    train_clips: np.ndarray,
    train_ids: np.ndarray,
    test_clips: np.ndarray,
    test_ids: np.ndarray,
    settings: TrainSettings | Mapping[str, Any],
    conv: Convergence,
    run: Run,
    leakage_seed: int,
) -> dict[str, Any]:
    """A frame-level identity attacker: trained on every (flipped, shifted) frame of the train clips
    minus a validation slice of them, scored on the test clips by one frame and by voting."""
    split = TrainSplit.of(train_clips, train_ids, conv, run.seed)

    def val_acc() -> float | None:
        return (
            float((frame_logits(model, split.val, run.device).argmax(-1) == split.val_ids[:, None]).mean())
            if len(split.val)
            else None
        )

    record = fit_attacker(
        model, FlipShiftFrames(split.fit, split.fit_ids, conv.shift), val_acc, settings, conv, run
    )
    scores = score_frames(frame_logits(model, test_clips, run.device), test_ids, leakage_seed)
    return {**scores, **record.summary(), **split.sizes()}


def clip_attack(
    model: nn.Module,
    train_clips: np.ndarray,
    train_ids: np.ndarray,
    test_clips: np.ndarray,
    test_ids: np.ndarray,
    settings: TrainSettings | Mapping[str, Any],
    conv: Convergence,
    run: Run,
) -> dict[str, Any]:
    """A clip-level identity attacker (a video classifier on whole, flipped and shifted clips),
    trained on the train clips minus a validation slice, scored per test clip."""
    split = TrainSplit.of(train_clips, train_ids, conv, run.seed)

    def val_acc() -> float | None:
        return (
            clip_accuracy(model, split.val, split.val_ids, run.device)[0] / len(split.val)
            if len(split.val)
            else None
        )

    data = ClipDataset(split.fit, split.fit_ids, augment=True, shift=conv.shift)
    record = fit_attacker(model, data, val_acc, settings, conv, run)
    correct, n = clip_accuracy(model, test_clips, test_ids, run.device)
    n_ids = int(max(train_ids.max(), test_ids.max()) + 1)
    return {
        "plr": 100.0 * correct / n,
        "correct": correct,
        "n": n,
        "chance": 100.0 / n_ids,
        **record.summary(),
        **split.sizes(),
    }
