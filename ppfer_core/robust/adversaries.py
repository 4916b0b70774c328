"""The ensemble of identity adversaries re-trained on the enhancer's reconstructed frames.

Members (:class:`Ensemble`): ``scratch`` copies of the attack suite's ``small_cnn`` trained from scratch
(GroupNorm instead of BatchNorm, so no running statistics lag the enhancer's outputs), optionally one
fine-tuned from the frame controller (V_pl's fine-tune; its BatchNorm always runs on batch statistics)
and one ``small_cnn`` that votes over a clip (mean log-probability of its frames). Wu et al. (TPAMI
2020)'s remedies for the "any attacker" problem: the ensemble, and model restarting (one scratch member,
round robin, re-initialised every ``restart_every`` enhancer steps). A restarted member is not left at
nothing: it catches up on a replay buffer of past enhancer outputs, which also keeps every member from
forgetting earlier tricks. The buffers (step, restarts, warm-up done, replay) travel with the resumable state.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ppfer_core.attacks import build_small_cnn
from ppfer_core.robust.settings import AdversarySettings
from ppfer_core.training import no_param_grads

FRAME, CLIP = "frame", "clip"


def to_group_norm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm2d of ``module`` by a GroupNorm (up to 8 groups) of the same width, in place."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            c = child.num_features
            setattr(module, name, nn.GroupNorm(max(g for g in (8, 4, 2, 1) if c % g == 0), c))
        else:
            to_group_norm(child)
    return module


def _reinitialise(member: nn.Module, seed: int) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for m in member.modules():
            if m is not member and hasattr(m, "reset_parameters"):
                m.reset_parameters()


def member_logits(
    kind: str, model: nn.Module, frames: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """A member's logits and targets on clip frames ``[B, T, 3, H, W]``: per frame, or per clip (mean log-probability)."""
    b, t = frames.shape[:2]
    logits = model(frames.flatten(0, 1)).float()
    if kind == CLIP:
        return F.log_softmax(logits, 1).unflatten(0, (b, t)).mean(1), y
    return logits, y.repeat_interleave(t)


def privacy_value(logits: torch.Tensor, y: torch.Tensor, objective: str) -> torch.Tensor:
    """The enhancer's loss against one member, minimised; neither saturates where the member is right and sure.

    ``complement``: -log(1 - p_true) with p_true floored at chance (zero gradient once at or below chance);
    ``capped_ce``: -min(CE, log C)."""
    c = logits.shape[1]
    if objective == "complement":
        p = F.softmax(logits, 1).gather(1, y[:, None]).squeeze(1).clamp(min=1.0 / c, max=1 - 1e-6)
        return -torch.log1p(-p).mean()
    if objective == "capped_ce":
        return -F.cross_entropy(logits, y, reduction="none").clamp(max=math.log(c)).mean()
    raise ValueError(f"robust.objective {objective!r} not in ('complement', 'capped_ce')")


def aggregate(values: torch.Tensor, how: str, temperature: float = 1.0) -> torch.Tensor:
    """The enhancer's loss from the members' losses ``values`` ``[M]`` (each :func:`privacy_value`).

    ``max``: the most confident member's (Wu et al., TPAMI 2020); no other member reaches the gradient.
    ``mean``: every member at weight 1 / M. ``softmax``: sum_i w_i v_i with w = softmax(v / temperature),
    the weights held constant, so the gradient is that of the smooth maximum temperature *
    logsumexp(v / temperature): every member reaches it, the more confident ones more (max as the
    temperature goes to 0, mean as it grows), and members near chance take little weight instead of
    diluting the push as under ``mean``."""
    if how == "max":
        return values.max()
    if how == "mean":
        return values.mean()
    if how == "softmax":
        return (torch.softmax(values.detach() / temperature, 0) * values).sum()
    raise ValueError(f"robust.adversaries.aggregate {how!r} not in ('softmax', 'mean', 'max')")


