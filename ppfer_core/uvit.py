"""The pixel-space U-ViT (the feature compensator F_fc's model family), built on timm.layers'
Attention, Mlp and PatchEmbed, with its builder and the loader of a U-ViT checkpoint's blocks.
Kept apart from :mod:`ppfer_core.nets` so that jobs without a U-ViT do not import timm."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from timm.layers import Attention, Mlp, PatchEmbed
from torch import nn

from ppfer_core.nets import _load_own
from ppfer_core.registry import create_model, register_model
from ppfer_core.weights import LoadReport, load_matching, load_state_file

__all__ = ["Block", "UViT", "UVIT_BLOCK_PREFIXES", "build_uvit", "load_uvit_blocks"]

UVIT_BLOCK_PREFIXES: tuple[str, ...] = ("in_blocks", "mid_block", "out_blocks", "norm")
"""Top-level U-ViT module names whose tensors :func:`load_uvit_blocks` transfers."""


class Block(nn.Module):
    """U-ViT transformer block: optional long-skip fusion ``skip_linear(cat[x, skip])``, then pre-norm attn and MLP."""

    def __init__(
        self, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = False, skip: bool = False
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, qkv_bias=qkv_bias)  # timm: qkv, proj (U-ViT's names)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))  # timm: fc1 -> GELU -> fc2
        self.skip_linear = nn.Linear(2 * dim, dim) if skip else None

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        """Run the block on tokens ``[B, L, D]`` (``skip`` required for out-blocks)."""
        if self.skip_linear is not None:
            x = self.skip_linear(torch.cat([x, skip], dim=-1))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class UViT(nn.Module):
    """Pixel-space U-ViT (feature compensator F_fc): ViT with long skip connections, frame in → frame out."""

    def __init__(
        self,
        img_size: int,
        patch_size: int,
        in_channels: int = 3,
        embed_dim: int = 192,
        depth: int = 7,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        residual: bool = True,
        qkv_bias: bool = False,
    ):
        super().__init__()
        if img_size % patch_size:
            raise ValueError(f"img_size {img_size} is not divisible by patch_size {patch_size}")
        self.img_size, self.patch_size, self.in_channels = img_size, patch_size, in_channels
        self.residual = residual
        self.grid = img_size // patch_size
        self.patch_embed = PatchEmbed(
            img_size, patch_size, in_channels, embed_dim
        )  # timm: proj, tokens [B, L, D]
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid**2, embed_dim))
        self.in_blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias) for _ in range(depth // 2)
        )
        self.mid_block = Block(embed_dim, num_heads, mlp_ratio, qkv_bias)
        self.out_blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, qkv_bias, skip=True) for _ in range(depth // 2)
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.decoder_pred = nn.Linear(embed_dim, patch_size**2 * in_channels)
        self.final_layer = nn.Conv2d(in_channels, in_channels, 3, padding=1)
        self._init_weights()

    @torch.no_grad()
    def _init_weights(self) -> None:
        """U-ViT init (trunc-normal 0.02 linears, unit LayerNorm); residual head starts as the identity map."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.residual:
            # decoder_pred = 0 makes the head output 0 (identity map); final_layer is a Dirac (identity) conv
            # rather than 0, because zeroing both would leave every weight but final_layer.bias without gradient.
            nn.init.zeros_(self.decoder_pred.weight)
            nn.init.zeros_(self.decoder_pred.bias)
            nn.init.dirac_(self.final_layer.weight)
            nn.init.zeros_(self.final_layer.bias)

    def unpatchify(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[B, L, p·p·C]`` (U-ViT's ``(p1 p2 C)`` order) → ``[B, C, H, W]``."""
        b, g, p, c = tokens.shape[0], self.grid, self.patch_size, self.in_channels
        x = tokens.view(b, g, g, p, p, c).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(b, c, g * p, g * p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map frames ``[B, C, img, img]`` in [0, 1] to frames of the same shape in [0, 1]."""
        if x.shape[-3:] != (self.in_channels, self.img_size, self.img_size):
            raise ValueError(
                f"UViT expects [B, {self.in_channels}, {self.img_size}, {self.img_size}], got {list(x.shape)}"
            )
        h = self.patch_embed(x) + self.pos_embed
        skips = []
        for blk in self.in_blocks:
            h = blk(h)
            skips.append(h)
        h = self.mid_block(h)
        for blk in self.out_blocks:
            h = blk(h, skips.pop())
        head = self.final_layer(self.unpatchify(self.decoder_pred(self.norm(h))))
        return (x + head).clamp(0.0, 1.0) if self.residual else torch.sigmoid(head)


@register_model("compensator", "uvit")
def _uvit(settings: Mapping[str, Any], img_size: int, weights: str | Path | None = None) -> UViT:
    """The feature compensator F_fc from its config entry {patch, dim, depth, heads} (models.uvit)
    for frames of side ``img_size``; ``weights``: a checkpoint of :func:`ppfer_core.training.save_weights`
    (the entry's own ``weights``, a U-ViT checkpoint seeding the blocks, is :func:`load_uvit_blocks`')."""
    net = UViT(
        img_size=img_size,
        patch_size=settings["patch"],
        embed_dim=settings["dim"],
        depth=settings["depth"],
        num_heads=settings["heads"],
    )
    return net if weights is None else _load_own(net, weights)


def build_uvit(cfg: Mapping[str, Any], img_size: int, weights: str | Path | None = None) -> UViT:
    """``create_model("compensator", "uvit", settings=cfg, img_size=img_size, weights=weights)`` (kept for existing callers)."""
    return create_model("compensator", "uvit", settings=cfg, img_size=img_size, weights=weights)


def load_uvit_blocks(model: UViT, checkpoint: str | Path) -> LoadReport:
    """Load the transformer blocks and final norm of a U-ViT checkpoint into ``model``; embedding and head stay new."""
    return load_matching(
        model, load_state_file(checkpoint), str(checkpoint), only=UVIT_BLOCK_PREFIXES, what="load_uvit_blocks"
    )
