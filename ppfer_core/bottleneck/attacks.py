"""Attackers on code sequences: identity from the codes (or, for comparison, the raw landmarks).

Every attacker trains on the train split's sequences minus a validation slice (stratified by
identity), reports its accuracy on that slice (for selection on validation) and on the test split.
Clip-level attackers (logistic regression, MLP; scikit-learn) read the per-clip mean, standard
deviation, minimum and maximum of every code dimension; the GRU (torch) reads the whole sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class AttackSettings:
    """Validation share of train, MLP iterations, GRU size and training, and the seed."""

    val_fraction: float = 0.1
    mlp_max_iter: int = 1000
    gru_hidden: int = 64
    gru_epochs: int = 40
    gru_lr: float = 0.003
    seed: int = 0


@dataclass(frozen=True)
class AttackScore:
    """One attacker's identity accuracy (%) on the validation slice of train and on test."""

    attacker: str
    val_acc: float
    test_acc: float


def clip_features(seqs: np.ndarray) -> np.ndarray:
    """[N, T, D] -> [N, 4D]: per-dimension mean, std, min and max over the clip's frames."""
    x = np.asarray(seqs, dtype=np.float64)
    return np.concatenate([x.mean(1), x.std(1), x.min(1), x.max(1)], axis=1)


def _clean(seqs: np.ndarray) -> np.ndarray:
    """[N, T, ...] -> float32 [N, T, D]; a NaN entry takes its clip's mean (0 if all NaN)."""
    x = np.asarray(seqs, dtype=np.float64).reshape(len(seqs), seqs.shape[1], -1)
    mean = np.nan_to_num(np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=1, keepdims=True))
    return np.where(np.isfinite(x), x, mean).astype(np.float32)


class _GRU(nn.Module):
    def __init__(self, dim: int, hidden: int, n_classes: int):
        super().__init__()
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(x)
        return self.out(h.mean(1))


def _fit_gru(x: np.ndarray, y: np.ndarray, n_classes: int, s: AttackSettings) -> _GRU:
    """Full-batch Adam on standardised sequences (small data: every clip in every step)."""
    torch.manual_seed(s.seed)
    net = _GRU(x.shape[-1], s.gru_hidden, n_classes)
    opt = torch.optim.Adam(net.parameters(), lr=s.gru_lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(s.seed)
    for _ in range(s.gru_epochs):
        for idx in torch.randperm(len(xt), generator=gen).split(64):
            loss = nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def _acc(pred: np.ndarray, true: np.ndarray) -> float:
    return 100.0 * float((np.asarray(pred) == np.asarray(true)).mean()) if len(true) else float("nan")


def code_attacks(
    train_seqs: np.ndarray,
    train_ids: np.ndarray,
    test_seqs: np.ndarray,
    test_ids: np.ndarray,
    s: AttackSettings,
    prefix: str = "",
) -> list[AttackScore]:
    """Identity accuracy of logistic regression, an MLP and a GRU trained on ``train_seqs`` [N, T, ...]
    with identity labels (ints), scored on the validation slice and on ``test_seqs``."""
    # scikit-learn on use: 1.2 s of import the jobs that only read this package's basis skip
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xtr, xte = _clean(train_seqs), _clean(test_seqs)
    ytr, yte = np.asarray(train_ids, dtype=np.int64), np.asarray(test_ids, dtype=np.int64)
    # at least one validation clip per identity (a tiny corpus); sklearn's own rounding otherwise
    n_val = max(math.ceil(s.val_fraction * len(xtr)), len(np.unique(ytr)))
    fit_i, val_i = train_test_split(np.arange(len(xtr)), test_size=n_val, random_state=s.seed, stratify=ytr)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    flat_models = {
        "logreg": LogisticRegression(max_iter=3000, C=1.0),
        "mlp": MLPClassifier((128,), max_iter=s.mlp_max_iter, random_state=s.seed, alpha=1e-3),
    }
    scores = []
    for name, model in flat_models.items():
        pipe = make_pipeline(StandardScaler(), model).fit(clip_features(xtr[fit_i]), ytr[fit_i])
        pv, pt = pipe.predict(clip_features(xtr[val_i])), pipe.predict(clip_features(xte))
        scores.append(AttackScore(prefix + name, _acc(pv, ytr[val_i]), _acc(pt, yte)))
    mu, sd = xtr[fit_i].mean((0, 1)), xtr[fit_i].std((0, 1)) + 1e-6
    net = _fit_gru((xtr[fit_i] - mu) / sd, ytr[fit_i], n_classes, s)
    with torch.no_grad():
        pv = net(torch.from_numpy((xtr[val_i] - mu) / sd)).argmax(1).numpy()
        pt = net(torch.from_numpy((xte - mu) / sd)).argmax(1).numpy()
    scores.append(AttackScore(prefix + "gru", _acc(pv, ytr[val_i]), _acc(pt, yte)))
    return scores


def coding_figures(
    codes_train: np.ndarray,
    codes_test: np.ndarray,
    true_test: np.ndarray,
    basis: Any,
    emotions_train: np.ndarray,
    emotions_test: np.ndarray,
) -> dict[str, float]:
    """Evaluation only (rule attack_codes): the test codes' error against the codes of the test clips'
    true landmarks [N, T, 68, 2] on ``basis`` (an :class:`~ppfer_core.bottleneck.basis.ExpressionBasis`):
    per point in px and as a share of the inter-ocular distance, and as RMS code error / RMS true code;
    and an emotion probe (logistic regression on the clips' code summaries, trained on train, % on
    test): does the code keep the expression?"""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ppfer_core.bottleneck.basis import encode
    from ppfer_core.bottleneck.estimator import code_point_errors

    px, iod = code_point_errors(codes_test, true_test, basis)
    true_codes = encode(true_test, basis)
    share = float(np.sqrt(((codes_test - true_codes) ** 2).sum(-1).mean() / (true_codes**2).sum(-1).mean()))
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    probe.fit(clip_features(codes_train), emotions_train)
    emotion = _acc(probe.predict(clip_features(codes_test)), emotions_test)
    return {
        "landmark_error_px": px,
        "landmark_error_iod": iod,
        "code_error_share": share,
        "emotion_probe_test_acc": emotion,
    }
