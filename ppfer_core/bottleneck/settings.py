"""Typed settings of the expression-code bottleneck (config block ``bottleneck:``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

REFERENCES = ("relative", "absolute")
"""Code references: ``relative`` to the clip's neutral frames, ``absolute`` to the global mean face."""


@dataclass(frozen=True)
class BasisSettings:
    """How the expression basis is fitted and the code computed.

    ``k``: basis size (the privacy / utility knob); ``reference``: one of :data:`REFERENCES`;
    ``neutral_fraction``: share of a clip's frames (the least expressive ones, at least one) whose
    mean is its neutral reference; ``amplitude_norm``: scale each clip's code sequence to the train
    population's typical RMS (removes how strongly a person emotes)."""

    k: int = 8
    reference: str = "relative"
    neutral_fraction: float = 0.25
    amplitude_norm: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 136:
            raise ValueError(f"bottleneck.k must be in [1, 136], got {self.k}")
        if self.reference not in REFERENCES:
            raise ValueError(f"bottleneck.reference must be one of {REFERENCES}, got {self.reference!r}")
        if not 0.0 < self.neutral_fraction <= 1.0:
            raise ValueError(f"bottleneck.neutral_fraction must be in (0, 1], got {self.neutral_fraction}")


@dataclass(frozen=True)
class RegressorSettings:
    """Training of the landmark regressor (config ``bottleneck.regressor``)."""

    width: int = 32
    epochs: int = 12
    batch_size: int = 64
    lr: float = 0.002
    shift: int = 3  # px of random translation augmentation (landmarks shifted with the frame)
    motion: bool = False  # also feed each frame minus its clip's mean frame (within-clip motion)
    head: str = "regression"  # regression (linear head) or heatmap (soft-argmax of per-point heatmaps)
    upsample: int = 1  # bilinear input upsampling factor before the CNN


@dataclass(frozen=True)
class BottleneckSettings:
    """The whole ``bottleneck:`` config block."""

    basis: BasisSettings
    regressor: RegressorSettings
    template_actor: int = 9004  # synthetic identity of the template face (outside the corpus)

    @classmethod
    def from_config(cls, cfg: Mapping) -> BottleneckSettings:
        """From the ``bottleneck:`` mapping; unknown keys raise ValueError naming them."""
        basis_keys = {f.name for f in fields(BasisSettings)}
        known = basis_keys | {"regressor", "template_actor"}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"bottleneck: unknown keys {sorted(unknown)} (known: {sorted(known)})")
        reg = dict(cfg.get("regressor") or {})
        reg_keys = {f.name for f in fields(RegressorSettings)}
        if set(reg) - reg_keys:
            raise ValueError(f"bottleneck.regressor: unknown keys {sorted(set(reg) - reg_keys)}")
        return cls(
            basis=BasisSettings(**{k: cfg[k] for k in basis_keys if k in cfg}),
            regressor=RegressorSettings(**reg),
            template_actor=int(cfg.get("template_actor", 9004)),
        )
