"""The code attackers as records of the attack suite (issue 27; rule attack_codes, kind ``codes`` of
:data:`ppfer_core.suite.ATTACKERS`).

A representation that is a function of a per-frame expression code (the bottleneck's renders, and
F_fc on them) carries no more identity than its code, so identity attackers trained on the code
sequences are attackers of that representation: their records take part in ``plr_worst`` like the
pixel attackers'. Each is trained on the train split minus the suite's own validation slice
(:func:`ppfer_core.attacks.validation_split`, same fraction and seed as the pixel attackers, so the
selection compares like with like), records its validation counts, its per-test-clip ``hits`` (test
index row order), its train accuracy and a status (``converged`` / ``budget``):

* ``logreg`` / ``mlp`` (scikit-learn, standardised per-clip mean, std, min and max of every code
  dimension, :func:`~ppfer_core.bottleneck.attacks.clip_features`): converged when the solver stopped
  before its iteration cap;
* ``gru`` (torch, the whole standardised sequence) trained as every trained attacker of the suite
  (:func:`ppfer_core.attacks.fit_attacker`: full passes until the validation plateau, best-validation
  weights).

``landmarks``: the same three on the estimated landmarks the code is computed from (the input, not
the output), the one best on the validation slice reported (``attacker``) beside the suite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from torch.utils.data import TensorDataset

from ppfer_core.attacks import Convergence, fit_attacker, validation_split
from ppfer_core.bottleneck.attacks import _GRU, _clean, clip_features
from ppfer_core.plateau import BUDGET, CONVERGED
from ppfer_core.training import Run, seed_everything

CODE_ATTACKERS = ("logreg", "mlp", "gru")
"""The code attackers, in suite order (a validation tie goes to the first)."""


@dataclass(frozen=True)
class CodeAttackSettings:
    """Config entry ``threat.attacks.codes``: the logistic regression's and the MLP's iteration caps,
    the MLP's hidden width and L2 weight, the GRU's hidden size and its training (a ``train`` entry:
    ``epochs`` is the cap on full passes)."""

    logreg_max_iter: int = 3000
    mlp_hidden: int = 128
    mlp_max_iter: int = 10000
    mlp_alpha: float = 1e-3
    gru_hidden: int = 64
    gru_train: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> CodeAttackSettings:
        """From the config entry; a missing or unknown key is named."""
        names = [f.name for f in fields(cls)]
        if missing := [n for n in names if n not in cfg]:
            raise KeyError(f"threat.attacks.codes lacks {', '.join(missing)}")
        if unknown := sorted(set(cfg) - set(names)):
            raise KeyError(f"threat.attacks.codes: unknown keys {', '.join(unknown)}")
        typed = {f.name: type(f.default)(cfg[f.name]) for f in fields(cls) if f.name != "gru_train"}
        return cls(**typed, gru_train=dict(cfg["gru_train"]))


@dataclass(frozen=True)
class Sequences:
    """One attacker input (code or landmark sequences, float32 [N, T, D]) split as the suite splits:
    the train clips it fits, the validation slice of train and the test clips, with identities."""

    fit: np.ndarray
    fit_ids: np.ndarray
    val: np.ndarray
    val_ids: np.ndarray
    test: np.ndarray
    test_ids: np.ndarray

    @classmethod
    def of(
        cls,
        train: np.ndarray,
        train_ids: np.ndarray,
        test: np.ndarray,
        test_ids: np.ndarray,
        conv: Convergence,
        seed: int,
    ) -> Sequences:
        fit_rows, val_rows = validation_split(train_ids, conv.val_fraction, seed)
        x, y = _clean(train), np.asarray(train_ids, dtype=np.int64)
        return cls(
            x[fit_rows], y[fit_rows], x[val_rows], y[val_rows], _clean(test), np.asarray(test_ids, np.int64)
        )

    @property
    def n_classes(self) -> int:
        return int(max(self.fit_ids.max(), self.test_ids.max())) + 1


def _record(predict: Callable[[np.ndarray], np.ndarray], data: Sequences) -> dict[str, Any]:
    """Validation and test counts of a fitted attacker (``predict``: sequences -> identities)."""
    hits = (predict(data.test) == data.test_ids).astype(int)
    val_correct = int((predict(data.val) == data.val_ids).sum()) if len(data.val) else 0
    return {
        "plr": 100.0 * int(hits.sum()) / len(hits),
        "correct": int(hits.sum()),
        "n": len(hits),
        "hits": hits.tolist(),
        "val_correct": val_correct,
        "val_n": len(data.val),
        "val_acc": val_correct / len(data.val) if len(data.val) else None,
        "chance": 100.0 / data.n_classes,
        "train_clips": len(data.fit),
        "val_clips": len(data.val),
    }


def _flat(name: str, s: CodeAttackSettings, seed: int) -> tuple[Pipeline, int]:
    if name == "logreg":
        return make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=s.logreg_max_iter)
        ), s.logreg_max_iter
    mlp = MLPClassifier((s.mlp_hidden,), max_iter=s.mlp_max_iter, alpha=s.mlp_alpha, random_state=seed)
    return make_pipeline(StandardScaler(), mlp), s.mlp_max_iter


def flat_attack(name: str, data: Sequences, s: CodeAttackSettings, seed: int) -> dict[str, Any]:
    """``logreg`` or ``mlp`` on the clips' summary features: its suite record."""
    pipe, cap = _flat(name, s, seed)
    pipe.fit(clip_features(data.fit), data.fit_ids)
    iters = int(np.max(pipe[-1].n_iter_))
    status = CONVERGED if iters < cap else BUDGET
    record = _record(lambda x: pipe.predict(clip_features(x)), data)
    return {
        **record,
        "status": status,
        "converged": status == CONVERGED,
        "iterations": iters,
        "max_iter": cap,
        "train_acc": float(pipe.score(clip_features(data.fit), data.fit_ids)),
    }


