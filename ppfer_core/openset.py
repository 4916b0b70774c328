"""Open-set mode (after arXiv 2603.21387): an identity-disjoint split of the ingested clips, an
identity embedder learnt from video priors only (no identity labels), and privacy enhancers
trained against it.

- :func:`identity_disjoint_split` picks the unseen test actors (seeded, stratified by emotion);
  :func:`open_indexes` turns that into a label-free index (no ``actor``, no ``clip_id``, no
  ``source``: all three name the actor) and a separate, evaluation-only identity table.
- The video prior: two different frames of one clip are a positive pair, the other clips of the
  batch are negatives (NT-Xent, :class:`VideoPairDataset`, :func:`video_prior_loss`).
- :func:`suppression_loss`: the enhancers' objective against the frozen embedder: its
  frame-to-frame similarities should no longer single out the other frame of the same clip
  (cross-entropy to the uniform distribution over the batch), with an L1 anchor to the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ppfer_core import wavelet
from ppfer_core.arrays import band_to_image, frames_to_tensor, npy_output
from ppfer_core.enhancer import enhance_frames
from ppfer_core.tradeoff import augment, nt_xent

LABEL_FREE_COLUMNS = ["split", "row", "emotion", "label"]
"""Columns of the open split's index: the rules of the open-set path see nothing else."""


@dataclass(frozen=True)
class OpenSplit:
    """Assignment of the ingested clips to the identity-disjoint split."""

    test_actors: tuple[str, ...]
    split: pd.Series  # per index row: "train" | "test"
    emotion_gap: float  # L1 distance of the test split's emotion distribution from the corpus'


def emotion_gap(emotions: pd.Series, overall: pd.Series) -> float:
    """L1 distance between the emotion distribution of ``emotions`` and ``overall`` (fractions)."""
    share = emotions.value_counts(normalize=True).reindex(overall.index, fill_value=0.0)
    return float((share - overall).abs().sum())


def identity_disjoint_split(
    index: pd.DataFrame, test_actors: int, seed: int, candidates: int = 256
) -> OpenSplit:
    """Every clip of ``test_actors`` actors goes to test, all others to train.

    Among ``candidates`` seeded random draws of test actors, the one whose test emotion
    distribution is closest (L1) to the whole corpus' is taken (stratified by emotion); every
    emotion must then occur in both splits. Depends only on the clips' actors and emotions and on
    the seed, not on the row order."""
    if "actor" not in index.columns or index["actor"].isna().any():
        raise ValueError(
            "identity-disjoint split: every clip of the index needs an actor (CREMA-D-form corpus)"
        )
    actors = sorted(index["actor"].astype(str).unique())
    if not 1 <= test_actors < len(actors):
        raise ValueError(
            f"config key openset.test_actors = {test_actors} needs 1 <= test_actors < number of actors "
            f"({len(actors)} in the corpus; embedded corpus: data.synthetic.actors)"
        )
    actor = index["actor"].astype(str)
    overall = index["emotion"].value_counts(normalize=True).sort_index()
    counts = (
        pd.crosstab(actor, index["emotion"])
        .reindex(index=actors, columns=overall.index, fill_value=0)
        .to_numpy(float)
    )
    rng = np.random.default_rng(seed)
    best: tuple[float, tuple[str, ...]] | None = None
    for _ in range(candidates):
        chosen = rng.choice(len(actors), size=test_actors, replace=False)
        cell = counts[chosen].sum(0)
        gap = float(np.abs(cell / cell.sum() - overall.to_numpy()).sum())
        pick = tuple(sorted(actors[i] for i in chosen))
        if best is None or gap < best[0] - 1e-12:
            best = (gap, pick)
    gap, pick = best
    split = pd.Series(np.where(actor.isin(pick), "test", "train"), index=index.index)
    for name in ("train", "test"):
        missing = set(overall.index) - set(index["emotion"][split == name])
        if missing:
            raise ValueError(
                f"identity-disjoint split: no {sorted(missing)} clip in open-set {name} split "
                f"(openset.test_actors = {test_actors})"
            )
    return OpenSplit(pick, split, gap)


