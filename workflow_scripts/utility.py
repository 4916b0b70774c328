"""Rule utility: the utility model F_u (R3D) trained on a representation's train split and
tested on its test split: ACC, per-class accuracy and per-clip ``hits`` (1 per test clip whose
expression is right, in the test index rows' order: actor-clustered intervals, paired tests)."""

import pandas as pd

from ppfer_core import EMOTIONS
from ppfer_core.arrays import ClipDataset, emotion_labels, load_clips
from ppfer_core.classifiers import fit_classifier, score_clips
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, write_json
from ppfer_core.training import save_weights

job = Job.from_snakemake(snakemake)
p = snakemake.params
index = pd.read_parquet(snakemake.input.index)
model = create_model(
    "video", p.model["arch"], num_classes=len(EMOTIONS), weights=p.model["weights"], width=p.model["width"]
)
train_set = ClipDataset(
    load_clips(snakemake.input.train), emotion_labels(index, "train"), augment=p.model["augment"]
)
with job.resumable(snakemake.output.model) as state:
    result = fit_classifier(
        model, train_set, job.train_settings(), job.run(f"utility_{snakemake.wildcards.rep}", state)
    )
    save_weights(model, snakemake.output.model)
scores = score_clips(
    model, ClipDataset(load_clips(snakemake.input.test), emotion_labels(index, "test")), job.device
)
test = scores.record(EMOTIONS)  # acc, correct, per_class, n, hits (the federated F_u's are the same)
job.log(
    f"{snakemake.wildcards.rep}: ACC {test['acc']:.2f}% "
    + " ".join(f"{k} {v:.1f}" for k, v in test["per_class"].items())
)
write_json(
    snakemake.output.metrics,
    {
        "rep": snakemake.wildcards.rep,
        **test,
        "history": result.history,
        "train_dtype": result.dtype,
    },
)
