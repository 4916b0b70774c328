"""Rule utility: the utility model F_u (R3D) trained on a representation's train split and
tested on its test split: ACC, per-class accuracy and per-clip ``hits`` (1 per test clip whose
expression is right, in the test index rows' order: actor-clustered intervals, paired tests); and
F_u's validation figure ``val_acc`` (issue 26: a sibling trained on the train clips outside the
validation slice ``utility.val_fraction``, scored on the slice), which Gaussian Blur 2 is matched on:
only for the representations the matching reads (params.val_fraction None elsewhere: no sibling)."""

import pandas as pd

from ppfer_core import EMOTIONS
from ppfer_core.arrays import ClipDataset, emotion_labels, load_clips
from ppfer_core.classifiers import fit_classifier, score_clips
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import save_weights
from ppfer_core.utility import UtilitySlice, validation_record

job = Job.from_snakemake(snakemake)
p, rep = snakemake.params, snakemake.wildcards.rep
index = pd.read_parquet(snakemake.input.index)
val_slice = None if p.val_fraction is None else UtilitySlice(p.val_fraction, job.seed)
labels, clips = emotion_labels(index, "train"), load_clips(snakemake.input.train)
if val_slice is not None:
    val_slice.rows(labels)  # a slice that holds out nothing fails before any training


def build():
    m = p.model
    return create_model("video", m["arch"], num_classes=len(EMOTIONS), weights=m["weights"], width=m["width"])


model = build()
with job.resumable(snakemake.output.model) as state:
    train_set = ClipDataset(clips, labels, augment=p.model["augment"])
    result = fit_classifier(model, train_set, job.train_settings(), job.run(f"utility_{rep}", state))
    save_weights(model, snakemake.output.model)
scores = score_clips(
    model, ClipDataset(load_clips(snakemake.input.test), emotion_labels(index, "test")), job.device
)
test = scores.record(EMOTIONS)  # acc, correct, per_class, n, hits (the federated F_u's are the same)
val = {}
if val_slice is not None:
    with job.resumable(snakemake.output.metrics) as state:
        val = validation_record(
            build,
            clips,
            labels,
            val_slice,
            job.train_settings(),
            job.run(f"utility_val_{rep}", state),
            p.model["augment"],
        )
job.log(
    f"{rep}: ACC {test['acc']:.2f}% "
    + " ".join(f"{k} {v:.1f}" for k, v in test["per_class"].items())
    + (
        f"; validation slice ACC {val['val_acc']:.2f}% ({val['val_correct']}/{val['val_n']})"
        if val
        else "; no validation slice (read only by the blur matching)"
    )
)
write_json(
    snakemake.output.metrics,
    {"rep": rep, **test, "history": result.history, "train_dtype": result.dtype, **val},
)
end_job()
