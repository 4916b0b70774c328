"""The fresh-attacker stop: after every round a fresh copy of the suite's strongest attacker (``small_cnn``
from scratch, flip / shift augmentation) trains a short fixed budget on the enhancer's outputs of
train clips and is scored on the outputs of train clips held out from the enhancer's training. Only
train-split clips are read. The round with the lowest leakage (among rounds within the distortion cap)
is kept (:class:`BestRound`, part of the resumable state)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ppfer_core.arrays import FlipShiftFrames
from ppfer_core.attacks import build_small_cnn, frame_logits, vote
from ppfer_core.classifiers import fit_classifier
from ppfer_core.robust.joint import BandClips, JointEnhancer
from ppfer_core.robust.settings import StopSettings
from ppfer_core.training import Run


class BestRound(nn.Module):
    """The best round so far: its leakage, number, rounds since, and the enhancers' weights (buffers)."""

    def __init__(self, joint: JointEnhancer):
        super().__init__()
        self.register_buffer("leak", torch.tensor(math.inf))
        self.register_buffer("round", torch.tensor(-1))
        self.register_buffer("since", torch.tensor(0))
        self.names = list(joint.enhancer_state())
        for k, v in joint.enhancer_state().items():
            self.register_buffer("w__" + k.replace(".", "__"), v.clone())

    def keep(self, joint: JointEnhancer, leak: float, rnd: int) -> None:
        self.leak.fill_(leak)
        self.round.fill_(rnd)
        self.since.zero_()
        for k, v in joint.enhancer_state().items():
            getattr(self, "w__" + k.replace(".", "__")).copy_(v)

    def restore(self, joint: JointEnhancer) -> None:
        """Load the kept round's weights into ``joint`` (nothing when no round was kept)."""
        if int(self.round) < 0:
            return
        state = {k: getattr(self, "w__" + k.replace(".", "__")) for k in self.names}
        joint.load_enhancer_state(state)


@torch.no_grad()
def output_clips(
    joint: JointEnhancer, clips: BandClips, rows: np.ndarray, device: torch.device, batch: int = 8
) -> tuple[np.ndarray, float]:
    """The enhancer's (eval mode) uint8 output clips ``[n, T, H, W, 3]`` of ``rows`` and their mean L1 to the input frames."""
    joint.eval()
    out, l1 = [], 0.0
    for start in range(0, len(rows), batch):
        low, highs, _ = clips.take(rows[start : start + batch], device)
        frames = joint.frames(low, highs)
        l1 += float((frames - joint.frames(low, highs, enhance=False)).abs().mean()) * len(low)
        out.append((frames * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).cpu().numpy())
    joint.train()
    return np.concatenate(out), l1 / max(len(rows), 1)


def fresh_attacker(
    joint: JointEnhancer,
    clips: BandClips,
    fit_rows: np.ndarray,
    held_rows: np.ndarray,
    settings: StopSettings,
    run: Run,
) -> dict[str, float]:
    """Train a fresh ``small_cnn`` on the outputs of (up to ``fit_clips`` of) ``fit_rows`` and score it on
    ``held_rows``' outputs: frame and vote accuracy, leakage (their max), distortion, its train accuracy."""
    n_classes = int(clips.ids.max()) + 1
    rng = np.random.default_rng(run.seed)
    fit_rows = np.sort(rng.choice(fit_rows, size=min(settings.fit_clips, len(fit_rows)), replace=False))
    fit_out, _ = output_clips(joint, clips, fit_rows, run.device)
    held_out, l1 = output_clips(joint, clips, held_rows, run.device)
    data = FlipShiftFrames(fit_out, clips.ids[fit_rows], settings.shift)
    items = settings.steps * settings.batch_size
    train = {
        "epochs": max(1, math.ceil(items / len(data))),
        "batch_size": settings.batch_size,
        "lr": settings.lr,
        "optimizer": "adam",
        "items_per_epoch": min(items, len(data)),
    }
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(run.seed)
        model = build_small_cnn(n_classes, settings.width)
        result = fit_classifier(model, data, train, run)
    logits = frame_logits(model, held_out, run.device)
    ids = clips.ids[held_rows]
    frame_acc = float((logits.argmax(-1) == ids[:, None]).mean())
    vote_acc = float((vote(logits) == ids).mean())
    return {
        "fresh_frame_acc": frame_acc,
        "fresh_vote_acc": vote_acc,
        "fresh_leak": max(frame_acc, vote_acc),
        "fresh_train_acc": float(result.history[-1]["acc"]),
        "heldout_l1": l1,
    }


def fresh_attacker_stop(
    joint: JointEnhancer,
    best: BestRound,
    clips: BandClips,
    fit_rows: np.ndarray,
    held_rows: np.ndarray,
    settings: StopSettings,
    run: Run,
) -> Callable[[dict[str, float]], str | None]:
    """The training loop's stop rule: after each round, the fresh attacker's scores join the round's row;
    a round within ``max_l1`` and leaking less than the best so far is kept; stop at ``target`` x chance
    or after ``patience`` rounds without a kept round."""
    chance = 1.0 / (int(clips.ids.max()) + 1)

    def stop(row: dict[str, float]) -> str | None:
        rnd = int(row["epoch"])
        scores = fresh_attacker(
            joint,
            clips,
            fit_rows,
            held_rows,
            settings,
            Run(
                run.device,
                run.seed * 1000 + rnd,
                None,
                run.log,
                f"{run.desc} fresh attacker {rnd}",
                cpu_dtype=run.cpu_dtype,
            ),
        )
        row.update(scores)
        eligible = settings.max_l1 is None or scores["heldout_l1"] <= settings.max_l1
        if eligible and scores["fresh_leak"] < float(best.leak):
            best.keep(joint, scores["fresh_leak"], rnd)
        else:
            best.since += 1
        row["best_round"], row["best_leak"] = float(best.round), float(best.leak)
        run.log(
            f"[{run.desc}] round {rnd}: fresh attacker leakage {scores['fresh_leak']:.4f} (frame {scores['fresh_frame_acc']:.4f}, "
            f"vote {scores['fresh_vote_acc']:.4f}, its train accuracy {scores['fresh_train_acc']:.4f}), held-out L1 {scores['heldout_l1']:.4f}; best round {int(best.round)}"
        )
        if int(best.round) >= 0 and float(best.leak) <= settings.target * chance:
            return f"fresh attacker at {float(best.leak):.4f} <= {settings.target} x chance ({chance:.4f}) in round {int(best.round)}"
        if int(best.since) >= settings.patience:
            return f"fresh attacker's leakage has not improved for {settings.patience} rounds (best {float(best.leak):.4f}, round {int(best.round)})"
        return None

    return stop
