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

The paper's frozen mode ("Ours", rule ``train_enhancer``) is :func:`ppfer_core.enhancer.fit_enhancer`.
"""

from __future__ import annotations

from ppfer_core.robust.adversaries import Ensemble, privacy_value, to_group_norm
from ppfer_core.robust.joint import BandClips, ClipBandDataset, JointEnhancer, holdout_clips
from ppfer_core.robust.settings import AdversarySettings, RobustSettings, StopSettings
from ppfer_core.robust.stop import BestRound, fresh_attacker, fresh_attacker_stop
from ppfer_core.robust.train import RobustResult, fit_robust

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
    "fit_robust",
    "fresh_attacker",
    "fresh_attacker_stop",
    "holdout_clips",
    "privacy_value",
    "to_group_norm",
]
