"""The bottleneck's expression code learned across sites (issue 27, Table 6): what a site computes.

No stage sees another site's clips or landmarks. A site holds its own actors' train clips and their
68 landmarks (:func:`write_code_site`; no label of any kind). The server asks it for

1. the **basis' statistics** (:class:`~ppfer_core.bottleneck.basis.ShapeStats`, two rounds): its
   landmarks aligned to the canonical shape the server sends -- the template face's, which the
   config fixes, so no round is needed to agree on it -- summed over frames; the server sums the
   sites' sums, which equals the pooled fit (:func:`~ppfer_core.bottleneck.basis.fit_basis`);
2. the **targets' moments** (:func:`target_moments`): count, sum and sum of squares of its code
   targets on the summed basis, from which the server gets the pooled standard deviation the
   estimator's outputs are scaled by (:func:`scale_from_moments`);
3. then, every round, **local training** of the code estimator from the global weights
   (:func:`local_train_codes`: :func:`~ppfer_core.bottleneck.estimator.fit_estimator`, the recipe of
   ``bottleneck.estimator``), aggregated by FedAvg (or FedProx) as F_u's federated training is.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ppfer_core.bottleneck.basis import ExpressionBasis, ShapeStats, align, round1_stats, round2_stats
from ppfer_core.bottleneck.estimator import CodeEstimator, code_frames, code_targets, fit_estimator
from ppfer_core.bottleneck.settings import BottleneckSettings
from ppfer_core.federated.task import LR_DECAYS, STRATEGIES, proximal, round_seed

CODE_KEYS = ("rounds", "local_epochs")
"""The keys of ``federated.code_estimator``."""


@dataclass(frozen=True)
class CodeFedSettings:
    """One federated fit of the bottleneck (basis and code estimator). Every value comes from the
    workflow config (:meth:`from_config`): ``bottleneck`` (basis, estimator recipe, template),
    ``federated.code_estimator`` (rounds, local epochs), ``federated`` (sites, strategy: the first of
    ``strategies``, ``proximal_mu``, ``lr_decay``), the frame side, ``seed``, ``device``, ``cpu_dtype``."""

    bottleneck: BottleneckSettings
    size: int
    rounds: int
    local_epochs: int
    strategy: str
    proximal_mu: float
    sites: int
    seed: int
    device: str
    cpu_dtype: str
    lr_decay: str

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"federated strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"federated lr_decay must be one of {LR_DECAYS}, got {self.lr_decay!r}")
        if self.rounds < 1 or self.local_epochs < 1:
            raise ValueError(
                "federated.code_estimator: rounds and local_epochs must be >= 1, got "
                f"{self.rounds}, {self.local_epochs}"
            )
        if self.bottleneck.basis.reference != "relative":
            raise ValueError("bottleneck.reference: the code estimator gives relative codes only")

    @property
    def k(self) -> int:
        return self.bottleneck.basis.k

    def round_lr(self, server_round: int) -> float:
        """``bottleneck.estimator.lr``, with ``lr_decay`` cosine scaled by 0.5 (1 + cos(pi (round - 1) /
        rounds)) as F_u's federated rounds are (a local cosine still runs inside the round)."""
        lr = self.bottleneck.estimator.lr
        if self.lr_decay == "cosine":
            lr *= 0.5 * (1.0 + math.cos(math.pi * (server_round - 1) / self.rounds))
        return lr

    @classmethod
    def from_config(cls, config: Mapping[str, Any], seed: int, device: str) -> CodeFedSettings:
        """The settings of a workflow config's ``bottleneck``, ``federated``, ``ingest.size`` and
        ``cpu_dtype``; a missing key raises naming it."""
        fed = config["federated"]
        code = fed.get("code_estimator") or {}
        missing = [f"federated.code_estimator.{k}" for k in CODE_KEYS if k not in code]
        missing += [
            f"federated.{k}" for k in ("sites", "strategies", "proximal_mu", "lr_decay") if k not in fed
        ]
        if missing:
            raise ValueError(f"the config lacks {', '.join(missing)} (federated bottleneck)")
        return cls(
            bottleneck=BottleneckSettings.from_config(config["bottleneck"]),
            size=int(config["ingest"]["size"][0]),
            rounds=int(code["rounds"]),
            local_epochs=int(code["local_epochs"]),
            strategy=str(fed["strategies"][0]),
            proximal_mu=float(fed["proximal_mu"]),
            sites=int(fed["sites"]),
            seed=int(seed),
            device=device,
            cpu_dtype=str(config["cpu_dtype"]),
            lr_decay=str(fed["lr_decay"]),
        )


