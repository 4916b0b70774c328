"""The retrained open-set attacker (issue 26, item 6): it trains on the open-train actors' clips only,
stops on a validation slice of them, and is scored on the unseen actors with the falsification figures."""

import numpy as np
import pandas as pd
import pytest
import torch

from ppfer_core import open_attack
from ppfer_core.attacks import Convergence
from ppfer_core.open_attack import embedder_of, open_train_labels, retrained_attack, unseen_actors
from ppfer_core.training import Run, TrainSettings

TRAIN_ACTORS, TEST_ACTORS, PER_ACTOR = ("a1", "a2", "a3"), ("u1", "u2"), 4


def identities() -> pd.DataFrame:
    """An open split's identity table: open-train actors' clips (rows 0..11), unseen actors' (rows 0..7)."""
    rows = []
    for split, actors in (("train", TRAIN_ACTORS), ("test", TEST_ACTORS)):
        names = [a for a in actors for _ in range(PER_ACTOR)]
        rows += [{"split": split, "row": i, "actor": a} for i, a in enumerate(names)]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # row order must not matter


def clips(actors: tuple[str, ...], marker: int) -> np.ndarray:
    """Clips [N, 2, 16, 16, 3] whose pixels all equal ``marker`` plus the actor's number (a traceable value)."""
    values = [marker + int(a[1:]) for a in actors for _ in range(PER_ACTOR)]
    return np.stack([np.full((2, 16, 16, 3), v, np.uint8) for v in values])


def test_labels_come_from_the_open_train_rows_only():
    labels = open_train_labels(identities(), len(TRAIN_ACTORS) * PER_ACTOR)
    assert labels.actors == TRAIN_ACTORS
    assert labels.ids.tolist() == [i for i in range(3) for _ in range(PER_ACTOR)]
    assert list(unseen_actors(identities(), 8)) == [a for a in TEST_ACTORS for _ in range(PER_ACTOR)]
    # a train array that is not the open split's (e.g. the test array) is refused, naming the mismatch
    with pytest.raises(ValueError, match="8 clips"):
        open_train_labels(identities(), 8)


def test_the_retrained_attacker_never_sees_an_unseen_identitys_clip(monkeypatch):
    seen: list[np.ndarray] = []
    real = open_attack.fit_attacker

    def spy(model, data, evaluate, settings, conv, run):
        seen.append(np.asarray(data.clips))
        figures = evaluate()  # the validation slice: open-train clips too
        seen.append(np.unique([figures["val_n"]]))
        return real(model, data, evaluate, settings, conv, run)

    monkeypatch.setattr(open_attack, "fit_attacker", spy)
    ids = identities()
    train, query, gallery = clips(TRAIN_ACTORS, 100), clips(TEST_ACTORS, 200), clips(TEST_ACTORS, 0)
    torch.manual_seed(0)
    out = retrained_attack(
        train,
        open_train_labels(ids, len(train)),
        query,
        gallery,
        unseen_actors(ids, len(gallery)),
        4,
        TrainSettings(epochs=2, batch_size=4, lr=0.01),
        Convergence(patience=1, val_fraction=0.25, lr_patience=0, frames="one"),
        Run(torch.device("cpu"), 0, log=lambda _: None, desc="open_attack_test"),
        0,
    )
    fitted = seen[0]
    assert set(np.unique(fitted)) <= {
        101,
        102,
        103,
    }  # open-train actors' clips only, no query or gallery clip
    assert len(fitted) == 9 and seen[1].tolist() == [3]  # one of each actor's 4 clips held out for validation
    assert out["trained_on"] == {
        "train_clips": 9,
        "val_clips": 3,
        "split": "train",
        "actors": list(TRAIN_ACTORS),
    }
    assert out["attacker"]["status"] in ("converged", "budget") and out["attacker"]["epochs"] <= 2
    # scored like the fixed recognisers: source retrieval and identity level over the 8 unseen clips
    assert out["n"] == 8 and out["openset"]["n"] == 8 and 0.0 <= out["openset"]["auc"] <= 1.0


def test_an_unseen_actor_among_the_training_classes_is_refused():
    ids = identities()
    train = clips(TRAIN_ACTORS, 100)
    with pytest.raises(ValueError, match=r"unseen test actors \['a1'\]"):
        retrained_attack(
            train,
            open_train_labels(ids, len(train)),
            train[:4],
            train[:4],
            np.array(["a1"] * 4),
            4,
            TrainSettings(epochs=1, batch_size=4, lr=0.01),
            Convergence(),
            Run(torch.device("cpu"), 0),
            0,
        )


def test_the_embedding_is_the_classifier_without_its_head():
    from ppfer_core.attacks import build_small_cnn

    model = build_small_cnn(3, 4)
    x = torch.rand(2, 3, 16, 16)
    assert model(x).shape == (2, 3)
    assert embedder_of(model)(x).shape == (2, 32)  # 8 x width pooled features
