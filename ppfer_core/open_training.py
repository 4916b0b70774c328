"""The label-free open-set method's two trainings, shared by its rules and by the choice of
``openset.negatives`` on a validation slice (issue 26):

- :func:`train_video_prior`: the video-prior embedder (NT-Xent over frame pairs of one clip);
- :func:`train_open_enhancers`: F_lpr / F_hpr, an L1 identity-map warm-up, then suppression against the
  frozen embedder.

:func:`select_negatives` makes the ``negatives`` choice (``all`` or ``same_emotion``) without the test
split: each candidate trains both on the open-train clips minus a validation slice of every open-train
actor's clips (:func:`ppfer_core.attacks.validation_split`), and its enhanced validation clips are scored
for identity linkage under the in-the-wild video prior (identity-level AUC / rank-1 with the source clip
left out, :func:`ppfer_core.falsification.identity_linkage`) and for expression under C_fc (frame
accuracy, as a share of C_fc's accuracy on the original validation clips). :func:`choose_negatives`:
among the candidates that meet Table 5's privacy goals on validation (identity rank-1 <= 2 x chance, AUC
<= 0.6), the one that keeps the most expression; if none does, the lowest AUC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ppfer_core.openset import VideoPairDataset, l1_band_loss, suppression_loss, video_prior_loss
from ppfer_core.tradeoff import build_privacy_encoder
from ppfer_core.training import Player, Run, TrainResult, TrainSettings, fit

NEGATIVES = ("all", "same_emotion")
"""The choices of ``openset.negatives`` besides ``select`` (choose one of these on validation)."""


def groups_for(negatives: str, emotions: np.ndarray | None) -> np.ndarray | None:
    """The contrast groups of a ``negatives`` choice: the clips' emotions (``same_emotion``) or none (``all``)."""
    if negatives not in NEGATIVES:
        raise ValueError(f"openset.negatives must be one of {NEGATIVES} (or select), got {negatives!r}")
    if negatives == "all":
        return None
    if emotions is None:
        raise ValueError("openset.negatives: same_emotion needs the clips' emotions (the open split's index)")
    return emotions


def train_video_prior(
    clips: np.ndarray,
    groups: np.ndarray | None,
    embedder_cfg: Mapping[str, Any],
    settings: TrainSettings,
    run: Run,
    negatives: str,
) -> tuple[nn.Module, TrainResult, list[np.ndarray]]:
    """The video-prior embedder (``openset.embedder``) trained on ``clips`` (contrast ``groups``, None:
    all of a batch); returns it, the training and the clip rows of every batch (the prior audit's input)."""
    embedder = build_privacy_encoder(embedder_cfg["arch"], embedder_cfg["dim"]).to(run.device)
    opt = settings.make_optimizer(embedder.parameters())
    seen: list[np.ndarray] = []
    loss = video_prior_loss(
        embedder, embedder_cfg["temperature"], embedder_cfg["augment"], seen, groups is not None
    )
    result = fit(
        [Player("prior", [embedder], opt, loss)],
        VideoPairDataset(clips, groups),
        settings,
        run,
        {"train": settings.config(), "embedder": embedder_cfg, "negatives": negatives},
    )
    return embedder, result, seen


@dataclass(frozen=True)
class EnhancerSettings:
    """What the open-set enhancers' training needs besides the data: the U-Net and wavelet config, the
    embedder config (its temperature), the L1 anchor, the two phases' settings and the ``negatives`` choice."""

    unet: Mapping[str, Any]
    wavelet: Mapping[str, Any]
    embedder: Mapping[str, Any]
    l1_weight: float
    warmup: TrainSettings
    suppression: TrainSettings
    negatives: str


def train_open_enhancers(
    nets: Sequence[nn.Module],
    embedder: nn.Module,
    data: VideoPairDataset,
    s: EnhancerSettings,
    runs: Callable[[str], Run],
) -> dict[str, list]:
    """Train the two U-Nets ``nets`` (F_lpr, F_hpr) on ``data``: L1 identity-map warm-up, then suppression
    against the frozen ``embedder`` (grouped when ``data`` has groups, i.e. ``negatives: same_emotion``);
    ``runs(phase)``: the Run of each phase. Returns each phase's history."""
    name, level = s.wavelet["name"], s.wavelet["level"]
    grouped = s.negatives == "same_emotion"
    suppress = suppression_loss(*nets, embedder, name, level, s.embedder["temperature"], s.l1_weight, grouped)
    history = {}
    for phase, settings, loss in (
        ("warmup", s.warmup, l1_band_loss(*nets, name, level)),
        ("suppression", s.suppression, suppress),
    ):
        opt = settings.make_optimizer([q for n in nets for q in n.parameters()])
        fingerprint = {
            "train": settings.config(),
            "unet": s.unet,
            "l1": s.l1_weight,
            "phase": phase,
            "negatives": s.negatives,
        }
        history[phase] = fit(
            [Player(phase, list(nets), opt, loss)], data, settings, runs(phase), fingerprint
        ).history
    return history


