"""Privacy enhancers trained against re-trained adversaries (beyond the paper; ``enhancer.adversary: retrained``).

The paper trains F_lpr / F_hpr against *frozen* identity controllers, and an attacker who trains
on the outputs re-identifies them. Here the identity adversaries are updated on the enhancer's
current outputs in alternation with it (min-max), with the two remedies of Wu et al. (TPAMI 2020,
"Privacy-preserving deep action recognition: an adversarial learning framework and a new dataset")
for the "any attacker" problem:

- an ensemble of M adversaries (:class:`AdversaryPool`), the enhancer pushed against the strongest
  of them on every batch (the one with the lowest identity cross-entropy);
- model restarting: every k enhancer steps one adversary (round robin) is re-initialised, so the
  enhancer cannot overfit one adversary's blind spots.

The frozen controller can stay in the ensemble as a fixed member (``with_controller``). One training
step is: the enhancer against the strongest adversary, then ``steps`` adversary updates on the
enhancer's (detached) outputs of that batch. :func:`fit_privacy_enhancer` dispatches on the mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ppfer_core.attacks import build_small_cnn
from ppfer_core.enhancer import OBJECTIVES, fit_enhancer
from ppfer_core.training import (
    Player,
    Run,
    TrainResult,
    TrainSettings,
    fit,
    freeze,
    optimizer,
)

ADVERSARY_MODES = ("frozen", "retrained")


@dataclass(frozen=True)
class AdversarySettings:
    """The re-trained adversaries: ``count`` (M), ``restart_every`` (k enhancer steps; 0: never),
    ``steps`` (adversary updates per enhancer step), their ``lr`` and ``optimizer``, the ``width`` of
    each adversary (:class:`ppfer_core.nets.SmallCNN`), and whether the frozen controller stays in
    the ensemble (``with_controller``)."""

    count: int = 3
    restart_every: int = 50
    steps: int = 1
    lr: float = 0.001
    optimizer: str = "adam"
    width: int = 16
    with_controller: bool = True

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> AdversarySettings:
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"enhancer.adversaries: unknown keys {sorted(unknown)}")
        s = cls(**cfg)
        if s.count < 1 or s.steps < 1 or s.restart_every < 0:
            raise ValueError(
                f"enhancer.adversaries: count and steps must be >= 1, restart_every >= 0, got {s}"
            )
        return s


def _reset(module: nn.Module) -> None:
    for m in module.modules():
        if m is not module and hasattr(m, "reset_parameters"):
            m.reset_parameters()
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()


class AdversaryPool(nn.Module):
    """M identity adversaries re-trained during enhancer training. Buffers ``step`` (enhancer steps
    so far) and ``restarts`` (re-initialisations so far) travel with the resumable state; every
    initialisation is seeded from (seed, restart number), so runs are reproducible."""

    def __init__(self, num_classes: int, settings: AdversarySettings, seed: int):
        super().__init__()
        self.settings, self.seed = settings, seed
        self.members = nn.ModuleList(
            build_small_cnn(num_classes, settings.width) for _ in range(settings.count)
        )
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))
        for i, m in enumerate(self.members):
            self._initialise(m, seed * 100_003 + i)

    @staticmethod
    def _initialise(member: nn.Module, seed: int) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            _reset(member)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [m(x).float() for m in self.members]

    def tick(self, opt: torch.optim.Optimizer) -> int | None:
        """Count one enhancer step; every ``restart_every`` steps re-initialise the next member (round
        robin) and forget its optimiser state. Returns the restarted member's position, else None."""
        self.step += 1
        k = self.settings.restart_every
        if k <= 0 or int(self.step) % k:
            return None
        i = int(self.restarts) % len(self.members)
        member = self.members[i]
        self._initialise(member, self.seed * 100_003 + len(self.members) + int(self.restarts))
        for p in member.parameters():
            opt.state.pop(p, None)
        self.restarts += 1
        return i


