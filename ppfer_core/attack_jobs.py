"""The attack jobs' records: what the rules ``leakage`` and ``attack_suite`` write per representation.

One function per metrics file, each building its record from the library's attackers
(:mod:`ppfer_core.evaluation`, :mod:`ppfer_core.attacks`, :mod:`ppfer_core.threat`):

- :func:`ppfer_core.evaluation.leakage_record`: V_pl's PLR (``metrics/leakage/{rep}.json``); the one
  leakage scoring, called by the rule ``leakage`` (representations that are not attacked) and here;
- :func:`adaptive_record`: the adaptive attacker (``metrics/adaptive/{rep}.json``);
- :func:`frames_record`: V_pl by voting and the scratch CNN (``metrics/attacks/frames/{rep}.json``);
- :func:`clip_record`: the video attacker (``metrics/attacks/clips/{rep}.json``);
- :func:`recovered_records`: written by the rule ``recover``, beside the recovered frames: the leakage
  of ``recovered-{rep}`` (``metrics/leakage/recovered-{rep}.json``) and V_pl on them, one frame and by
  voting (``metrics/attacks/recovered/{rep}.json``).

A record depends only on its own inputs and settings, not on which records the job wrote before it:
each trained attacker starts from the job's seed (:func:`ppfer_core.training.seed_everything`), as it
did when it ran in a job of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ppfer_core.arrays import identity_labels, load_clips
from ppfer_core.attacks import (
    Convergence,
    build_clip_attacker,
    build_small_cnn,
    clip_attack,
    frame_attack,
    frame_logits,
    score_frames,
    slice_scores,
)
from ppfer_core.evaluation import LeakageScorers, leakage_record, load_scorer
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job
from ppfer_core.threat import adaptive_leakage
from ppfer_core.training import TrainSettings, seed_everything


@dataclass(frozen=True)
class AttackData:
    """A representation's clips (memory-mapped) and the identity labels of the main corpus's index:
    read once by a job that scores several attackers."""

    rep: str
    train: np.ndarray
    test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    actors: tuple[str, ...]

    @classmethod
    def load(cls, rep: str, train: str | Path, test: str | Path, index: str | Path) -> AttackData:
        table = pd.read_parquet(index)
        y_train, actors = identity_labels(table, "train")
        y_test, _ = identity_labels(table, "test")
        return cls(rep, load_clips(train), load_clips(test), y_train, y_test, tuple(actors))


@dataclass(frozen=True)
class AdaptiveSettings:
    """The adaptive attacker's settings: its start (``init``: validator | scratch), training and plateau."""

    init: str
    train: Mapping[str, Any]
    convergence: Mapping[str, Any]


def adaptive_record(
    job: Job,
    data: AttackData,
    settings: AdaptiveSettings,
    model: Mapping[str, Any],
    validator: str | Path,
    state: Path,
    leakage_seed: int,
) -> dict[str, Any]:
    """The adaptive attacker's record: V_pl's architecture fine-tuned on the train clips from V_pl's
    weights (``init: validator``) or from ``model``'s weights (``scratch``) (:func:`adaptive_leakage`)."""
    seed_everything(job.seed)
    n = len(data.actors)
    if settings.init == "validator":
        net = load_scorer(model, n, validator)
        job.log(f"adaptive attacker starts from V_pl ({validator})")
    else:
        net = create_model("image", model["arch"], num_classes=n, weights=model["weights"])
    m = adaptive_leakage(
        net,
        data.train,
        data.y_train,
        data.test,
        data.y_test,
        n,
        TrainSettings.from_config(settings.train),
        job.run(f"adaptive_{data.rep}", state),
        leakage_seed,
        Convergence.from_config(settings.convergence),
    )
    job.log(
        f"{data.rep}: adaptive PLR {m['plr']:.2f}% ({m['correct']}/{m['n']}) one frame, {m['plr_vote']:.2f}% "
        f"voting, chance {m['chance']:.2f}%; train accuracy {m['train_acc']:.4f}, "
        f"{m['status']} after {m['epochs']} epochs ({m['stopped']})"
    )
    return {"rep": data.rep, "init": settings.init, **m}