@dataclass(frozen=True)
class CandidateFigures:
    """One ``negatives`` candidate on the validation slice: identity linkage of its enhanced validation
    clips under the in-the-wild video prior (rank-1 with the source left out, its chance, AUC, in %
    / 0-1) and C_fc's expression accuracy on them (``expression``, %) and on the originals (``expression_original``)."""

    id_rank1: float
    id_chance: float
    id_auc: float
    expression: float
    expression_original: float

    @property
    def private(self) -> bool:
        """Table 5's privacy goals, on validation: identity rank-1 <= 2 x chance and AUC <= 0.6."""
        return self.id_rank1 <= 2 * self.id_chance and self.id_auc <= 0.6

    @property
    def expression_share(self) -> float:
        return self.expression / self.expression_original if self.expression_original > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "private": self.private, "expression_share": round(self.expression_share, 4)}


def choose_negatives(figures: Mapping[str, CandidateFigures]) -> tuple[str, str]:
    """The chosen candidate and why: among those private on validation the one with the highest
    expression share (ties: the first listed); if none is private, the lowest identity AUC."""
    if not figures:
        raise ValueError("openset.select_negatives.candidates is empty")
    private = [k for k, f in figures.items() if f.private]
    if private:
        best = max(private, key=lambda k: figures[k].expression_share)
        return (
            best,
            "private on validation (identity rank-1 <= 2 x chance, AUC <= 0.6); highest expression share",
        )
    best = min(figures, key=lambda k: figures[k].id_auc)
    return best, "no candidate private on validation; lowest identity AUC"


@torch.no_grad()
def expression_accuracy(
    model: nn.Module, clips: np.ndarray, emotions: np.ndarray, device: torch.device
) -> float:
    """C_fc's frame accuracy (%) over every frame of ``clips`` against each clip's emotion."""
    from ppfer_core.attacks import frame_logits

    logits = frame_logits(model, clips, device)
    return 100.0 * float((logits.argmax(-1) == emotions[:, None]).mean())


def resolve_negatives(configured: str, selection: Mapping[str, Any] | None) -> str:
    """The ``negatives`` a training uses: ``configured`` (``openset.negatives``), or with ``select`` the
    choice recorded by the selection on validation (``selection``: ``metrics/openset/negatives.json``)."""
    if configured != "select":
        groups_for(configured, np.zeros(0, np.int64))  # validates the name
        return configured
    if selection is None or "chosen" not in selection:
        raise ValueError(
            "openset.negatives: select needs the selection's record (metrics/openset/negatives.json)"
        )
    return str(selection["chosen"])


@dataclass(frozen=True)
class ValidationSlice:
    """The open-train clips a ``negatives`` candidate is scored on (never trained on): the clips, their
    actors and emotions, the in-the-wild video prior's embeddings of them (the gallery) and C_fc's
    expression accuracy on them (%)."""

    clips: np.ndarray
    actors: np.ndarray
    emotions: np.ndarray
    gallery: np.ndarray
    expression_original: float


def score_candidate(
    nets: Sequence[nn.Module],
    wavelet_cfg: Mapping[str, Any],
    prior: nn.Module,
    controller: nn.Module,
    val: ValidationSlice,
    seed: int,
    device: torch.device,
) -> CandidateFigures:
    """:class:`CandidateFigures` of trained enhancers ``nets``: the validation clips are enhanced, embedded
    by the ``prior`` and linked to their originals' embeddings (identity level, source left out), and
    classified by C_fc (``controller``)."""
    from ppfer_core.arrays import map_frames
    from ppfer_core.enhancer import enhance_frames
    from ppfer_core.falsification import clip_embeddings, identity_linkage

    for n in nets:
        n.eval()
    name, level = wavelet_cfg["name"], wavelet_cfg["level"]
    enhanced = map_frames(
        lambda x: enhance_frames(x.to(device), *nets, name, level).float(),
        val.clips,
        np.empty_like(val.clips),
    )
    link = identity_linkage(clip_embeddings(prior, enhanced, device) @ val.gallery.T, val.actors, seed)
    return CandidateFigures(
        link.rank1,
        link.chance,
        link.auc,
        expression_accuracy(controller, enhanced, val.emotions, device),
        val.expression_original,
    )
