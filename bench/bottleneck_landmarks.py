"""The estimator of the expression-code bottleneck (issue 27) outside Snakemake: trains it on 80 % of
the train clips (a seeded 20 % is the validation slice that variants are selected on) and reports the
code attackers' identity accuracies (validation slice of the attackers' train / test) and the emotion
probe (validation / test) at k = 4 and 8. ``--method code`` (the DAG's): a CNN from pixels to the
code, on a basis fitted on the true landmarks of the same 80 %; it also reports the within-clip code
error on validation and test. ``--method landmarks``: the 68-point regressor, then the code of its
estimates; it reports the point and within-clip errors (px).

    python bench/bottleneck_landmarks.py --results RUN/results --method code --tag code --width 16 --epochs 8
    python bench/bottleneck_landmarks.py --results RUN/results --tag base --width 16 --epochs 6
    python bench/bottleneck_landmarks.py --results RUN/results --tag hm --width 16 --epochs 6 --head heatmap
    python bench/bottleneck_landmarks.py --results RUN/results --estimates TRAIN.npy TEST.npy   # score given ones
    python bench/bottleneck_landmarks.py --results RUN/results --truth   # the generator's landmarks

RUN: a folder where ingest_cremad ran (results/data/cremad/{train,test}[_landmarks].npy, index.parquet).
"""

from __future__ import annotations

import argparse
import dataclasses
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
    EstimatorSettings,
    ExpressionBasis,
    RegressorSettings,
    clip_features,
    code_attacks,
    code_point_errors,
    code_targets,
    encode,
    fit_basis,
    point_errors,
    predict_codes,
    predict_landmarks,
    relative_codes,
    synthetic_template,
    train_code_estimator,
    train_regressor,
)
from ppfer_core.training import Run

KS = (4, 8)


def within_clip_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean |(pred - its clip mean) - (true - its clip mean)| per point, px."""
    return float(np.linalg.norm(_dev(pred) - _dev(true), axis=-1).mean())


def _dev(x: np.ndarray) -> np.ndarray:
    return x - x.mean(1, keepdims=True)


def _canonical() -> np.ndarray:
    return synthetic_template(9002, 64, 0).canonical  # only its canonical shape is read


def _run(tag: str) -> Run:
    return Run(torch.device("cpu"), 0, None, print, tag)


def estimate(args: argparse.Namespace, data: Path, val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Train the regressor on the train clips outside ``val``; its estimates of train and test."""
    tr, te = np.load(data / "train.npy"), np.load(data / "test.npy")
    fit_on = np.setdiff1d(np.arange(len(tr)), val)
    s = RegressorSettings(
        args.width, args.epochs, 64, args.lr, args.shift, args.motion, args.head, args.upsample
    )
    t0 = time.process_time()
    net, _ = train_regressor(tr[fit_on], np.load(data / "train_landmarks.npy")[fit_on], s, _run(args.tag))
    print(f"{args.tag}: trained in {time.process_time() - t0:.0f} CPU s ({len(fit_on)} clips)")
    return predict_landmarks(net, tr), predict_landmarks(net, te)


