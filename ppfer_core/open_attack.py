"""The retrained open-set attacker (issue 26, item 6): a metric embedding learnt on the anonymised clips of
the open-*train* identities of one open representation, applied to the unseen test identities.

The attack suite's recogniser (:func:`ppfer_core.attacks.build_small_cnn`, from the model registry) is
trained as a softmax classifier over the open-train actors (softmax-then-embedding: identity labels of
the open-train actors are the attacker's, the method never sees them) on one flipped / shifted frame
per clip per epoch, with the attack suite's stop rule (:class:`ppfer_core.attacks.Convergence`: full
passes, reduce-on-plateau, the best weights on a validation slice of each open-train actor's clips;
``converged`` or ``budget``). Its classifier head is then dropped: the pooled features embed the
representation's unseen test clips (query) and the original unseen test clips (gallery), scored by the
same source-retrieval and identity-level figures as the fixed recognisers
(:func:`ppfer_core.falsification.source_retrieval`). The unseen identities never reach the training:
:func:`open_train_labels` reads only the identity table's ``train`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from ppfer_core.arrays import FlipShiftFrames
from ppfer_core.attacks import (
    Convergence,
    TrainSplit,
    build_small_cnn,
    fit_attacker,
    frame_logits,
    validation_scores,
)
from ppfer_core.falsification import clip_embeddings, source_retrieval
from ppfer_core.training import Run, TrainSettings


@dataclass(frozen=True)
class OpenTrainLabels:
    """The open-train clips' actors as class ids (row ``i`` of the representation's train array is
    clip ``i``), and the actor names of the classes."""

    ids: np.ndarray
    actors: tuple[str, ...]


def open_train_labels(identities: pd.DataFrame, n_clips: int) -> OpenTrainLabels:
    """Class ids of the open split's *train* clips from the evaluation-only identity table (its
    ``train`` rows only; the unseen test actors are no class). ``n_clips``: clips of the
    representation's train array, which must match the table's train rows."""
    rows = identities[identities["split"] == "train"].sort_values("row")
    if len(rows) != n_clips or not np.array_equal(rows["row"].to_numpy(), np.arange(n_clips)):
        raise ValueError(
            f"identity table: {len(rows)} train rows for a train array of {n_clips} clips "
            "(the representation is not of the open split)"
        )
    names = rows["actor"].astype(str)
    actors = tuple(sorted(names.unique()))
    return OpenTrainLabels(names.map({a: i for i, a in enumerate(actors)}).to_numpy(np.int64), actors)


def unseen_actors(identities: pd.DataFrame, n_clips: int) -> np.ndarray:
    """The unseen test clips' actors (evaluation only: identity-level scoring), in row order."""
    rows = identities[identities["split"] == "test"].sort_values("row")
    if len(rows) != n_clips:
        raise ValueError(f"identity table: {len(rows)} test rows for a test array of {n_clips} clips")
    return rows["actor"].astype(str).to_numpy()


def embedder_of(classifier: nn.Module) -> nn.Module:
    """The trained classifier without its head (:class:`ppfer_core.nets.SmallCNN` inside
    :class:`ppfer_core.nets.Normalized`): its pooled features are the embedding."""
    net = getattr(classifier, "net", classifier)
    if not hasattr(net, "head"):
        raise TypeError(f"{type(net).__name__} has no classifier head to drop")
    net.head = nn.Identity()
    return classifier.eval()


def retrained_attack(
    train_clips: np.ndarray,
    labels: OpenTrainLabels,
    query: np.ndarray,
    gallery: np.ndarray,
    gallery_actors: np.ndarray,
    width: int,
    settings: TrainSettings,
    conv: Convergence,
    run: Run,
    leakage_seed: int,
) -> dict[str, Any]:
    """Train the attacker on ``train_clips`` (the representation's open-train clips, ``labels``) minus a
    validation slice of each actor's clips, then score its embedding of ``query`` (the representation's
    unseen test clips) against ``gallery`` (their originals; ``gallery_actors`` per clip): the
    :class:`ppfer_core.falsification.Retrieval` figures, its training record (converged / budget) and
    what it trained on (``trained_on``: clip counts and the open-train actors)."""
    if len(train_clips) != len(labels.ids):
        raise ValueError(f"{len(labels.ids)} labels for {len(train_clips)} open-train clips")
    overlap = set(labels.actors) & set(map(str, gallery_actors))
    if overlap:
        raise ValueError(
            f"open-set attacker: unseen test actors {sorted(overlap)} among its training classes"
        )
    split = TrainSplit.of(train_clips, labels.ids, conv, run.seed)
    model = build_small_cnn(len(labels.actors), width)

    def evaluate() -> dict[str, float | int] | None:
        if not len(split.val):
            return None
        return validation_scores(frame_logits(model, split.val, run.device), split.val_ids, leakage_seed)

    per_clip = 1 if conv.frames == "one" else None
    data = FlipShiftFrames(split.fit, split.fit_ids, conv.shift, per_clip)
    record = fit_attacker(model, data, evaluate, settings, conv, run)
    embed = embedder_of(model).to(run.device)
    retrieval = source_retrieval(
        clip_embeddings(embed, query, run.device),
        clip_embeddings(embed, gallery, run.device),
        run.seed,
        gallery_actors,
    )
    trained_on = {**split.sizes(), "split": "train", "actors": list(labels.actors)}
    return {**retrieval.as_dict(), "attacker": record.summary(), "trained_on": trained_on}
