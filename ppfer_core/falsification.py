"""Falsification-based privacy validation without identity labels (after arXiv 2603.21387).

A recognition prior (an embedder not trained against the method) embeds every anonymised test
clip (query) and every original test clip (gallery). Source re-identification ranks the
gallery by cosine similarity for each query: rank-1 / rank-5 rates (chance 1/N, 5/N) and the
verification ROC AUC and EER of the query-gallery pairs (same source clip vs different source).
Where identities are known (embedded corpus), identity-level rank-1 counts any clip of the same
actor as a hit (source clip kept in the gallery, so it succeeds whenever source retrieval does), and
:func:`identity_linkage` measures the person rather than the clip (issue 26): identity rank-1 / rank-5
with the probe's own source clip left out of the gallery, and the AUC / EER of same-actor /
different-clip pairs against different-actor pairs (``Retrieval.openset``). Ties in similarity are broken at random (seeded), so a representation that
collapses all clips to one embedding scores chance, not 100 %. Table 5 is assembled from these
metric files by :func:`ppfer_core.tables.table5`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from ppfer_core.arrays import batched

if TYPE_CHECKING:
    from ppfer_core.runtime import Job


@dataclass
class Ranking:
    """Rank-1 / rank-5 (counts and %, with their chance) and verification AUC / EER of one ranking."""

    n: int
    rank1_correct: int
    rank5_correct: int
    rank1: float
    rank5: float
    chance: float
    chance5: float
    auc: float
    eer: float


@dataclass
class IdentityLinkage(Ranking):
    """Identity-level figures (issue 26), which hiding the clip cannot pass: the probe's own source clip
    is left out of the gallery, so a hit is *another* clip of the same actor. ``n``: probes with at
    least one other clip of their actor in the gallery; rank-1 / rank-5 in % with their chance (a
    random gallery order, averaged over those probes); ``auc`` / ``eer`` (%) of same-actor /
    different-clip pairs against different-actor pairs."""


@dataclass
class Retrieval(Ranking):
    """Re-identification figures of one representation under one recognition prior (rates in %)."""

    identity_rank1_correct: int | None = None
    identity_rank1: float | None = None
    identity_chance: float | None = None
    openset: IdentityLinkage | None = None

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


def verification(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """AUC (0-1) and EER (%) of same/different ``labels`` ranked by ``scores``."""
    from sklearn.metrics import roc_auc_score  # on use: 1.2 s of import a job that only embeds skips

    return float(roc_auc_score(labels, scores)), 100.0 * equal_error_rate(labels, scores)


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float:
    """EER: where the false-accept rate equals the false-reject rate on the ROC (linear interpolation)."""
    from sklearn.metrics import roc_curve

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
    adds identity-level rank-1 and its chance (the mean share of gallery clips of the query's actor),
    and the source-left-out identity figures (:func:`identity_linkage`, ``openset``)."""
    n = len(query)
    if gallery.shape != query.shape:
        raise ValueError(f"query and gallery embeddings differ in shape: {query.shape} vs {gallery.shape}")
    sim = query @ gallery.T
    order = ranked(sim, seed)
    position = np.argmax(order == np.arange(n)[:, None], axis=1)
    r1, r5 = int((position < 1).sum()), int((position < 5).sum())
    auc, eer = verification(np.eye(n, dtype=bool).ravel(), sim.ravel())
    result = Retrieval(
        n=n,
        rank1_correct=r1,
        rank5_correct=r5,
        rank1=100.0 * r1 / n,
        rank5=100.0 * r5 / n,
        chance=100.0 / n,
        chance5=100.0 * min(5, n) / n,
        auc=auc,
        eer=eer,
    )
    if actors is not None:
        actors = np.asarray(actors)
        hit = int((actors[order[:, 0]] == actors).sum())
        result.identity_rank1_correct = hit
        result.identity_rank1 = 100.0 * hit / n
        result.identity_chance = 100.0 * float((actors[:, None] == actors[None, :]).mean())
        result.openset = identity_linkage(sim, actors, seed)
    return result


