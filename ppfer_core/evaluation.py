"""The one evaluation path every representation flows through (paper §3.4, §3.5):
privacy leakage validation -> PLR (the independent validator, with V_pl beside it), utility task F_u
-> ACC and per-class accuracy.

:func:`leakage_record` is the one leakage scoring of a representation (the record of
``metrics/leakage/{rep}.json``): the rule ``leakage`` and the attack suite's job (``attack_suite``,
:mod:`ppfer_core.attack_jobs`) both write what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ppfer_core.arrays import batches, frames_to_tensor, identity_labels
from ppfer_core.registry import create_model
from ppfer_core.training import autocast, load_weights, to_device

if TYPE_CHECKING:
    from ppfer_core.runtime import Job


def leakage_frames(n_clips: int, n_frames: int, seed: int) -> np.ndarray:
    """The seeded random frame of each test clip that the validator sees."""
    return np.random.default_rng(seed).integers(0, n_frames, size=n_clips)


@torch.no_grad()
def privacy_leakage(
    validator: nn.Module,
    clips: np.ndarray,
    identities: np.ndarray,
    n_identities: int,
    seed: int,
    device: torch.device,
    batch: int = 64,
) -> dict[str, float]:
    """PLR: the validator's identity accuracy on one seeded random frame per clip (percent), with chance,
    and ``hits`` (1 per clip re-identified, in the clips' order: the test index rows' order), for the
    actor-clustered intervals and paired tests of the tables."""
    frames = leakage_frames(len(clips), clips.shape[1], seed)
    to_device(validator, device).eval()
    preds = []
    for sl in batches(len(clips), batch):
        idx = np.arange(len(clips))[sl]
        x = frames_to_tensor(np.stack([clips[i, frames[i]] for i in idx])).to(device)
        with autocast(device):
            preds.append(validator(x).argmax(1).cpu().numpy())
    pred = np.concatenate(preds)
    correct = int((pred == identities).sum())
    return {
        "plr": 100.0 * correct / len(clips),
        "chance": 100.0 / n_identities,
        "correct": correct,
        "n": int(len(clips)),
        "n_identities": int(n_identities),
        "hits": (pred == identities).astype(int).tolist(),
    }


def load_scorer(model: Mapping[str, Any], n_identities: int, weights: str | Path) -> nn.Module:
    """An identity classifier of ``model``'s architecture (``models.identity``: V_pl, or
    ``models.validator``) with trained weights."""
    return load_weights(create_model("image", model["arch"], num_classes=n_identities), weights)


@dataclass(frozen=True)
class LeakageScorers:
    """The two networks that read a representation's PLR (issue 26): ``validator``, the independent
    validator (``models.validator``, :mod:`ppfer_core.validator`: no weights or training run shared with
    any network a method was trained against), whose reading is the paper's PLR column; and ``vpl``,
    V_pl (``models.identity``, the network C_lpr / C_hpr are fine-tuned from), reported beside it."""

    validator: nn.Module
    vpl: nn.Module

    @classmethod
    def load(
        cls,
        validator: tuple[Mapping[str, Any], str | Path],
        vpl: tuple[Mapping[str, Any], str | Path],
        n_identities: int,
    ) -> LeakageScorers:
        """Both networks from (model config entry, checkpoint) pairs: ``models.validator`` with
        ``results/models/validator.pt`` and ``models.identity`` with ``results/models/identity.pt``."""
        return cls(
            load_scorer(validator[0], n_identities, validator[1]), load_scorer(vpl[0], n_identities, vpl[1])
        )


def score_leakage(
    scorers: LeakageScorers,
    clips: np.ndarray,
    identities: np.ndarray,
    n_identities: int,
    seed: int,
    device: torch.device,
) -> dict[str, Any]:
    """A representation's leakage record (the one leakage scoring): the independent validator's
    :func:`privacy_leakage` figures at the top level (``plr``, ``chance``, ``correct``, ``n``, ``hits``:
    the paper's PLR column) with ``scorer: validator``, and V_pl's same figures under ``vpl`` (column
    ``plr_vpl``). Both see the same seeded frame of every clip."""
    return {
        **privacy_leakage(scorers.validator, clips, identities, n_identities, seed, device),
        "scorer": "validator",
        "vpl": privacy_leakage(scorers.vpl, clips, identities, n_identities, seed, device),
    }


def leakage_record(
    job: Job,
    rep: str,
    scorers: LeakageScorers,
    test: np.ndarray,
    index: str | Path,
    seed: int,
) -> dict[str, Any]:
    """The PLR record of a representation's ``test`` clips (:func:`score_leakage`: the independent
    validator's reading, V_pl's under ``vpl``) on one ``seed``-ed random frame per clip."""
    y, actors = identity_labels(pd.read_parquet(index), "test")
    m = score_leakage(scorers, test, y, len(actors), seed, job.device)
    job.log(
        f"{rep}: PLR {m['plr']:.2f}% ({m['correct']}/{m['n']}) by the independent validator, "
        f"{m['vpl']['plr']:.2f}% by V_pl, chance {m['chance']:.2f}%"
    )
    return {"rep": rep, **m}
