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

Attackers train with random horizontal flips and shifts, in full passes over their train items, until
they converge (:class:`Convergence`: the epoch's train accuracy reaches a target, or the accuracy on a
validation slice held out from the *train* split has not improved for 10 passes, with the learning rate
reduced on its plateau); the best-validation weights are scored. The epoch cap is only a safety net: a
run that hits it has ``status: budget`` in its record (:class:`AttackerRun`), one whose training loss
turns non-finite stops there with ``status: diverged`` (its best-validation weights before it are scored). Each record keeps the
validation counts (``val_correct`` / ``val_n``) that choose the worst attacker per representation
without looking at test (:func:`ppfer_core.stats.select_on_validation`) and per-clip ``hits`` for
actor-clustered intervals and paired tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

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
from ppfer_core.classifiers import cross_entropy_loss
from ppfer_core.evaluation import leakage_frames
from ppfer_core.nets import SMALL_CNN, Normalized
from ppfer_core.plateau import (
    CONVERGED,
    DIVERGED,
    BestOnValidation,
    Evaluate,
    FromConfig,
    Plateau,
    Target,
    status,
)
from ppfer_core.registry import create_model
from ppfer_core.training import (
    Player,
    Run,
    TrainResult,
    TrainSettings,
    autocast,
    cpu_dtype_for,
    fit,
    to_device,
)

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
class Convergence(FromConfig):
    """When an attacker counts as trained (issue 26). Every epoch is a full pass over its train items;
    it has converged when an epoch's (augmented) train accuracy reaches ``target_train_acc`` (while the
    validation accuracy is no longer rising), or when the accuracy on the validation slice
    (``val_fraction`` of each identity's train clips, never test clips) has not improved for
    ``patience`` full passes. The learning rate is multiplied by ``lr_factor`` after ``lr_patience``
    passes without a gain (reduce-on-plateau); the best-validation weights are the ones scored. A
    training that reaches its epoch cap first is reported as ``budget``. ``shift``: px of the random
    shift augmentation (with a random horizontal flip). ``frames`` (frame attackers): ``all``, an
    epoch is every frame of every train clip; ``one``, one random frame of every train clip (a pass
    over the clips, much cheaper; the frame drawn anew each epoch)."""

    target_train_acc: float = 0.99
    patience: int = 10
    val_fraction: float = 0.1
    shift: int = 4
    lr_factor: float = 0.5
    lr_patience: int = 3
    frames: str = "all"

    ENTRY: ClassVar[str] = "threat.attacks.convergence"

    def __post_init__(self) -> None:
        if self.frames not in ("all", "one"):
            raise ValueError(f"threat.attacks.convergence.frames must be all or one, got {self.frames!r}")

    def plateau(self) -> Plateau:
        return Plateau(self.patience, 0.0, self.lr_factor, self.lr_patience)


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
def frame_logits(
    model: nn.Module,
    clips: np.ndarray,
    device: torch.device,
    batch: int = 256,
    cpu_dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """Logits of every frame of uint8 clips ``[N, T, H, W, 3]``: float32 ``[N, T, classes]`` (computed under
    :func:`~ppfer_core.training.autocast` with ``cpu_dtype``: an attacker is scored in the dtype it trained in)."""
    to_device(model, device).eval()
    n, t = clips.shape[:2]
    frames = clips.reshape(n * t, *clips.shape[2:])
    return (
        batched(lambda x: model(x).float(), frames, batch, device, cpu_dtype=cpu_dtype)
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
    (``plr``, ``correct``) and by voting over all frames (``plr_vote``, ``correct_vote``), in percent;
    ``hits`` / ``hits_vote``: 1 per clip re-identified, in the clips' order (for actor-clustered
    intervals and paired tests, :mod:`ppfer_core.stats`)."""
    n, t = logits.shape[:2]
    one = logits[np.arange(n), leakage_frames(n, t, leakage_seed)].argmax(-1) == identities
    voted = vote(logits) == identities
    correct, correct_vote = int(one.sum()), int(voted.sum())
    return {
        "plr": 100.0 * correct / n,
        "correct": correct,
        "plr_vote": 100.0 * correct_vote / n,
        "correct_vote": correct_vote,
        "n": int(n),
        "chance": 100.0 / logits.shape[-1],
        "n_identities": int(logits.shape[-1]),
        "hits": one.astype(int).tolist(),
        "hits_vote": voted.astype(int).tolist(),
    }


def validation_scores(
    logits: np.ndarray, identities: np.ndarray, leakage_seed: int
) -> dict[str, float | int]:
    """An attacker's figures on its validation slice (frame logits ``[N, T, C]``): ``val_acc`` over every
    frame (what its training follows), and the clip counts scored as on test: ``val_correct`` (the seeded
    random frame), ``val_correct_vote`` (voting), ``val_n`` -- what :func:`ppfer_core.stats.select_on_validation` reads."""
    s = score_frames(logits, identities, leakage_seed)
    return {
        "val_acc": float((logits.argmax(-1) == identities[:, None]).mean()),
        "val_correct": s["correct"],
        "val_correct_vote": s["correct_vote"],
        "val_n": s["n"],
    }


def slice_scores(
    model: nn.Module,
    train_clips: np.ndarray,
    train_ids: np.ndarray,
    conv: Convergence,
    seed: int,
    device: torch.device,
    leakage_seed: int,
) -> dict[str, float | int | None]:
    """:func:`validation_scores` of a model trained elsewhere (V_pl) on the validation slice an attacker
    trained with ``seed`` holds out of ``train_clips`` (:func:`validation_split`); ``val_n`` 0 (and
    None figures) when the slice is empty."""
    _, rows = validation_split(train_ids, conv.val_fraction, seed)
    if not len(rows):
        return {"val_acc": None, "val_correct": None, "val_correct_vote": None, "val_n": 0}
    return validation_scores(
        frame_logits(model, np.asarray(train_clips[rows]), device), train_ids[rows], leakage_seed
    )


@torch.no_grad()
def clip_predictions(
    model: nn.Module, clips: np.ndarray, device: torch.device, batch: int = 16
) -> np.ndarray:
    """Clip-level predictions of a video classifier over uint8 clips ``[N, T, H, W, 3]``."""
    to_device(model, device).eval()
    preds = []
    for sl in batches(len(clips), batch):
        x = frames_to_tensor(np.asarray(clips[sl])).movedim(1, 2).to(device)
        with autocast(device):
            preds.append(model(x).argmax(1).cpu().numpy())
    return np.concatenate(preds) if preds else np.zeros(0, dtype=np.int64)


def clip_accuracy(
    model: nn.Module, clips: np.ndarray, labels: np.ndarray, device: torch.device, batch: int = 16
) -> tuple[int, int]:
    """Correct clip-level predictions of a video classifier over uint8 clips, and their number."""
    return int((clip_predictions(model, clips, device, batch) == labels).sum()), len(clips)


# --------------------------------------------------------------------------------------------- training


def train_target(conv: Convergence) -> Target:
    """An attacker has fit its train split when an epoch's train accuracy reaches the target and the
    validation accuracy did not rise in that epoch (or is at the target too, or there is no slice)."""

    def target(row: Mapping[str, float], improved: bool) -> str | None:
        acc, val = row.get("acc", 0.0), row.get("val_acc")
        if acc >= conv.target_train_acc and (not improved or val is None or val >= conv.target_train_acc):
            return f"train accuracy {acc:.4f} >= {conv.target_train_acc}"
        return None

    return target


@dataclass
class AttackerRun:
    """A trained attacker's record (issue 26): ``status`` converged / budget / diverged, epochs (full passes) run,
    why it stopped, the best-validation epoch (whose weights are scored) with its train accuracy and
    validation figures (``val_acc`` over frames or clips; ``val_correct`` / ``val_n`` clips, scored as
    on test; ``val_correct_vote`` for frame attackers), the last epoch's train accuracy, the history and
    the dtype it trained in."""

    status: str
    epochs: int
    stopped: str
    train_acc: float
    last_train_acc: float
    best_epoch: int | None
    best_val: dict[str, float]
    history: list[dict[str, float]]
    train_dtype: str = "float32"

    @classmethod
    def of(cls, result: TrainResult, monitor: BestOnValidation) -> AttackerRun:
        last = result.history[-1] if result.history else {}
        best = monitor.best or {}
        scored = result.history[monitor.best_epoch - 1] if monitor.best is not None else last
        return cls(
            status(result.stopped),
            len(result.history),
            result.stopped,
            float(scored.get("acc", float("nan"))),
            float(last.get("acc", float("nan"))),
            monitor.best_epoch if monitor.best is not None else None,
            dict(best),
            result.history,
            result.dtype,
        )

    @property
    def converged(self) -> bool:
        return self.status == CONVERGED

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "converged": self.converged,
            "epochs": self.epochs,
            "stopped": self.stopped,
            "train_acc": self.train_acc,
            "last_train_acc": self.last_train_acc,
            "best_epoch": self.best_epoch,
            "val_acc": self.best_val.get("val_acc"),
            "val_correct": self.best_val.get("val_correct"),
            "val_correct_vote": self.best_val.get("val_correct_vote"),
            "val_n": int(self.best_val.get("val_n", 0)),
            "history": self.history,
            "train_dtype": self.train_dtype,
        }


def fit_attacker(
    model: nn.Module,
    train_set: Dataset,
    evaluate: Evaluate,
    settings: TrainSettings | Mapping[str, Any],
    conv: Convergence,
    run: Run,
) -> AttackerRun:
    """Train an attacker with cross-entropy (``settings``: epochs = the cap, batch_size, lr, optimizer)
    in full passes over ``train_set`` until it converges (:class:`Convergence`, ``evaluate``: its
    validation figures, :class:`ppfer_core.plateau.BestOnValidation`), then load its best-validation
    weights; returns its training record."""
    s = TrainSettings.from_config(settings)
    if s.items_per_epoch is not None and s.items_per_epoch < len(train_set):
        raise ValueError(
            f"[{run.desc}] items_per_epoch {s.items_per_epoch} is less than one pass over the attacker's "
            f"{len(train_set)} train items: an attacker's epochs are full passes (set items_per_epoch: null)"
        )
    model.to(run.device)
    opt = s.make_optimizer(model.parameters())
    monitor = BestOnValidation(
        model, opt, evaluate, "val_acc", "max", conv.plateau(), train_target(conv), run.log
    )
    fingerprint = {"settings": s.config(), "convergence": asdict(conv), "desc": run.desc, "n": len(train_set)}
    result = fit(
        [Player("ce", [model], opt, cross_entropy_loss(model))], train_set, s, run, fingerprint, monitor
    )
    monitor.restore_best()
    record = AttackerRun.of(result, monitor)
    if record.status == DIVERGED:
        run.log(f"[{run.desc}] WARNING: {record.stopped}: status diverged")
    elif not record.converged:
        run.log(
            f"[{run.desc}] WARNING: stopped at the epoch cap ({record.epochs}) before converging "
            f"(train accuracy {record.last_train_acc:.4f}): status budget"
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
    minus a validation slice of them, its best-validation weights scored on the test clips by one
    frame and by voting (:func:`score_frames`), with its record (:class:`AttackerRun`)."""
    split = TrainSplit.of(train_clips, train_ids, conv, run.seed)
    dtype = cpu_dtype_for([model], run.cpu_dtype)  # scored in the dtype it trains in

    def evaluate() -> dict[str, float | int] | None:
        if not len(split.val):
            return None
        logits = frame_logits(model, split.val, run.device, cpu_dtype=dtype)
        return validation_scores(logits, split.val_ids, leakage_seed)

    per_clip = 1 if conv.frames == "one" else None
    record = fit_attacker(
        model, FlipShiftFrames(split.fit, split.fit_ids, conv.shift, per_clip), evaluate, settings, conv, run
    )
    scores = score_frames(
        frame_logits(model, test_clips, run.device, cpu_dtype=dtype), test_ids, leakage_seed
    )
    return {**scores, **record.summary(), **split.sizes()}


CLIP_ATTACKER_DTYPE = torch.float32
"""What the clip attacker trains in on CPU. Under CPU bf16 autocast (``cpu_dtype: auto`` on a bf16 CPU) the
R3D clip attacker's loss turned NaN within 1-5 passes on 14 of the default run's 18 representations
(a417459; issue 26): every later pass at chance, the cell scored with 1-4-pass weights. In float32 the
same training (blur-s2, seed 0) rose to 81 % validation accuracy in 4 passes, where bf16 was NaN in
pass 2, at the same CPU time per pass (2.8 s against 2.9 s)."""


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
    trained on the train clips minus a validation slice, its best-validation weights scored per test
    clip (``hits``: 1 per clip re-identified), with its record (:class:`AttackerRun`).

    It trains in float32 whatever ``run.cpu_dtype`` says (:data:`CLIP_ATTACKER_DTYPE`)."""
    run = replace(run, cpu_dtype=CLIP_ATTACKER_DTYPE)
    split = TrainSplit.of(train_clips, train_ids, conv, run.seed)

    def evaluate() -> dict[str, float | int] | None:
        if not len(split.val):
            return None
        correct, n = clip_accuracy(model, split.val, split.val_ids, run.device)
        return {"val_acc": correct / n, "val_correct": correct, "val_n": n}

    data = ClipDataset(split.fit, split.fit_ids, augment=True, shift=conv.shift)
    record = fit_attacker(model, data, evaluate, settings, conv, run)
    hits = clip_predictions(model, test_clips, run.device) == test_ids
    n_ids = int(max(train_ids.max(), test_ids.max()) + 1)
    return {
        "plr": 100.0 * int(hits.sum()) / len(hits),
        "correct": int(hits.sum()),
        "n": len(hits),
        "chance": 100.0 / n_ids,
        "hits": hits.astype(int).tolist(),
        **record.summary(),
        **split.sizes(),
    }