def landmark_codes(
    etr: np.ndarray, ete: np.ndarray, truth: tuple[np.ndarray, np.ndarray], val: np.ndarray, tag: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Relative codes of estimated landmarks at every k, the basis fitted on the train estimates;
    prints their code point error (px) against the true landmarks' codes on validation and test."""
    out = {}
    for k in KS:
        basis = fit_basis(etr, _canonical(), BasisSettings(k=k, reference="relative"))
        out[k] = (encode(etr, basis), encode(ete, basis))
        ev, et = (
            code_point_errors(out[k][0][val], truth[0][val], basis),
            code_point_errors(out[k][1], truth[1], basis),
        )
        print(f"{tag}: k={k} code point error val {ev[0]:.3f} px test {et[0]:.3f} px")
    return out


def _code_error(est: np.ndarray, truth: np.ndarray, basis: ExpressionBasis) -> str:
    """RMS error of the within-clip code and of the relative code, each as a share of the RMS of the
    true one."""
    k = basis.settings.k
    w = [np.sqrt((a[..., :k] ** 2).sum(-1).mean()) for a in (est - truth, truth)]
    rel = [relative_codes(a, basis) for a in (est, truth)]
    r = [np.sqrt(((rel[0] - rel[1]) ** 2).sum(-1).mean()), np.sqrt((rel[1] ** 2).sum(-1).mean())]
    return f"within {w[0] / w[1]:.3f} relative {r[0] / r[1]:.3f}"


def estimate_codes(
    args: argparse.Namespace, data: Path, val: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Basis (``args.k``) on the true landmarks of the train clips outside ``val``, the code estimator
    trained on them; relative codes of train and test, after printing the within-clip and relative
    code errors on validation and test."""
    tr, te = np.load(data / "train.npy"), np.load(data / "test.npy")
    ltr, lte = np.load(data / "train_landmarks.npy"), np.load(data / "test_landmarks.npy")
    fit_on = np.setdiff1d(np.arange(len(tr)), val)
    basis = fit_basis(ltr[fit_on], _canonical(), BasisSettings(k=args.k))
    s = EstimatorSettings(args.width, args.epochs, 64, args.lr, args.shift, args.inputs, args.neutral_weight)
    t0 = time.process_time()
    net, _ = train_code_estimator(tr[fit_on], ltr[fit_on], basis, s, _run(args.tag))
    print(f"{args.tag}: trained in {time.process_time() - t0:.0f} CPU s ({len(fit_on)} clips)")
    etr, ete = predict_codes(net, tr), predict_codes(net, te)
    ttr, tte = code_targets(ltr, basis), code_targets(lte, basis)
    err_val, err_test = _code_error(etr[val], ttr[val], basis), _code_error(ete, tte, basis)
    print(f"{args.tag}: k={args.k} code error (share of the true RMS) val {err_val}; test {err_test}")
    ctr, cte = relative_codes(etr, basis), relative_codes(ete, basis)
    ev, et = code_point_errors(ctr[val], ltr[val], basis), code_point_errors(cte, lte, basis)
    print(f"{args.tag}: k={args.k} code point error val {ev[0]:.3f} px test {et[0]:.3f} px")
    normed = dataclasses.replace(basis, settings=dataclasses.replace(basis.settings, amplitude_norm=True))
    amp = (relative_codes(etr, normed), relative_codes(ete, normed))
    return {f"k={args.k}": (ctr, cte), f"k={args.k} amplitude_norm": amp}


def score_codes(
    data: Path, codes: dict[str, tuple[np.ndarray, np.ndarray]], val: np.ndarray, tag: str
) -> None:
    """Identity attackers (their validation slice / test %) and the emotion probe (fitted outside the
    20 % slice and scored on it / fitted on train and scored on test) on relative codes."""
    index = pd.read_parquet(data / "index.parquet")
    ytr, _ = identity_labels(index, "train")
    yte, _ = identity_labels(index, "test")
    etr, ete = emotion_labels(index, "train"), emotion_labels(index, "test")
    fit_on = np.setdiff1d(np.arange(len(etr)), val)
    for label, (ctr, cte) in codes.items():
        ids = code_attacks(ctr, ytr, cte, yte, AttackSettings())
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        ftr, fte = clip_features(ctr), clip_features(cte)
        emo_val = 100 * (probe.fit(ftr[fit_on], etr[fit_on]).predict(ftr[val]) == etr[val]).mean()
        emo = 100 * (probe.fit(ftr, etr).predict(fte) == ete).mean()
        scores = " / ".join(f"{a.val_acc:.1f}|{a.test_acc:.1f}" for a in ids)
        print(
            f"{tag}: {label} identity val|test logreg / mlp / gru {scores} emotion val {emo_val:.1f} test {emo:.1f}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, required=True)
    p.add_argument("--method", choices=("landmarks", "code"), default="landmarks")
    p.add_argument("--tag", default="estimator")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--shift", type=int, default=3)
    p.add_argument("--motion", action="store_true", help="landmarks: also feed frame - clip mean")
    p.add_argument("--head", default="regression", help="landmarks: regression or heatmap")
    p.add_argument("--upsample", type=int, default=1, help="landmarks: input upsampling")
    p.add_argument("--inputs", default="motion", help="code: frame, motion or difference")
    p.add_argument(
        "--neutral-weight", type=float, default=0.5, help="code: loss weight of the expressiveness code"
    )
    p.add_argument("--k", type=int, default=8, help="code: basis size")
    p.add_argument("--estimates", nargs=2, type=Path, metavar=("TRAIN", "TEST"))
    p.add_argument("--truth", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(1)
    data = args.results / "data" / "cremad"
    ltr, lte = np.load(data / "train_landmarks.npy"), np.load(data / "test_landmarks.npy")
    val = np.random.default_rng(0).permutation(len(ltr))[: len(ltr) // 5]
    if args.method == "code" and not (args.truth or args.estimates):
        score_codes(data, estimate_codes(args, data, val), val, args.tag)
        return
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
    score_codes(data, landmark_codes(etr, ete, (ltr, lte), val, args.tag), val, args.tag)


if __name__ == "__main__":
    main()
