"""Privacy enhancers trained against re-trained adversaries ("Ours (robust)", beyond the paper; issue 29).

The paper trains F_lpr / F_hpr, each on its own band, against *frozen* identity controllers, and an
attacker who trains on the outputs re-identifies them. Here, as the adversarial-training literature does:

- both enhancers train jointly through the inverse wavelet transform (:class:`JointEnhancer`), so every
  adversary sees the reconstructed frame (optionally F_fc's output: ``through_compensator``);
- the adversaries match the attack suite (:class:`Ensemble`): ``small_cnn`` s from scratch (GroupNorm), one
  fine-tuned from the validator's frame controller, one voting over a clip; warm-started and kept across
  rounds, restarted round robin (Wu et al., TPAMI 2020) with a catch-up on a replay buffer of past outputs;
- several adversary steps per enhancer step, each on a fresh batch (:func:`fit_robust`), and a
  non-saturating objective for the enhancer (:func:`~ppfer_core.robust.adversaries.privacy_value`);
- the stop is decided by a fresh attacker trained on train-split outputs and scored on held-out train
  clips (:mod:`ppfer_core.robust.stop`); the best round is kept. Utility enters through the L1 anchor of
  the reconstructed frame to the input (``l1_weight``) and the optional distortion cap ``stop.max_l1``.

:func:`fit_privacy_enhancer` is rule ``train_enhancer``'s entry (the paper's frozen mode, "Ours").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn
from torch.utils.data import Dataset

from ppfer_core.enhancer import fit_enhancer
from ppfer_core.robust.adversaries import Ensemble, privacy_value, to_group_norm
from ppfer_core.robust.joint import BandClips, ClipBandDataset, JointEnhancer, holdout_clips
from ppfer_core.robust.settings import AdversarySettings, RobustSettings, StopSettings
from ppfer_core.robust.stop import BestRound, fresh_attacker, fresh_attacker_stop
from ppfer_core.robust.train import RobustResult, fit_robust
from ppfer_core.training import Run, TrainResult, TrainSettings

ADVERSARY_MODES = ("frozen",)

__all__ = [
    "AdversarySettings",
    "BandClips",
    "BestRound",
    "ClipBandDataset",
    "Ensemble",
    "JointEnhancer",
    "RobustResult",
    "RobustSettings",
    "StopSettings",
    "fit_privacy_enhancer",
    "fit_robust",
    "fresh_attacker",
    "fresh_attacker_stop",
    "holdout_clips",
    "privacy_value",
    "to_group_norm",
]


def fit_privacy_enhancer(
    enhancer: nn.Module,
    controller: nn.Module,
    num_classes: int,
    dataset: Dataset,
    settings: TrainSettings | Mapping[str, Any],
    objective: dict[str, Any],
    run: Run,
) -> TrainResult:
    """One privacy enhancer of rule ``train_enhancer`` against its frozen controller (the paper,
    :func:`~ppfer_core.enhancer.fit_enhancer`). Re-trained adversaries train both enhancers jointly
    (:func:`fit_robust`, rule ``train_robust``), not one band at a time: ``enhancer.adversary`` other than
    ``frozen`` is refused. ``num_classes`` is kept for the rule's call."""
    mode = objective.get("adversary", "frozen")
    if mode not in ADVERSARY_MODES:
        raise ValueError(
            f"enhancer.adversary {mode!r} not in {ADVERSARY_MODES}: enhancers against re-trained adversaries "
            "are trained jointly by rule train_robust (config robust.*)"
        )
    return fit_enhancer(enhancer, controller, dataset, settings, objective, run)