def frames_record(
    job: Job,
    data: AttackData,
    model: Mapping[str, Any],
    validator: str | Path,
    scratch: Mapping[str, Any],
    convergence: Mapping[str, Any],
    state: Path,
    leakage_seed: int,
) -> dict[str, Any]:
    """V_pl on one random frame per test clip and by voting (with its counts on the scratch attacker's
    validation slice of train: optimistic, V_pl was trained on these clips' originals) and the
    scratch CNN (``scratch``: its width and training; :func:`frame_attack`)."""
    seed_everything(job.seed)
    conv = Convergence.from_config(convergence)
    net = load_scorer(model, len(data.actors), validator)
    out = {
        "rep": data.rep,
        "validator": {
            **score_frames(frame_logits(net, data.test, job.device), data.y_test, leakage_seed),
            **slice_scores(net, data.train, data.y_train, conv, job.seed, job.device, leakage_seed),
        },
    }
    out["scratch"] = frame_attack(
        build_small_cnn(len(data.actors), scratch["width"]),
        data.train,
        data.y_train,
        data.test,
        data.y_test,
        TrainSettings.from_config(scratch["train"]),
        conv,
        job.run(f"scratch_{data.rep}", state),
        leakage_seed,
    )
    for k in ("validator", "scratch"):
        job.log(f"{data.rep}: {k} PLR {out[k]['plr']:.2f}% one frame, {out[k]['plr_vote']:.2f}% voting")
    s = out["scratch"]
    job.log(f"{data.rep}: scratch attacker {s['status']} after {s['epochs']} epochs ({s['stopped']})")
    return out


@dataclass(frozen=True)
class ClipSettings:
    """The video attacker's settings (``threat.attacks.clip``): R3D-family ``arch``, ``width``, the
    ``pool`` x ``pool`` pixel averaging before it, its ``train`` entry (the epoch cap) and plateau
    (``threat.attacks.convergence``)."""

    arch: str
    width: int
    pool: int
    train: Mapping[str, Any]
    convergence: Mapping[str, Any]


def clip_record(
    job: Job,
    data: AttackData,
    settings: ClipSettings,
    state: Path,
) -> dict[str, Any]:
    """The video attacker's record (:func:`ppfer_core.attacks.clip_attack`): a clip classifier trained
    on the train clips, started from the job's seed, scored per test clip."""
    seed_everything(job.seed)
    model = build_clip_attacker(settings.arch, len(data.actors), settings.width, settings.pool)
    m = clip_attack(
        model,
        data.train,
        data.y_train,
        data.test,
        data.y_test,
        TrainSettings.from_config(settings.train),
        Convergence.from_config(settings.convergence),
        job.run(f"clip_{data.rep}", state),
    )
    job.log(
        f"{data.rep}: clip attacker PLR {m['plr']:.2f}% ({m['correct']}/{m['n']}), train accuracy "
        f"{m['train_acc']:.4f}, {m['status']} after {m['epochs']} epochs ({m['stopped']})"
    )
    return {"rep": data.rep, "arch": settings.arch, **m}


def recovered_records(
    job: Job,
    rep: str,
    recovered: np.ndarray,
    index: str | Path,
    readers: Mapping[str, Any],
    validator: str | Path,
    vpl: str | Path,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The recovery attack's readings of the recovered test clips of ``rep`` (paper §4.5), by the PLR's
    readers (``readers``: ``validator_model`` with checkpoint ``validator``, ``model`` (V_pl) with ``vpl``,
    and the ``seed`` of the frame per clip): the leakage record of ``recovered-{rep}`` (the independent
    validator, V_pl under ``vpl``) and V_pl's record on that frame and by voting (the suite's attacker
    ``recovered``: Table 3's ``plr_recovered``, ``plr_recovered_vote``)."""
    y_test, actors = identity_labels(pd.read_parquet(index), "test")
    scorers = LeakageScorers.load(
        (readers["validator_model"], validator), (readers["model"], vpl), len(actors)
    )
    leakage = leakage_record(job, f"recovered-{rep}", scorers, recovered, index, readers["seed"])
    m = score_frames(frame_logits(scorers.vpl, recovered, job.device), y_test, readers["seed"])
    job.log(
        f"{rep}: V_pl on the recovered frames: PLR {m['plr']:.2f}% one frame, {m['plr_vote']:.2f}% voting"
    )
    return leakage, {"rep": rep, **m}
