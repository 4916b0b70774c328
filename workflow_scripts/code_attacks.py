"""Rule code_attacks (issue 27): identity from the code sequences (logistic regression, MLP, GRU;
trained on train, selected on a validation slice of it, scored on test), the same attackers on the
estimator's per-frame output the codes come from (``landmarks_*``: its within-clip and expressiveness
codes) and, for reference, on the raw true landmarks (``raw_landmarks_*``); the codes' error against
the true landmarks' codes (evaluation only), and an emotion probe on the codes (a logistic
regression: does the code keep the expression?)."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ppfer_core.arrays import emotion_labels, identity_labels
from ppfer_core.bottleneck import (
    AttackSettings,
    ExpressionBasis,
    clip_features,
    code_attacks,
    code_point_errors,
    encode,
)
from ppfer_core.runtime import Job, write_json

job = Job.from_snakemake(snakemake)
index = pd.read_parquet(snakemake.input.index)
(ytr, _), (yte, _) = identity_labels(index, "train"), identity_labels(index, "test")
s = AttackSettings(seed=job.seed)
basis = ExpressionBasis.load(snakemake.input.basis)
codes = {split: np.load(getattr(snakemake.input, f"codes_{split}")) for split in ("train", "test")}
estimates = {split: np.load(getattr(snakemake.input, f"estimates_{split}")) for split in ("train", "test")}
truth = dict(zip(("train", "test"), (np.load(path) for path in job.params.true_landmarks)))
scores = code_attacks(codes["train"], ytr, codes["test"], yte, s, prefix="code_")
scores += code_attacks(estimates["train"], ytr, estimates["test"], yte, s, prefix="landmarks_")
scores += code_attacks(truth["train"], ytr, truth["test"], yte, s, prefix="raw_landmarks_")
px, iod = code_point_errors(codes["test"], truth["test"], basis)
true_codes = encode(truth["test"], basis)
share = float(np.sqrt(((codes["test"] - true_codes) ** 2).sum(-1).mean() / (true_codes**2).sum(-1).mean()))
probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
probe.fit(clip_features(codes["train"]), emotion_labels(index, "train"))
emotion_acc = 100.0 * float(
    (probe.predict(clip_features(codes["test"])) == emotion_labels(index, "test")).mean()
)
metrics = {
    "attackers": {sc.attacker: {"val_acc": sc.val_acc, "test_acc": sc.test_acc} for sc in scores},
    "code_worst_test_acc": max(sc.test_acc for sc in scores if sc.attacker.startswith("code_")),
    "chance": 100.0 / len(np.unique(ytr)),
    # the test codes' shape (basis x code) against the true landmarks' codes, per point
    "landmark_error_px": px,
    "landmark_error_iod": iod,
    "code_error_share": share,  # RMS code error / RMS true code, test
    "emotion_probe_test_acc": emotion_acc,
}
for sc in scores:
    job.log(f"{sc.attacker}: val {sc.val_acc:.1f} %, test {sc.test_acc:.1f} %")
job.log(
    f"codes on test: {px:.3f} px ({iod:.4f} IOD), {share:.3f} of the true code RMS; emotion probe {emotion_acc:.1f} %"
)
write_json(snakemake.output.metrics, metrics)
