"""Falsification-based privacy validation without identity labels (after arXiv 2603.21387).

A recognition prior (an embedder not trained against the method) embeds every anonymised test
clip (query) and every original test clip (gallery). Source re-identification ranks the
gallery by cosine similarity for each query: rank-1 / rank-5 rates (chance 1/N, 5/N) and the
verification ROC AUC and EER of the query-gallery pairs (same source clip vs different source).
Where identities are known (embedded corpus), identity-level rank-1 counts any clip of the same
actor as a hit. Ties in similarity are broken at random (seeded), so a representation that
collapses all clips to one embedding scores chance, not 100 %.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score, roc_curve

from ppfer_core.arrays import batched

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Retrieval:
    """Re-identification figures of one representation under one recognition prior (rates in %)."""

    n: int
    rank1_correct: int
    rank5_correct: int
    rank1: float
    rank5: float
    chance: float
    chance5: float
    auc: float
    eer: float
    identity_rank1_correct: int | None = None
    identity_rank1: float | None = None
    identity_chance: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def clip_embeddings(
    embed: Callable[[torch.Tensor], torch.Tensor], clips: np.ndarray, device: torch.device, batch: int = 64
) -> np.ndarray:
    """One L2-normalised embedding per clip: the mean of its frames' L2-normalised embeddings."""
    n, t = clips.shape[:2]
    z = batched(
        lambda x: F.normalize(embed(x).float(), dim=1), clips.reshape(n * t, *clips.shape[2:]), batch, device
    )
    z = z.view(n, t, -1).mean(1)
    return F.normalize(z, dim=1).numpy()


def ranked(similarity: np.ndarray, seed: int) -> np.ndarray:
    """Gallery order per query (best first), ties broken by a seeded random key."""
    tiebreak = np.random.default_rng(seed).random(similarity.shape)
    return np.lexsort((tiebreak, -similarity), axis=1)


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float:
    """EER: where the false-accept rate equals the false-reject rate on the ROC (linear interpolation)."""
    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1.0 - tpr
    diff = fpr - fnr  # rises from <= 0 to >= 0
    i = int(np.argmax(diff >= 0))
    if i == 0 or diff[i] == 0:
        return float(fpr[i])
    w = -diff[i - 1] / (diff[i] - diff[i - 1])
    return float(fpr[i - 1] + w * (fpr[i] - fpr[i - 1]))


def source_retrieval(
    query: np.ndarray, gallery: np.ndarray, seed: int = 0, actors: np.ndarray | None = None
) -> Retrieval:
    """Query i's source is gallery i. ``actors`` (per clip, shared by query and gallery rows)
    adds identity-level rank-1 and its chance (the mean share of gallery clips of the query's actor)."""
    n = len(query)
    if gallery.shape != query.shape:
        raise ValueError(f"query and gallery embeddings differ in shape: {query.shape} vs {gallery.shape}")
    sim = query @ gallery.T
    order = ranked(sim, seed)
    position = np.argmax(order == np.arange(n)[:, None], axis=1)
    r1, r5 = int((position < 1).sum()), int((position < 5).sum())
    labels = np.eye(n, dtype=bool).ravel()
    scores = sim.ravel()
    result = Retrieval(
        n=n,
        rank1_correct=r1,
        rank5_correct=r5,
        rank1=100.0 * r1 / n,
        rank5=100.0 * r5 / n,
        chance=100.0 / n,
        chance5=100.0 * min(5, n) / n,
        auc=float(roc_auc_score(labels, scores)),
        eer=100.0 * equal_error_rate(labels, scores),
    )
    if actors is not None:
        actors = np.asarray(actors)
        hit = int((actors[order[:, 0]] == actors).sum())
        result.identity_rank1_correct = hit
        result.identity_rank1 = 100.0 * hit / n
        result.identity_chance = 100.0 * float((actors[:, None] == actors[None, :]).mean())
    return result


def _rate(correct: int, n: int) -> dict[str, float]:
    from ppfer_core.stats import wilson_interval

    lo, hi = wilson_interval(correct, n)
    return {"value": round(100.0 * correct / n, 3), "lo": round(lo, 3), "hi": round(hi, 3)}


def table5(
    rows: list[tuple[str, str]],
    falsification: dict[str, dict],
    utility: dict[str, dict],
    prior: str = "video_prior",
    second: str = "vpl",
) -> pd.DataFrame:
    """Table 5 (open set): per (approach, representation) the source re-identification figures of
    the label-free ``prior`` (rank-1 / identity rank-1 with Wilson 95 % intervals), the open-set
    ACC of F_u (with its interval), and rank-1 / AUC / identity rank-1 under the ``second`` prior."""
    import pandas as pd

    out = []
    for approach, rep in rows:
        f, s, u = falsification[rep][prior], falsification[rep][second], utility[rep]
        r1 = _rate(f["rank1_correct"], f["n"])
        idr1 = _rate(f["identity_rank1_correct"], f["n"])
        acc = _rate(int(round(u["acc"] * u["n"] / 100.0)), u["n"])
        out.append(
            {
                "approach": approach,
                "rank1": r1["value"],
                "rank5": round(f["rank5"], 3),
                "chance": round(f["chance"], 3),
                "auc": round(f["auc"], 4),
                "eer": round(f["eer"], 3),
                "identity_rank1": idr1["value"],
                "acc": acc["value"],
                "rank1_lo": r1["lo"],
                "rank1_hi": r1["hi"],
                "identity_rank1_lo": idr1["lo"],
                "identity_rank1_hi": idr1["hi"],
                "identity_chance": round(f["identity_chance"], 3),
                "acc_lo": acc["lo"],
                "acc_hi": acc["hi"],
                f"rank1_{second}": round(s["rank1"], 3),
                f"auc_{second}": round(s["auc"], 4),
                f"identity_rank1_{second}": round(s["identity_rank1"], 3),
                "representation": rep,
                "n_test": f["n"],
            }
        )
    return pd.DataFrame(out)


def open_set_goals(table: pd.DataFrame, method: str, reference: str) -> dict[str, object]:
    """The issue's goals for ``method``: identity rank-1 <= 2 x identity chance, AUC <= 0.6,
    ACC >= 90 % of ``reference``'s (No Privacy Preservation) open-set ACC."""
    t = table.set_index("approach")
    m, ref = t.loc[method], t.loc[reference]
    return {
        "identity_rank1_le_2x_chance": bool(m["identity_rank1"] <= 2 * m["identity_chance"]),
        "auc_le_0.6": bool(m["auc"] <= 0.6),
        "acc_ge_90pct_npp": bool(m["acc"] >= 0.9 * ref["acc"]),
        "acc_ratio": round(float(m["acc"] / ref["acc"]), 4) if ref["acc"] > 0 else None,
    }