def _chance_at(k: int, positives: np.ndarray, gallery: int) -> float:
    """Mean probability that a random order of ``gallery`` items puts one of ``positives`` (per probe) in its first ``k``."""
    k = min(k, gallery)
    miss = [math.comb(gallery - p, k) / math.comb(gallery, k) for p in positives]
    return 100.0 * (1.0 - float(np.mean(miss)))


def identity_linkage(similarity: np.ndarray, actors: np.ndarray, seed: int = 0) -> IdentityLinkage:
    """:class:`IdentityLinkage` of a probe x gallery ``similarity`` (probe i's source clip is gallery i;
    ``actors`` per clip, shared by both): every probe ranks the gallery without its own source clip
    (ties broken by a seeded random key), and the verification pairs are all (i, j), i != j."""
    actors = np.asarray(actors)
    n = len(actors)
    if similarity.shape != (n, n):
        raise ValueError(f"similarity {similarity.shape} does not match {n} actors")
    same = actors[:, None] == actors[None, :]
    off = ~np.eye(n, dtype=bool)
    positives = (same & off).sum(1)
    probes = positives > 0
    if not probes.any() or (same | ~off).all():
        raise ValueError("identity_linkage needs two clips of one actor and clips of two actors")
    sim = np.where(off, similarity, -np.inf)  # the source clip ranks last: left out
    order = ranked(sim, seed)[:, : n - 1]
    hit = same[np.arange(n)[:, None], order]
    r1, r5 = int(hit[probes, :1].any(1).sum()), int(hit[probes, :5].any(1).sum())
    m = int(probes.sum())
    auc, eer = verification(same[off], similarity[off])
    return IdentityLinkage(
        n=m,
        rank1_correct=r1,
        rank5_correct=r5,
        rank1=100.0 * r1 / m,
        rank5=100.0 * r5 / m,
        chance=_chance_at(1, positives[probes], n - 1),
        chance5=_chance_at(5, positives[probes], n - 1),
        auc=auc,
        eer=eer,
    )


# ------------------------------------------------------------------------ the falsify job


def recognition_priors(
    embedder: Mapping[str, Any], prior: str | Path, model: Mapping[str, Any], validator: str | Path, job: Job
) -> dict[str, torch.nn.Module]:
    """The two recognition priors, frozen on the job's device: the label-free video-prior embedder's
    backbone (``embedder``: ``openset.embedder``, weights ``prior``) and V_pl's penultimate features
    (``model``: ``models.identity``, weights ``validator`` loaded strictly but for its classifier head)."""
    from ppfer_core.registry import create_model
    from ppfer_core.tradeoff import build_privacy_encoder
    from ppfer_core.training import freeze, load_weights

    net = load_weights(build_privacy_encoder(embedder["arch"], embedder["dim"]), prior)
    vpl = create_model("image", model["arch"], num_classes=0)
    state = torch.load(validator, map_location="cpu", weights_only=True)
    head = [k for k in state if k.split(".")[1] in ("fc", "head", "classifier")]  # V_pl's identity classifier
    vpl.load_state_dict({k: v for k, v in state.items() if k not in head})  # strict: every other tensor
    job.log(
        f"V_pl prior: {len(state) - len(head)} tensors loaded, classifier head skipped ({', '.join(head)})"
    )
    return {"video_prior": freeze(net.backbone.to(job.device)), "vpl": freeze(vpl.to(job.device))}


def falsification_record(
    rep: str,
    query: np.ndarray,
    priors: Mapping[str, torch.nn.Module],
    galleries: Mapping[str, np.ndarray],
    seed: int,
    actors: np.ndarray,
    job: Job,
) -> dict[str, Any]:
    """A representation's falsification record: per prior, source retrieval of its ``query`` test
    clips among the original test clips (``galleries``: their embeddings by each prior)."""
    out: dict[str, Any] = {"rep": rep}
    for name, net in priors.items():
        r = source_retrieval(clip_embeddings(net, query, job.device), galleries[name], seed, actors)
        out[name] = r.as_dict()
        job.log(
            f"{rep} [{name}]: rank-1 {r.rank1:.2f}% rank-5 {r.rank5:.2f}% (chance {r.chance:.2f}%), "
            f"AUC {r.auc:.3f}, EER {r.eer:.2f}%, identity rank-1 {r.identity_rank1:.2f}% "
            f"(chance {r.identity_chance:.2f}%)"
        )
    return out
