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
    """Training of the landmark regressor (config ``baselines.swap.regressor``: Image Swapping's landmarks,
    rule swap_landmarks; the bottleneck estimates its code directly, :class:`EstimatorSettings`)."""

    width: int = 32
    epochs: int = 12
    batch_size: int = 64
    lr: float = 0.002
    shift: int = 3  # px of random translation augmentation (landmarks shifted with the frame)
    motion: bool = False  # also feed each frame minus its clip's mean frame (within-clip motion)
    head: str = "regression"  # regression (linear head) or heatmap (soft-argmax of per-point heatmaps)
    upsample: int = 1  # bilinear input upsampling factor before the CNN


INPUTS = ("motion", "difference")
"""Inputs of the code estimator: the frame and the frame minus its clip's mean frame; that difference
alone."""


@dataclass(frozen=True)
class EstimatorSettings:
    """Training of the code estimator (config ``bottleneck.estimator``): CNN ``width``, ``inputs``
    (one of :data:`INPUTS`), Adam with a cosine-decayed ``lr``, ``shift`` px of random translation,
    and ``neutral_weight``, the loss weight of the expressiveness code (neutral-frame selection)
    relative to the within-clip code."""

    width: int = 16
    epochs: int = 8
    batch_size: int = 64
    lr: float = 0.002
    shift: int = 2
    inputs: str = "motion"
    neutral_weight: float = 0.5

    def __post_init__(self) -> None:
        if self.inputs not in INPUTS:
            raise ValueError(f"bottleneck.estimator.inputs must be one of {INPUTS}, got {self.inputs!r}")
        if self.width < 1 or self.epochs < 1 or self.batch_size < 2:
            raise ValueError(
                f"bottleneck.estimator: width, epochs >= 1 and batch_size >= 2, got {self.width}, "
                f"{self.epochs}, {self.batch_size}"
            )


LANDMARK_SOURCES = ("auto", "ingest", "dlib")
"""Where rule bottleneck_landmarks takes the train split's landmarks from (``bottleneck.landmarks``)."""


@dataclass(frozen=True)
class BottleneckSettings:
    """The whole ``bottleneck:`` config block."""

    basis: BasisSettings
    estimator: EstimatorSettings
    template_actor: int = 9004  # synthetic identity of the template face (outside the corpus)
    landmarks: str = "auto"  # the train split's landmarks: ingest's, dlib's, or ingest's when present

    def __post_init__(self) -> None:
        if self.landmarks not in LANDMARK_SOURCES:
            raise ValueError(
                f"bottleneck.landmarks must be one of {LANDMARK_SOURCES}, got {self.landmarks!r}"
            )

    @classmethod
    def from_config(cls, cfg: Mapping) -> BottleneckSettings:
        """From the ``bottleneck:`` mapping; unknown keys raise ValueError naming them."""
        basis_keys = {f.name for f in fields(BasisSettings)}
        # sweep: the plan's (ppfer_core.families.bottleneck_points), not a setting of one bottleneck
        known = basis_keys | {"estimator", "template_actor", "landmarks", "sweep"}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"bottleneck: unknown keys {sorted(unknown)} (known: {sorted(known)})")
        est = dict(cfg.get("estimator") or {})
        est_keys = {f.name for f in fields(EstimatorSettings)}
        if set(est) - est_keys:
            raise ValueError(f"bottleneck.estimator: unknown keys {sorted(set(est) - est_keys)}")
        return cls(
            basis=BasisSettings(**{k: cfg[k] for k in basis_keys if k in cfg}),
            estimator=EstimatorSettings(**est),
            template_actor=int(cfg.get("template_actor", 9004)),
            landmarks=str(cfg.get("landmarks", "auto")),
        )
