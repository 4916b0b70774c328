"""Rule train_controller: identity budget controller C_lpr / C_hpr, initialised from the
identity classifier and fine-tuned on the images of its band; band "frames": the controller of
ablation tasks 1 and 3, fine-tuned the same way on whole original frames."""

import pandas as pd

from ppfer_core.arrays import FrameDataset, band_dataset, identity_labels, load_clips
from ppfer_core.classifiers import fit_classifier, predict_labels
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import load_weights, save_weights

job = Job.from_snakemake(snakemake)
band = snakemake.wildcards.band
index = pd.read_parquet(snakemake.input.index)


def dataset(files, split):
    if band == "frames":  # ablation tasks 1 and 3: whole frames, no wavelet transform
        return FrameDataset(load_clips(files[0]), identity_labels(index, split)[0])
    low, *highs = files
    return band_dataset(low if band == "low" else None, highs, identity_labels(index, split)[0])


p = snakemake.params
model = create_model("image", p.model["arch"], num_classes=index["actor"].nunique())
load_weights(model, snakemake.input.identity)
test = dataset(snakemake.input.test, "test")
pred0, true = predict_labels(model, test, job.device)
with job.resumable(snakemake.output.model) as state:
    result = fit_classifier(
        model,
        dataset(snakemake.input.train, "train"),
        job.train_settings(),
        job.run(f"controller_{band}", state),
    )
    pred, true = predict_labels(model, test, job.device)
    save_weights(model, snakemake.output.model)
acc0, acc = 100.0 * float((pred0 == true).mean()), 100.0 * float((pred == true).mean())
job.log(f"controller {band}: test accuracy on {band} images: {acc:.2f}% (before fine-tuning: {acc0:.2f}%)")
write_json(
    snakemake.output.metrics,
    {
        "test_acc": acc,
        "test_acc_before_finetune": acc0,
        "history": result.history,
        "train_dtype": result.dtype,
    },
)
end_job()
