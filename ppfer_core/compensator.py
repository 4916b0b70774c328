"""Controlled feature compensation (paper §3.3, Algorithm 2): the U-ViT F_fc trained, frame by
frame, to make a frozen expression controller C_fc recognise the expression in F_fc(G)."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import nn

LOSSES = ("ce", "mse")


def compensation_loss(compensator: nn.Module, controller: nn.Module | None, kind: str) -> Callable:
    """Compensator loss on a batch (G frame, expression, original frame).

    ``ce``: cross-entropy of the frozen controller C_fc on F_fc(G) (the paper); ``mse``: mean squared
    error of F_fc(G) to the original frame, without a controller (ablation task 4).
    """
    if kind not in LOSSES:
        raise ValueError(f"compensator loss {kind!r} not in {LOSSES}")
    if kind == "ce" and controller is None:
        raise ValueError("the cross-entropy compensator needs its controller C_fc")

    def loss(batch):
        g, e, original = batch[0], batch[1], batch[2]
        out = compensator(g)
        if kind == "mse":
            return F.mse_loss(out.float(), original), {}
        logits = controller(out).float()
        return F.cross_entropy(logits, e), {"controller_acc": (logits.argmax(1) == e).float().mean().item()}

    return loss
