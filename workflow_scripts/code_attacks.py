"""Rule code_attacks (issue 27): identity from the code sequences (logistic regression, MLP, GRU;
trained on train, selected on a validation slice of it, scored on test), the same attackers on the
estimated landmarks the codes come from, the landmark regressor's test error, and an emotion probe
on the codes (a logistic regression: does the code keep the expression?)."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ppfer_core.arrays import emotion_labels, identity_labels
from ppfer_core.bottleneck import AttackSettings, clip_features, code_attacks, point_errors
from ppfer_core.runtime import Job, write_json

job = Job.from_snakemake(snakemake)
index = pd.read_parquet(snakemake.input.index)
(ytr, _), (yte, _) = identity_labels(index, "train"), identity_labels(index, "test")
s = AttackSettings(seed=job.seed)
codes = {split: np.load(getattr(snakemake.input, f"codes_{split}")) for split in ("train", "test")}
marks = {split: np.load(getattr(snakemake.input, f"landmarks_{split}")) for split in ("train", "test")}
scores = code_attacks(codes["train"], ytr, codes["test"], yte, s, prefix="code_")
scores += code_attacks(marks["train"], ytr, marks["test"], yte, s, prefix="landmarks_")
px, iod = point_errors(marks["test"], np.load(job.params.true_test_landmarks))
probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
probe.fit(clip_features(codes["train"]), emotion_labels(index, "train"))
emotion_acc = 100.0 * float(
    (probe.predict(clip_features(codes["test"])) == emotion_labels(index, "test")).mean()
)
metrics = {
    "attackers": {sc.attacker: {"val_acc": sc.val_acc, "test_acc": sc.test_acc} for sc in scores},
    "code_worst_test_acc": max(sc.test_acc for sc in scores if sc.attacker.startswith("code_")),
    "chance": 100.0 / len(np.unique(ytr)),
    "landmark_error_px": px,
    "landmark_error_iod": iod,
    "emotion_probe_test_acc": emotion_acc,
}
for sc in scores:
    job.log(f"{sc.attacker}: val {sc.val_acc:.1f} %, test {sc.test_acc:.1f} %")
job.log(f"landmarks on test: {px:.3f} px, {iod:.4f} IOD; emotion probe on codes {emotion_acc:.1f} %")
write_json(snakemake.output.metrics, metrics)
