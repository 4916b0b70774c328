"""Typed settings of "Ours (robust)" (config ``robust:``; schema ``robust``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

OBJECTIVES = ("complement", "capped_ce")
AGGREGATES = ("softmax", "mean", "max")


def _checked(cls: type, cfg: Mapping[str, Any], where: str) -> dict[str, Any]:
    unknown = set(cfg) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    return dict(cfg)


@dataclass(frozen=True)
class AdversarySettings:
    """The re-trained adversaries (``robust.adversaries``): ``steps`` updates per enhancer step, each on
    ``batch_clips`` freshly drawn and enhanced train clips plus ``replay_clips`` from a replay buffer of
    ``replay`` past outputs; ``scratch`` members (the suite's ``small_cnn`` of ``width``, GroupNorm) from
    scratch, with ``validator`` a member fine-tuned from the frame controller (V_pl's fine-tune) and with
    ``clip`` a ``small_cnn`` voting over each clip. Every member first trains ``warmup_steps`` on the
    initial outputs; every ``restart_every`` enhancer steps one scratch member (round robin) is
    re-initialised and catches up ``restart_steps`` on the replay buffer (Wu et al., TPAMI 2020).
    ``aggregate``: how the members' losses make the enhancer's (:func:`ppfer_core.robust.adversaries.aggregate`):
    ``softmax`` (members weighted by the softmax of their losses at ``temperature`` nats: a smooth max in
    which every member reaches the gradient), ``mean`` or ``max`` (the most confident member only)."""

    steps: int = 5
    scratch: int = 2
    width: int = 16
    validator: bool = True
    clip: bool = True
    lr: float = 0.002
    optimizer: str = "adam"
    batch_clips: int = 2
    replay: int = 128
    replay_clips: int = 2
    restart_every: int = 12
    restart_steps: int = 5
    warmup_steps: int = 10
    aggregate: str = "softmax"
    temperature: float = 1.0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> AdversarySettings:
        s = cls(**_checked(cls, cfg, "robust.adversaries"))
        if min(s.steps, s.width, s.batch_clips) < 1 or s.scratch < 0:
            raise ValueError(f"robust.adversaries: steps, width, batch_clips >= 1 and scratch >= 0, got {s}")
        if min(s.replay, s.replay_clips, s.restart_every, s.restart_steps, s.warmup_steps) < 0:
            raise ValueError(
                f"robust.adversaries: replay, replay_clips, restart_* and warmup_steps >= 0, got {s}"
            )
        if s.scratch + s.validator + s.clip < 1:
            raise ValueError(
                "robust.adversaries: the ensemble is empty (scratch 0, validator and clip false)"
            )
        if s.aggregate not in AGGREGATES:
            raise ValueError(f"robust.adversaries.aggregate {s.aggregate!r} not in {AGGREGATES}")
        if not s.temperature > 0:
            raise ValueError(f"robust.adversaries.temperature must be > 0, got {s.temperature}")
        return s


@dataclass(frozen=True)
class StopSettings:
    """The fresh-attacker stop (``robust.stop``), after every round (one epoch of ``robust.train``):
    ``holdout`` of each identity's *train* clips never reach the enhancer's training; a fresh ``small_cnn``
    (``width``) trains ``steps`` x ``batch_size`` flipped / shifted output frames of ``fit_clips`` enhancer
    training clips and is scored on the held-out clips' outputs (the higher of its frame and its vote
    accuracy). The best round (lowest such leakage among rounds whose mean L1 distortion of the held-out
    frames is at most ``max_l1``, null: any) is kept; training stops once it is at most ``target`` x chance
    or has not improved for ``patience`` rounds (``robust.train.epochs``: the cap)."""

    holdout: float = 0.2
    fit_clips: int = 128
    steps: int = 120
    batch_size: int = 64
    lr: float = 0.002
    width: int = 16
    shift: int = 4
    patience: int = 2
    target: float = 2.0
    max_l1: float | None = None

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> StopSettings:
        s = cls(**_checked(cls, cfg, "robust.stop"))
        if not 0 < s.holdout < 1:
            raise ValueError(f"robust.stop.holdout must be in (0, 1), got {s.holdout}")
        if min(s.fit_clips, s.steps, s.batch_size, s.width, s.patience) < 1 or s.target < 0:
            raise ValueError(
                f"robust.stop: fit_clips, steps, batch_size, width, patience >= 1, target >= 0, got {s}"
            )
        return s


@dataclass(frozen=True)
class RobustSettings:
    """``robust.*`` but ``train`` and ``sweep``: the enhancer's non-saturating ``objective`` against the
    ensemble (``complement``: minimise -log(1 - p_true), p_true floored at chance; ``capped_ce``: maximise
    the cross-entropy capped at log C), the L1 anchor of the reconstructed frame to the input frame
    (``l1_weight``, the utility term), whether adversaries see F_fc's output (``through_compensator``),
    the adversaries and the stop."""

    objective: str = "complement"
    l1_weight: float = 1.0
    through_compensator: bool = False
    adversaries: AdversarySettings = field(default_factory=AdversarySettings)
    stop: StopSettings = field(default_factory=StopSettings)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> RobustSettings:
        """From the ``robust`` block (its ``train`` and ``sweep`` entries are the rule's, not read here)."""
        own = {k: v for k, v in cfg.items() if k not in ("train", "sweep")}
        kw = _checked(cls, own, "robust")
        kw["adversaries"] = AdversarySettings.from_config(kw.get("adversaries", {}))
        kw["stop"] = StopSettings.from_config(kw.get("stop", {}))
        s = cls(**kw)
        if s.objective not in OBJECTIVES:
            raise ValueError(f"robust.objective {s.objective!r} not in {OBJECTIVES}")
        if s.l1_weight < 0:
            raise ValueError(f"robust.l1_weight must be >= 0, got {s.l1_weight}")
        return s

    def config(self) -> dict[str, Any]:
        return asdict(self)