def gru_attack(data: Sequences, s: CodeAttackSettings, conv: Convergence, run: Run) -> dict[str, Any]:
    """The GRU on the standardised sequences, trained as the suite's attackers: its suite record."""
    mu, sd = data.fit.mean((0, 1)), data.fit.std((0, 1)) + 1e-6

    def norm(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((x - mu) / sd).float()

    seed_everything(run.seed)  # the same initial weights whatever ran before in the process
    net = _GRU(data.fit.shape[-1], s.gru_hidden, data.n_classes)

    @torch.no_grad()
    def predict(x: np.ndarray) -> np.ndarray:
        net.eval()
        out = net(norm(x).to(run.device)).argmax(1).cpu().numpy()
        net.train()
        return out

    def evaluate() -> dict[str, float | int] | None:
        if not len(data.val):
            return None
        correct = int((predict(data.val) == data.val_ids).sum())
        return {"val_acc": correct / len(data.val), "val_correct": correct, "val_n": len(data.val)}

    dataset = TensorDataset(norm(data.fit), torch.from_numpy(data.fit_ids))
    summary = fit_attacker(net, dataset, evaluate, s.gru_train, conv, run).summary()
    return {**summary, **_record(predict, data)}


def attack_sequences(
    data: Sequences, s: CodeAttackSettings, conv: Convergence, run: Run
) -> dict[str, dict[str, Any]]:
    """Every code attacker's suite record on ``data`` (``run``: the GRU's training; its seed the MLP's)."""
    records = {name: flat_attack(name, data, s, run.seed) for name in CODE_ATTACKERS if name != "gru"}
    records["gru"] = gru_attack(data, s, conv, run)
    return {name: records[name] for name in CODE_ATTACKERS}


def best_on_validation(records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The record with the most correct validation clips (ties: the first in :data:`CODE_ATTACKERS`),
    with its name as ``attacker``."""
    name = max(CODE_ATTACKERS, key=lambda a: (records[a]["val_correct"], -CODE_ATTACKERS.index(a)))
    return {"attacker": name, **records[name]}