# ------------------------------------------------------------------------------ a site's data


@dataclass
class CodeSite:
    """One site's train clips [N, T, H, W, 3] (uint8, memory-mapped) and their landmarks [N, T, 68, 2]."""

    site: int
    train: np.ndarray
    landmarks: np.ndarray


def write_code_site(folder: str | Path, site: int, clips: np.ndarray, landmarks: np.ndarray) -> Path:
    """A site's folder: ``train.npy`` (its clips), ``landmarks.npy`` (theirs) and ``site.json``; each
    file written under a temporary name, then renamed."""
    if clips.shape[:2] != landmarks.shape[:2]:
        raise ValueError(f"site {site}: landmarks {landmarks.shape} do not match clips {clips.shape}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in (("train.npy", clips), ("landmarks.npy", landmarks)):
        tmp = folder / f".{name}.tmp"
        with open(tmp, "wb") as f:
            np.save(f, np.ascontiguousarray(arr))
        os.replace(tmp, folder / name)
    (folder / "site.json").write_text(json.dumps({"site": site, "train": len(clips)}) + "\n")
    return folder


def load_code_site(folder: str | Path) -> CodeSite:
    """Read a folder written by :func:`write_code_site` (clips memory-mapped)."""
    folder = Path(folder)
    for name in ("site.json", "train.npy", "landmarks.npy"):
        if not (folder / name).exists():
            raise FileNotFoundError(f"site folder {folder} lacks {name} (see write_code_site)")
    site = int(json.loads((folder / "site.json").read_text())["site"])
    return CodeSite(site, np.load(folder / "train.npy", mmap_mode="r"), np.load(folder / "landmarks.npy"))


# ------------------------------------------------------------------------------ what a site sends


def site_shape_stats(
    landmarks: np.ndarray, canonical: np.ndarray, first: tuple[np.ndarray, np.ndarray] | None, s
) -> ShapeStats:
    """A site's round-1 sums (``first`` None) or round-2 sums (``first`` = the server's ``(mu, b0)``)
    of its landmarks aligned to ``canonical``; ``s``: the :class:`BasisSettings`."""
    x = align(landmarks, canonical)
    return round1_stats(x) if first is None else round2_stats(x, first[0], first[1], s)


def target_moments(landmarks: np.ndarray, basis: ExpressionBasis) -> dict[str, np.ndarray]:
    """Count [1], sum [2k] and sum of squares [2k] of a site's code targets over its complete frames."""
    t = code_targets(landmarks, basis)
    t = t[np.isfinite(t).all(-1)]
    return {"n": np.asarray([len(t)], dtype=np.float64), "sum": t.sum(0), "sumsq": (t**2).sum(0)}


def scale_from_moments(moments: list[Mapping[str, np.ndarray]]) -> np.ndarray:
    """The pooled per-dimension standard deviation (+ 1e-8, as :func:`target_scale`) of the sites'
    summed :func:`target_moments`."""
    n = float(sum(float(m["n"][0]) for m in moments))
    if n == 0:
        raise ValueError("federated code estimator: no site has a frame with complete landmarks")
    mean = sum(m["sum"] for m in moments) / n
    var = sum(m["sumsq"] for m in moments) / n - mean**2
    return np.sqrt(np.maximum(var, 0.0)) + 1e-8


def local_train_codes(
    net: CodeEstimator,
    site: CodeSite,
    basis: ExpressionBasis,
    s: CodeFedSettings,
    server_round: int,
    run_for: Callable[[int], Any],
) -> dict[str, float]:
    """Train ``net`` (holding the global weights and scale) on the site's frames for the local epochs
    of one round at the round's lr (:meth:`CodeFedSettings.round_lr`); FedProx's proximal term when
    ``s.strategy`` is fedprox. ``run_for(seed)``: the :class:`~ppfer_core.training.Run` of the round."""
    est = s.bottleneck.estimator
    data = code_frames(site.train, site.landmarks, basis, est.inputs, net.scale.numpy().astype(np.float64))
    mu = s.proximal_mu if s.strategy == "fedprox" else 0.0
    with proximal(net, mu):
        run = run_for(round_seed(s, server_round, site.site))
        result = fit_estimator(net, data, est, run, s.local_epochs, s.round_lr(server_round), {})
    last = result.history[-1]
    return {
        "train-loss": float(last["code_loss"]),
        "within-mse": float(last["within_mse"]),
        "num-examples": len(data),
    }
