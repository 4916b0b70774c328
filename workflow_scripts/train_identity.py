"""Rule train_identity: identity classifier on original train frames; it is the validator V_pl."""

import pandas as pd

from ppfer_core.arrays import FrameDataset, identity_labels, load_clips
from ppfer_core.classifiers import fit_classifier, predict_labels
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import save_weights

job = Job.from_snakemake(snakemake)
index = pd.read_parquet(snakemake.input.index)
y_train, actors = identity_labels(index, "train")
y_test, _ = identity_labels(index, "test")
p = snakemake.params
model = create_model("image", p.model["arch"], num_classes=len(actors), weights=p.model["weights"])
with job.resumable(snakemake.output.model) as state:
    result = fit_classifier(
        model,
        FrameDataset(load_clips(snakemake.input.train), y_train),
        job.train_settings(),
        job.run("identity", state),
    )
    pred, true = predict_labels(model, FrameDataset(load_clips(snakemake.input.test), y_test), job.device)
    save_weights(model, snakemake.output.model)
acc = 100.0 * float((pred == true).mean())
job.log(f"identity classifier test accuracy (all test frames): {acc:.2f}% over {len(actors)} identities")
write_json(
    snakemake.output.metrics,
    {"test_acc": acc, "n_identities": len(actors), "history": result.history, "train_dtype": result.dtype},
)
end_job()