class Ensemble(nn.Module):
    """The identity adversaries and their replay buffer of past outputs (uint8 clips ``[R, T, 3, H, W]``)."""

    def __init__(
        self,
        num_classes: int,
        settings: AdversarySettings,
        frame_shape: tuple[int, int, int],
        seed: int,
        validator: nn.Module | None = None,
    ):
        super().__init__()
        self.settings, self.seed = settings, seed
        models, self.kinds = [], []
        for i in range(settings.scratch):
            m = to_group_norm(build_small_cnn(num_classes, settings.width))
            _reinitialise(m, seed * 100_003 + i)
            models.append(m)
            self.kinds.append(FRAME)
        if settings.validator:
            if validator is None:
                raise ValueError("robust.adversaries.validator: true needs the frame controller's weights")
            models.append(validator)
            self.kinds.append(FRAME)
        if settings.clip:
            m = to_group_norm(build_small_cnn(num_classes, settings.width))
            _reinitialise(m, seed * 100_003 + 99_991)
            models.append(m)
            self.kinds.append(CLIP)
        self.members = nn.ModuleList(models)
        t, h, w = frame_shape
        r = settings.replay
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))
        self.register_buffer("warmed", torch.zeros((), dtype=torch.bool))
        self.register_buffer("replay_frames", torch.zeros((r, t, 3, h, w), dtype=torch.uint8))
        self.register_buffer("replay_ids", torch.zeros(r, dtype=torch.long))
        self.register_buffer("replay_count", torch.zeros((), dtype=torch.long))

    def logits(self, frames: torch.Tensor, y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [member_logits(k, m, frames, y) for k, m in zip(self.kinds, self.members)]

    def adversary_loss(
        self, frames: torch.Tensor, y: torch.Tensor, only: int | None = None
    ) -> tuple[torch.Tensor, float]:
        """Summed identity cross-entropy of the members (or member ``only``) and their mean accuracy."""
        pairs = [
            member_logits(k, m, frames, y)
            for i, (k, m) in enumerate(zip(self.kinds, self.members))
            if only is None or i == only
        ]
        loss = torch.stack([F.cross_entropy(lg, t) for lg, t in pairs]).sum()
        acc = sum((lg.argmax(1) == t).float().mean().item() for lg, t in pairs) / len(pairs)
        return loss, acc

    def privacy_loss(
        self, frames: torch.Tensor, y: torch.Tensor, objective: str
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The enhancer's objective against the ensemble (:func:`aggregate` of the members' losses), members
        on batch statistics; accuracy of the best and of the mean member."""
        with no_param_grads(self):
            pairs = self.logits(frames, y)
        values = torch.stack([privacy_value(lg, t, objective) for lg, t in pairs])
        value = aggregate(values, self.settings.aggregate, self.settings.temperature)
        accs = [(lg.argmax(1) == t).float().mean().item() for lg, t in pairs]
        return value, {"adversary_acc": max(accs), "adversary_acc_mean": sum(accs) / len(accs)}

    @torch.no_grad()
    def remember(self, frames: torch.Tensor, y: torch.Tensor) -> None:
        """Write output clips into the replay buffer (ring)."""
        r = self.replay_frames.shape[0]
        if r == 0:
            return
        for f, i in zip(frames, y):
            pos = int(self.replay_count) % r
            self.replay_frames[pos] = (f.clamp(0, 1) * 255).round().to(torch.uint8)
            self.replay_ids[pos] = i
            self.replay_count += 1

    def replayed(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``n`` random clips of the replay buffer as float frames, or None while it is empty."""
        filled = min(int(self.replay_count), self.replay_frames.shape[0])
        if filled == 0 or n == 0:
            return None
        rows = torch.randint(filled, (n,), generator=gen).to(self.replay_ids.device)
        return self.replay_frames[rows].float() / 255.0, self.replay_ids[rows]

    def scratch_members(self) -> list[int]:
        return list(range(self.settings.scratch))

    def tick(self, opt: torch.optim.Optimizer) -> int | None:
        """Count one enhancer step; every ``restart_every`` steps re-initialise the next scratch member (round
        robin) and forget its optimiser state. Returns the restarted member's position, else None."""
        self.step += 1
        k, scratch = self.settings.restart_every, self.scratch_members()
        if k <= 0 or not scratch or int(self.step) % k:
            return None
        i = scratch[int(self.restarts) % len(scratch)]
        _reinitialise(self.members[i], self.seed * 100_003 + len(self.members) + int(self.restarts))
        for p in self.members[i].parameters():
            opt.state.pop(p, None)
        self.restarts += 1
        return i
