"""Trade-off framework baseline (SPAct-style, paper §4.3): an anonymiser U-Net trained by alternating
minimax against a self-supervised privacy encoder, while a utility model keeps the expression.

Three :class:`~ppfer_core.training.Player` s are stepped in turn on each batch of (x, expression)
by the one training loop:

1. anonymiser A: minimise CE(U(A(x)), y) - w * NT-Xent(P(aug(A(x))), P(aug'(A(x))));
2. utility model U: minimise CE(U(A(x)), y) (A fixed);
3. privacy encoder P: minimise NT-Xent between two augmented views of A(x) (A fixed).

``x`` is a batch of clips [B, 3, T, H, W] in the workflow: A anonymises every frame, U is a video
model of the same R3D family as F_u (``create_model("video", ...)``), and P sees one random frame of each
anonymised clip. A batch of frames [B, 3, H, W] (with an image utility model) works the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ppfer_core.training import no_param_grads

PROJECTION_DIM = 128


def nt_xent(
    z1: torch.Tensor, z2: torch.Tensor, temperature: float, groups: torch.Tensor | None = None
) -> torch.Tensor:
    """SimCLR's normalised-temperature cross-entropy: row i of ``z1`` and of ``z2`` are the positive
    pair; the other 2N - 2 embeddings of the batch are negatives, or, with ``groups`` (one id per
    row), only those of the same group."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    sim = z @ z.T / temperature
    excluded = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    if groups is not None:
        g = torch.cat([groups, groups]).to(z.device)
        excluded = excluded | (g[:, None] != g[None, :])
    sim = sim.masked_fill(excluded, float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


def augment(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random, differentiable view of images [B, 3, H, W] in [0, 1]: resized crop (60-100 % of
    the side), horizontal flip, brightness and contrast jitter, grey with probability 0.2."""
    b = x.shape[0]

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=generator).to(x.device)

    side = u(0.6, 1.0)
    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0).to(x.device)
    tx, ty = (1 - side) * u(-1.0, 1.0), (1 - side) * u(-1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=x.device)
    theta[:, 0, 0], theta[:, 0, 2] = side * flip, tx
    theta[:, 1, 1], theta[:, 1, 2] = side, ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    y = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    y = y * u(0.7, 1.3).view(b, 1, 1, 1)
    mean = y.mean(dim=(1, 2, 3), keepdim=True)
    y = (y - mean) * u(0.7, 1.3).view(b, 1, 1, 1) + mean
    grey = (torch.rand(b, generator=generator) < 0.2).to(x.device).view(b, 1, 1, 1)
    lum = (0.299 * y[:, 0:1] + 0.587 * y[:, 1:2] + 0.114 * y[:, 2:3]).expand_as(y)
    return torch.where(grey, lum, y).clamp(0.0, 1.0)


class PrivacyEncoder(nn.Module):
    """Self-supervised privacy branch: an image backbone (pooled features) and a 2-layer projection head."""

    def __init__(self, backbone: nn.Module, features: int, dim: int = PROJECTION_DIM):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Sequential(
            nn.Linear(features, 2 * dim), nn.ReLU(inplace=True), nn.Linear(2 * dim, dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images [B, 3, H, W] in [0, 1] -> embeddings [B, dim]."""
        return self.head(self.backbone(x))


def build_privacy_encoder(arch: str, dim: int = PROJECTION_DIM) -> PrivacyEncoder:
    """A timm backbone (from scratch, ImageNet-normalised input, no classifier) with a projection head."""
    from ppfer_core.registry import create_model

    backbone = create_model("image", arch, num_classes=0)
    return PrivacyEncoder(backbone, backbone.net.num_features, dim)


def anonymise(anonymiser: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A(x) of frames [B, 3, H, W], or of every frame of clips [B, 3, T, H, W] (clips out)."""
    if x.ndim == 4:
        return anonymiser(x)
    b, c, t, h, w = x.shape
    frames = anonymiser(x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w))
    return frames.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)


def privacy_images(a: torch.Tensor) -> torch.Tensor:
    """What the privacy encoder sees of an anonymised batch: frames as they are; of clips
    [B, 3, T, H, W], one random frame per clip (distinct clips are the NT-Xent negatives)."""
    if a.ndim == 4:
        return a
    pick = torch.randint(a.shape[2], (a.shape[0],)).to(a.device)
    return a[torch.arange(a.shape[0], device=a.device), :, pick]


def _views(encoder: nn.Module, a: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent of the encoder on two augmented views of the anonymised batch ``a``."""
    a = privacy_images(a)
    return nt_xent(encoder(augment(a)).float(), encoder(augment(a)).float(), temperature)


def anonymiser_loss(
    anonymiser: nn.Module, utility: nn.Module, encoder: nn.Module, privacy_weight: float, temperature: float
) -> Callable:
    """Player 1 on a batch (x, y): utility cross-entropy minus ``privacy_weight`` x the encoder's NT-Xent."""

    def loss(batch):
        x, y = batch[0], batch[1]
        with no_param_grads(utility, encoder):
            a = anonymise(anonymiser, x)
            logits = utility(a).float()
            ce = F.cross_entropy(logits, y)
            nt = _views(encoder, a, temperature)
        return ce - privacy_weight * nt, {"anon_ce": ce.item(), "anon_ntxent": nt.item()}

    return loss


def utility_loss(anonymiser: nn.Module, utility: nn.Module) -> Callable:
    """Player 2 on a batch (x, y): the utility model's cross-entropy on the (fixed) anonymised frames."""

    def loss(batch):
        x, y = batch[0], batch[1]
        with torch.no_grad():
            a = anonymise(anonymiser, x)
        logits = utility(a).float()
        return F.cross_entropy(logits, y), {"utility_acc": (logits.argmax(1) == y).float().mean().item()}

    return loss


def privacy_loss(anonymiser: nn.Module, encoder: nn.Module, temperature: float) -> Callable:
    """Player 3 on a batch (x, ...): the privacy encoder's NT-Xent on the (fixed) anonymised frames."""

    def loss(batch):
        with torch.no_grad():
            a = anonymise(anonymiser, batch[0])
        return _views(encoder, a, temperature), {}

    return loss
