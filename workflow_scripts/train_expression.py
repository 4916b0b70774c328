"""Rule train_expression: expression controller C_fc on the in-the-wild corpus, on one random frame
per clip each time a clip is drawn (models.expression.frames "one", as the paper's C_fc on DFEW) or
on every frame ("all"), optionally flipped and shifted; then frozen by its users."""

import pandas as pd

from ppfer_core import EMOTIONS
from ppfer_core.arrays import FlipShiftFrames, FrameDataset, emotion_labels, load_clips
from ppfer_core.classifiers import fit_classifier, per_class_accuracy, predict_labels
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import save_weights

job = Job.from_snakemake(snakemake)
p = snakemake.params
wild = pd.read_parquet(snakemake.input.index)
main = pd.read_parquet(snakemake.input.main_index)
model = create_model(
    "image",
    p.model["arch"],
    num_classes=len(EMOTIONS),
    weights=p.model["weights"],
    width=p.model.get("width"),
)
train_clips, train_labels = load_clips(snakemake.input.train), emotion_labels(wild, "train")
per_clip = 1 if p.model.get("frames", "one") == "one" else None
train_set = (
    FlipShiftFrames(train_clips, train_labels, shift=4, per_clip=per_clip)
    if p.model.get("augment", False)
    else FrameDataset(train_clips, train_labels, per_clip=per_clip)
)
with job.resumable(snakemake.output.model) as state:
    result = fit_classifier(model, train_set, job.train_settings(), job.run("expression", state))
    save_weights(model, snakemake.output.model)
metrics = {"history": result.history, "train_dtype": result.dtype}
for name, clips_path, index in (
    ("wild_test", snakemake.input.test, wild),
    ("main_test", snakemake.input.main_test, main),
):
    pred, true = predict_labels(
        model, FrameDataset(load_clips(clips_path), emotion_labels(index, "test")), job.device
    )
    metrics[f"{name}_acc"] = 100.0 * float((pred == true).mean())
    metrics[f"{name}_per_class"] = per_class_accuracy(pred, true, EMOTIONS)
    job.log(f"C_fc frame accuracy on {name}: {metrics[f'{name}_acc']:.2f}%")
write_json(snakemake.output.metrics, metrics)
end_job()