def open_indexes(index: pd.DataFrame, open_split: OpenSplit) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The open split's label-free index and its evaluation-only identity table.

    Rows keep the ingest order (closed train rows, then closed test rows); ``row`` is the
    position in the new split array. Returns (label-free index, identities) where the identity
    table has ``split, row, actor, source_split, source_row``."""
    frame = index.assign(open_split=open_split.split.values)
    frame = frame.assign(_order=frame["split"].map({"train": 0, "test": 1})).sort_values(
        ["_order", "row"], kind="stable"
    )
    parts = []
    for name in ("train", "test"):
        part = frame[frame["open_split"] == name].reset_index(drop=True)
        parts.append(
            part.assign(
                source_split=part["split"], source_row=part["row"], split=name, row=np.arange(len(part))
            )
        )
    both = pd.concat(parts, ignore_index=True)
    labels = both[LABEL_FREE_COLUMNS].reset_index(drop=True)
    identities = both[["split", "row", "actor", "source_split", "source_row"]].reset_index(drop=True)
    return labels, identities


def closed_training_index(index: pd.DataFrame, identities: pd.DataFrame) -> pd.DataFrame:
    """The ingest ``index`` rows of the open-*train* actors only (``identities``: the open split's
    identity table): "Ours (closed-set training)" trains its identity-supervised models on them. The
    columns of the ingest index, ``split`` the clip's closed split, ``row`` renumbered within it, and
    ``source_row`` its row in the closed split's array. The unseen test actors have no row."""
    train_actors = set(identities.loc[identities["split"] == "train", "actor"].astype(str))
    unseen = set(identities.loc[identities["split"] == "test", "actor"].astype(str))
    if not train_actors or train_actors & unseen:
        raise ValueError(
            f"identity table: open-train actors {sorted(train_actors)} vs unseen {sorted(unseen)}"
        )
    chosen = index[index["actor"].astype(str).isin(train_actors)]
    parts = []
    for name in ("train", "test"):
        part = chosen[chosen["split"] == name].sort_values("row").reset_index(drop=True)
        parts.append(part.assign(source_row=part["row"], row=np.arange(len(part))))
    return pd.concat(parts, ignore_index=True)


def copy_rows(
    sources: dict[str, np.ndarray], identities: pd.DataFrame, split: str, out: np.ndarray
) -> np.ndarray:
    """Copy the clips of one open split, row by row, from the closed split arrays into ``out``."""
    rows = identities[identities["split"] == split].sort_values("row")
    for dst, (src_split, src_row) in enumerate(zip(rows["source_split"], rows["source_row"], strict=True)):
        out[dst] = sources[src_split][int(src_row)]
    return out


def copy_train_landmarks(
    closed: dict[str, str | Path], identities: pd.DataFrame, out_path: str | Path
) -> tuple[int, ...] | None:
    """The generator's landmarks of the open-*train* clips (rows in the open train array's order),
    copied from the closed splits' landmark files ``closed`` (split -> path, written by ingest beside
    the clips when the corpus has them) to ``out_path``, beside the open clips, for the label-free
    bottleneck of the open set (rules/bottleneck.smk, scope "open-"). The open-test clips' landmarks are
    never written. Without the closed files (a real corpus) nothing is written and a stale ``out_path``
    is removed; returns the written shape or None."""
    out_path = Path(out_path)
    if not all(Path(path).exists() for path in closed.values()):
        out_path.unlink(missing_ok=True)
        return None
    marks = {name: np.load(path, mmap_mode="r") for name, path in closed.items()}
    n = int((identities["split"] == "train").sum())
    shape = (n, *marks["train"].shape[1:])
    with npy_output(out_path, shape, np.float32) as out:
        copy_rows(marks, identities, "train", out)
    return shape


class VideoPairDataset(Dataset):
    """The intra-video prior: item i is two different random frames of clip i (a positive pair),
    i itself and its group (``groups[i]``, e.g. its emotion class; 0 without groups). The other
    clips of a batch are its negatives: all of them, or with groups only those of its group."""

    def __init__(self, clips: np.ndarray, groups: np.ndarray | None = None):
        if clips.shape[1] < 2:
            raise ValueError(f"video prior needs >= 2 frames per clip, got {clips.shape[1]}")
        if groups is not None and len(groups) != len(clips):
            raise ValueError(f"video prior: {len(groups)} group ids for {len(clips)} clips")
        self.clips, self.t = clips, clips.shape[1]
        self.groups = torch.as_tensor(np.zeros(len(clips), np.int64) if groups is None else groups)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        a = int(torch.randint(self.t, ()).item())
        b = (a + 1 + int(torch.randint(self.t - 1, ()).item())) % self.t
        x1, x2 = frames_to_tensor(self.clips[i, a]), frames_to_tensor(self.clips[i, b])
        return x1, x2, torch.tensor(i), self.groups[i]