def strongest_privacy_loss(
    enhancer: nn.Module,
    pool: AdversaryPool,
    fixed: nn.Module | None,
    adversary_opt: torch.optim.Optimizer,
    objective: str,
    l1_weight: float,
    cache: dict[str, torch.Tensor],
) -> Callable:
    """The enhancer's loss on a batch (band image, identity): the configured objective (``ce``:
    maximise the identity cross-entropy; ``entropy``: towards uniform) against the strongest member of
    the ensemble (lowest cross-entropy), plus the L1 anchor. Advances the pool's restart schedule and
    leaves the enhanced batch (detached) in ``cache`` for the adversaries' update."""
    if objective not in OBJECTIVES:
        raise ValueError(f"enhancer objective {objective!r} not in {OBJECTIVES}")

    def loss(batch):
        x, y = batch[0], batch[1]
        restarted = pool.tick(adversary_opt)
        pool.eval()
        out = enhancer(x)
        logits = pool(out) + ([fixed(out).float()] if fixed is not None else [])
        ces = torch.stack([F.cross_entropy(lg, y) for lg in logits])
        strongest = int(ces.argmin())
        if objective == "ce":
            value = -ces[strongest]
        else:
            value = -F.log_softmax(logits[strongest], dim=1).mean()
        if l1_weight > 0:
            value = value + l1_weight * F.l1_loss(out.float(), x)
        cache["out"] = out.detach()
        accs = [(lg.argmax(1) == y).float().mean().item() for lg in logits]
        metrics = {
            "adversary_acc": max(accs),
            "adversary_acc_mean": sum(accs) / len(accs),
            "restarts": float(restarted is not None),
        }
        if fixed is not None:
            metrics["controller_acc"] = accs[-1]
        return value, metrics

    return loss


def adversary_loss(pool: AdversaryPool, cache: dict[str, torch.Tensor], report: bool) -> Callable:
    """One update of every adversary: identity cross-entropy on the enhancer's latest (detached) outputs."""

    def loss(batch):
        y = batch[1]
        logits = pool(cache["out"])
        value = torch.stack([F.cross_entropy(lg, y) for lg in logits]).sum()
        metrics = {
            "adversary_train_acc": sum((lg.argmax(1) == y).float().mean().item() for lg in logits)
            / len(logits)
        }
        return value, metrics if report else {}

    return loss


def fit_robust_enhancer(
    enhancer: nn.Module,
    controller: nn.Module | None,
    num_classes: int,
    dataset: Dataset,
    settings: TrainSettings | Mapping[str, Any],
    objective: dict[str, Any],
    adversaries: AdversarySettings,
    run: Run,
) -> tuple[TrainResult, AdversaryPool]:
    """Train ``enhancer`` against an :class:`AdversaryPool` re-trained on its outputs (and the frozen
    ``controller`` as a fixed member when ``adversaries.with_controller``). ``objective``: {objective,
    l1_weight}; the identity budget does not apply (a restarted adversary is weak by construction)."""
    s = TrainSettings.from_config(settings)
    pool = AdversaryPool(num_classes, adversaries, run.seed).to(run.device)
    fixed = (
        freeze(controller.to(run.device))
        if (controller is not None and adversaries.with_controller)
        else None
    )
    enhancer.to(run.device)
    enh_opt = s.make_optimizer(enhancer.parameters())
    adv_opt = optimizer(pool.parameters(), adversaries.optimizer, adversaries.lr)
    cache: dict[str, torch.Tensor] = {}
    players = [
        Player(
            "privacy",
            [enhancer],
            enh_opt,
            strongest_privacy_loss(
                enhancer, pool, fixed, adv_opt, objective["objective"], objective["l1_weight"], cache
            ),
        )
    ]
    players += [
        Player(f"adversary{j}", [pool], adv_opt, adversary_loss(pool, cache, j == 0))
        for j in range(adversaries.steps)
    ]
    result = fit(
        players,
        dataset,
        s,
        run,
        {"train": s.config(), "objective": objective, "adversaries": asdict(adversaries), "desc": run.desc},
    )
    run.log(f"[{run.desc}] {int(pool.step)} enhancer steps, {int(pool.restarts)} adversary restarts")
    return result, pool


def fit_privacy_enhancer(
    enhancer: nn.Module,
    controller: nn.Module,
    num_classes: int,
    dataset: Dataset,
    settings: TrainSettings | Mapping[str, Any],
    objective: dict[str, Any],
    run: Run,
) -> TrainResult:
    """One privacy enhancer by ``objective["adversary"]``: ``frozen`` (the paper, :func:`fit_enhancer`)
    or ``retrained`` (:func:`fit_robust_enhancer` with ``objective["adversaries"]``)."""
    mode = objective.get("adversary", "frozen")
    if mode not in ADVERSARY_MODES:
        raise ValueError(f"enhancer.adversary {mode!r} not in {ADVERSARY_MODES}")
    if mode == "frozen":
        return fit_enhancer(enhancer, controller, dataset, settings, objective, run)
    adversaries = AdversarySettings.from_config(objective["adversaries"])
    result, _ = fit_robust_enhancer(
        enhancer, controller, num_classes, dataset, settings, objective, adversaries, run
    )
    return result
