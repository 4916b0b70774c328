"""The landmark estimator of the expression-code bottleneck (issue 27) outside Snakemake: trains the
regressor on 80 % of the train clips (a seeded 20 % is the validation slice that variants are selected
on), reports the point error on validation and test, the within-clip error (what the relative code
reads) and the code attackers' identity / emotion-probe test accuracies at k = 4 and 8.

    python bench/bottleneck_landmarks.py --results RUN/results --tag base --width 16 --epochs 6
    python bench/bottleneck_landmarks.py --results RUN/results --tag hm --width 16 --epochs 6 --head heatmap
    python bench/bottleneck_landmarks.py --results RUN/results --estimates TRAIN.npy TEST.npy   # score given ones
    python bench/bottleneck_landmarks.py --results RUN/results --truth   # the generator's landmarks

RUN: a folder where ingest_cremad ran (results/data/cremad/{train,test}[_landmarks].npy, index.parquet).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ppfer_core.arrays import emotion_labels, identity_labels
from ppfer_core.bottleneck import (
    AttackSettings,
    BasisSettings,
    RegressorSettings,
    clip_features,
    code_attacks,
    encode,
    fit_basis,
    point_errors,
    predict_landmarks,
    synthetic_template,
    train_regressor,
)
from ppfer_core.training import Run


def within_clip_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean |(pred - its clip mean) - (true - its clip mean)| per point, px."""
    return float(np.linalg.norm(_dev(pred) - _dev(true), axis=-1).mean())


def _dev(x: np.ndarray) -> np.ndarray:
    return x - x.mean(1, keepdims=True)


def estimate(args: argparse.Namespace, data: Path, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Train the regressor on the train clips outside ``val``; its estimates of train and test."""
    tr, te = np.load(data / "train.npy"), np.load(data / "test.npy")
    fit_on = np.setdiff1d(np.arange(len(tr)), val)
    s = RegressorSettings(
        args.width, args.epochs, 64, args.lr, args.shift, args.motion, args.head, args.upsample
    )
    t0 = time.process_time()
    run = Run(torch.device("cpu"), 0, None, print, args.tag)
    net, _ = train_regressor(tr[fit_on], np.load(data / "train_landmarks.npy")[fit_on], s, run)
    print(f"{args.tag}: trained in {time.process_time() - t0:.0f} CPU s ({len(fit_on)} clips)")
    return predict_landmarks(net, tr), predict_landmarks(net, te)


def score_codes(data: Path, ltr: np.ndarray, lte: np.ndarray, tag: str) -> None:
    """Identity attackers (test %) and the emotion probe (test %) on relative codes, k = 4 and 8."""
    index = pd.read_parquet(data / "index.parquet")
    ytr, _ = identity_labels(index, "train")
    yte, _ = identity_labels(index, "test")
    etr, ete = emotion_labels(index, "train"), emotion_labels(index, "test")
    canonical = synthetic_template(9002, 64, 0).canonical  # only its canonical shape is read
    for k in (4, 8):
        basis = fit_basis(ltr, canonical, BasisSettings(k=k, reference="relative"))
        ctr, cte = encode(ltr, basis), encode(lte, basis)
        ids = code_attacks(ctr, ytr, cte, yte, AttackSettings())
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        emo = 100 * (probe.fit(clip_features(ctr), etr).predict(clip_features(cte)) == ete).mean()
        scores = " / ".join(f"{a.test_acc:.1f}" for a in ids)
        print(f"{tag}: k={k} identity logreg / mlp / gru {scores} emotion {emo:.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, required=True)
    p.add_argument("--tag", default="regressor")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--shift", type=int, default=3)
    p.add_argument("--motion", action="store_true")
    p.add_argument("--head", default="regression")
    p.add_argument("--upsample", type=int, default=1)
    p.add_argument("--estimates", nargs=2, type=Path, metavar=("TRAIN", "TEST"))
    p.add_argument("--truth", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)
    data = args.results / "data" / "cremad"
    ltr, lte = np.load(data / "train_landmarks.npy"), np.load(data / "test_landmarks.npy")
    val = np.random.default_rng(0).permutation(len(ltr))[: len(ltr) // 5]
    if args.truth:
        etr, ete = ltr, lte
    elif args.estimates:
        etr, ete = np.load(args.estimates[0]), np.load(args.estimates[1])
    else:
        etr, ete = estimate(args, data, val)
    print(
        f"{args.tag}: val error {point_errors(etr[val], ltr[val])} test error {point_errors(ete, lte)} (px, IOD)"
    )
    print(
        f"{args.tag}: within-clip error val {within_clip_error(etr[val], ltr[val]):.3f} "
        f"test {within_clip_error(ete, lte):.3f} px; true within-clip motion val "
        f"{np.linalg.norm(_dev(ltr[val]), axis=-1).mean():.3f} test {np.linalg.norm(_dev(lte), axis=-1).mean():.3f} px"
    )
    score_codes(data, etr, ete, args.tag)


if __name__ == "__main__":
    main()