def video_prior_loss(
    embedder: nn.Module, temperature: float, views: bool, seen: list[np.ndarray], grouped: bool = False
) -> Callable:
    """NT-Xent of the embedder on a batch of frame pairs (x1, x2, clip, group): x1[i] and x2[i]
    are positives, every other frame of the batch a negative (``grouped``: only those of the same
    group). ``views`` adds SimCLR's random view on top of the frame pair; ``seen`` collects the
    clip rows of every batch (for the audit of false negatives, which only the evaluation may
    compare with identities)."""

    def loss(batch):
        x1, x2, rows, groups = batch
        seen.append(rows.cpu().numpy())
        if views:
            x1, x2 = augment(x1), augment(x2)
        z1, z2 = embedder(x1).float(), embedder(x2).float()
        value = nt_xent(z1, z2, temperature, groups if grouped else None)
        return value, {}

    return loss


def negative_pair_audit(batches: list[np.ndarray], actors: np.ndarray) -> dict[str, float]:
    """How often a "negative" pair of the video prior (two different clips of one batch) was the
    same actor: observed over ``batches`` (clip rows), and expected for random batches."""
    same = pairs = 0
    for rows in batches:
        a = actors[np.asarray(rows, dtype=np.int64)]
        eq = a[:, None] == a[None, :]
        same += int(eq.sum() - len(a))
        pairs += len(a) * (len(a) - 1)
    counts = pd.Series(actors).value_counts().to_numpy(np.int64)
    n = len(actors)
    expected = float((counts * (counts - 1)).sum() / (n * (n - 1))) if n > 1 else 0.0
    return {
        "same_actor_negatives": same,
        "negative_pairs": pairs,
        "observed_rate": same / pairs if pairs else 0.0,
        "expected_rate": expected,
        "batches": len(batches),
    }


def l1_band_loss(
    enhancer_low: nn.Module, enhancer_high: nn.Module, wavelet_name: str, level: int
) -> Callable:
    """L1 identity-map warm-up of both U-Nets on the band images of a batch of frames (x1, ...)."""

    def loss(batch):
        low, highs = wavelet.dwt(batch[0], wavelet_name, level)
        images = [band_to_image(low, "low", level)]
        images += [band_to_image(h.flatten(0, 1), "high", k) for k, h in enumerate(highs, start=1)]
        value = F.l1_loss(enhancer_low(images[0]).float(), images[0])
        for img in images[1:]:
            value = value + F.l1_loss(enhancer_high(img).float(), img) / len(highs)
        return value, {}

    return loss


def suppression_loss(
    enhancer_low: nn.Module,
    enhancer_high: nn.Module,
    embedder: nn.Module,
    wavelet_name: str,
    level: int,
    temperature: float,
    l1_weight: float,
    grouped: bool = False,
) -> Callable:
    """Enhancer objective on frame pairs (x1, x2, clip, group) against the frozen embedder: the
    similarities of E(G(x1)) to E(G(x2)) over the batch pushed to uniform (cross-entropy to the
    uniform distribution), plus ``l1_weight`` x L1(G(x), x). ``grouped``: only over the clips of
    the same group (e.g. emotion), so that what the groups differ in (the expression) need not be
    suppressed. Metric ``pair_acc``: how often the embedder still picks the other frame of the
    same clip (among the compared clips)."""

    def loss(batch):
        x1, x2, groups = batch[0], batch[1], batch[3].to(batch[0].device)
        g1 = enhance_frames(x1, enhancer_low, enhancer_high, wavelet_name, level)
        g2 = enhance_frames(x2, enhancer_low, enhancer_high, wavelet_name, level)
        z1 = F.normalize(embedder(g1).float(), dim=1)
        z2 = F.normalize(embedder(g2).float(), dim=1)
        logits = z1 @ z2.T / temperature
        compared = (
            groups[:, None] == groups[None, :] if grouped else torch.ones_like(logits, dtype=torch.bool)
        )
        logits = logits.masked_fill(~compared, -1e4)
        uniform = compared / compared.sum(1, keepdim=True)
        value = -0.5 * (
            (F.log_softmax(logits, dim=1) * uniform).sum(1).mean()
            + (F.log_softmax(logits.T, dim=1) * uniform.T).sum(1).mean()
        )
        value = value + l1_weight * 0.5 * (F.l1_loss(g1, x1) + F.l1_loss(g2, x2))
        target = torch.arange(len(x1), device=x1.device)
        return value, {"pair_acc": (logits.argmax(1) == target).float().mean().item()}

    return loss
