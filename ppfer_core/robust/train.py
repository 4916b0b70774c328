"""The min-max training of "Ours (robust)": per enhancer step, ``steps`` adversary updates (each on freshly
drawn train clips enhanced by the current enhancers, plus replayed past outputs), then one step of both
enhancers jointly against the ensemble on the reconstructed frames, with the L1 anchor; one round (epoch)
ends with the fresh-attacker stop (:mod:`ppfer_core.robust.stop`), and the best round's weights are kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ppfer_core.robust.adversaries import Ensemble
from ppfer_core.robust.joint import BandClips, ClipBandDataset, JointEnhancer, holdout_clips
from ppfer_core.robust.settings import RobustSettings
from ppfer_core.robust.stop import BestRound, fresh_attacker_stop
from ppfer_core.training import Player, Run, TrainSettings, fit, optimizer


@dataclass
class RobustResult:
    """What the training did: per-round rows, why it stopped, the kept round and its fresh-attacker
    leakage, and which train clips were held out for the stop."""

    history: list[dict[str, float]]
    stopped: str
    best_round: int
    best_leak: float
    heldout_rows: np.ndarray
    train_dtype: str = "float32"

    def summary(self) -> dict[str, Any]:
        return {
            "history": self.history,
            "stopped": self.stopped,
            "best_round": self.best_round,
            "best_fresh_leak": self.best_leak,
            "heldout_clips": len(self.heldout_rows),
            "train_dtype": self.train_dtype,
        }


class AdversaryBatches:
    """Fresh adversary batches: ``batch_clips`` train clips (rows ``fit_rows``) drawn with a generator seeded
    from (seed, enhancer step, call), enhanced without gradient and remembered, plus replayed clips."""

    def __init__(
        self,
        joint: JointEnhancer,
        ens: Ensemble,
        clips: BandClips,
        fit_rows: np.ndarray,
        seed: int,
        device: torch.device,
    ):
        self.joint, self.ens, self.clips, self.rows = joint, ens, clips, fit_rows
        self.seed, self.device = seed, device

    def __call__(self, call: int) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.ens.settings
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + int(self.ens.step) * 1_009 + call)
        pick = torch.randperm(len(self.rows), generator=gen)[: s.batch_clips].numpy()
        low, highs, y = self.clips.take(self.rows[pick], self.device)
        with torch.no_grad():
            frames = self.joint.frames(low, highs)
        old = self.ens.replayed(s.replay_clips, gen)
        self.ens.remember(frames, y)
        if old is not None:
            frames, y = torch.cat([frames, old[0]]), torch.cat([y, old[1]])
        return frames, y


def train_members(
    ens: Ensemble,
    opt: torch.optim.Optimizer,
    draw: AdversaryBatches,
    steps: int,
    first_call: int,
    only: int | None = None,
) -> None:
    """``steps`` updates of the members (or member ``only``) outside the loop (warm-up, catch-up after a restart)."""
    ens.train()
    for j in range(steps):
        frames, y = draw(first_call + j)
        opt.zero_grad(set_to_none=True)
        ens.adversary_loss(frames, y, only)[0].backward()
        opt.step()


def adversary_player(ens: Ensemble, opt: torch.optim.Optimizer, draw: AdversaryBatches, j: int) -> Player:
    """The ``j``-th adversary update of an enhancer step; the first one warms the members up once."""

    def loss(_batch):
        if j == 0 and not bool(ens.warmed):
            train_members(ens, opt, draw, ens.settings.warmup_steps, 10_000)
            ens.warmed.fill_(True)
        frames, y = draw(j)
        value, acc = ens.adversary_loss(frames, y)
        return value, {"adversary_train_acc": acc} if j == 0 else {}

    return Player(f"adversary{j}", [ens], opt, loss)


def privacy_player(
    joint: JointEnhancer,
    best: BestRound,
    ens: Ensemble,
    settings: RobustSettings,
    opt: torch.optim.Optimizer,
    adv_opt: torch.optim.Optimizer,
    draw: AdversaryBatches,
) -> Player:
    """One step of both enhancers against the ensemble (the restart schedule advances first; a restarted
    member catches up on the replay buffer before it is faced)."""

    def loss(batch):
        low, highs, y = batch[0], list(batch[1:-1]), batch[-1]
        restarted = ens.tick(adv_opt)
        if restarted is not None:
            train_members(ens, adv_opt, draw, ens.settings.restart_steps, 20_000, only=restarted)
        frames = joint.frames(low, highs)
        value, metrics = ens.privacy_loss(frames, y, settings.objective)
        with torch.no_grad():
            original = joint.frames(low, highs, enhance=False)
        l1 = F.l1_loss(frames, original)
        metrics.update(l1=l1.item(), restarts=float(restarted is not None))
        return value + settings.l1_weight * l1, metrics

    return Player("privacy", [joint, best], opt, loss)


def fit_robust(
    joint: JointEnhancer,
    clips: BandClips,
    train: TrainSettings | Mapping[str, Any],
    settings: RobustSettings,
    run: Run,
    validator: torch.nn.Module | None = None,
) -> tuple[RobustResult, Ensemble]:
    """Train the two enhancers of ``joint`` on the *train* split's ``clips`` against a re-trained
    :class:`Ensemble` (``validator``: the frame controller the validator member starts from), in rounds
    of ``train`` (``batch_size`` and ``items_per_epoch`` in clips; ``epochs``: the cap on rounds), until
    the fresh-attacker stop; ``joint`` ends with the best round's weights."""
    s = TrainSettings.from_config(train)
    fit_rows, held_rows = holdout_clips(clips, settings.stop.holdout, run.seed)
    n_classes = int(clips.ids.max()) + 1
    t = clips.low.shape[1]
    ens = Ensemble(n_classes, settings.adversaries, (t, *joint.size), run.seed, validator).to(run.device)
    joint.to(run.device)
    best = BestRound(joint).to(run.device)
    enh_opt = s.make_optimizer(joint.parameters())
    adv = settings.adversaries
    adv_opt = optimizer(ens.parameters(), adv.optimizer, adv.lr)
    draw = AdversaryBatches(joint, ens, clips, fit_rows, run.seed, run.device)
    players = [adversary_player(ens, adv_opt, draw, j) for j in range(adv.steps)]
    players.append(privacy_player(joint, best, ens, settings, enh_opt, adv_opt, draw))
    stop = fresh_attacker_stop(joint, best, clips, fit_rows, held_rows, settings.stop, run)
    fingerprint = {"train": s.config(), "robust": settings.config(), "n": len(clips), "desc": run.desc}
    result = fit(players, ClipBandDataset(clips, fit_rows), s, run, fingerprint, stop)
    best.restore(joint)
    run.log(
        f"[{run.desc}] {int(ens.step)} enhancer steps, {int(ens.restarts)} restarts; kept round {int(best.round)} "
        f"(fresh attacker leakage {float(best.leak):.4f}): {result.stopped}"
    )
    robust = RobustResult(
        result.history, result.stopped, int(best.round), float(best.leak), held_rows, result.dtype
    )
    return robust, ens
