"""Rule train_compensator: feature compensator F_fc (U-ViT) trained on G against the frozen
expression controller C_fc (Algorithm 2) until C_fc's accuracy on a compensated validation slice of
the train clips plateaus (ppfer_core.compensator.fit_compensator); writes C = F_fc(G) for both splits."""

import pandas as pd

from ppfer_core import EMOTIONS
from ppfer_core.arrays import FrameDataset, emotion_labels, load_clips, write_representation
from ppfer_core.classifiers import predict_labels
from ppfer_core.compensator import CompensationData, fit_compensator
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import freeze, load_weights, save_weights
from ppfer_core.uvit import load_uvit_blocks

job = Job.from_snakemake(snakemake)
p, device = snakemake.params, job.device
index = pd.read_parquet(snakemake.input.index)
g_train, g_test = load_clips(snakemake.input.train), load_clips(snakemake.input.test)
u = p.uvit
compensator = create_model("compensator", "uvit", settings=u, img_size=g_train.shape[2])
if u["weights"]:
    job.log(load_uvit_blocks(compensator, u["weights"]).summary())
compensator.to(device)
controller = None
if p.loss == "ce":
    controller = create_model("image", p.model["arch"], num_classes=len(EMOTIONS), width=p.model.get("width"))
    controller = freeze(load_weights(controller, snakemake.input.controller).to(device))
data = CompensationData(g_train, emotion_labels(index, "train"), load_clips(snakemake.input.original))
with job.resumable(snakemake.output.model) as state:
    run = fit_compensator(
        compensator,
        controller,
        p.loss,
        data,
        job.train_settings(),
        job.run("compensator", state),
        {"train": dict(p.train), "uvit": u, "loss": p.loss},
    )
    save_weights(compensator, snakemake.output.model)
compensator.eval()
write_representation(compensator, device, [g_train, g_test], [snakemake.output.train, snakemake.output.test])
metrics = {**run.record, "history": run.result.history, "train_dtype": run.result.dtype, "loss": p.loss}
if controller is not None:
    y = emotion_labels(index, "test")
    for name, path in (("G", snakemake.input.test), ("C", snakemake.output.test)):
        pred, true = predict_labels(controller, FrameDataset(load_clips(path), y), device)
        metrics[f"controller_acc_{name}_test"] = 100.0 * float((pred == true).mean())
    job.log(
        f"C_fc accuracy on test frames: G {metrics['controller_acc_G_test']:.2f}% -> C {metrics['controller_acc_C_test']:.2f}%"
    )
write_json(snakemake.output.metrics, metrics)
end_job()
