"""Rule enhance_frames (ablation tasks 1 and 3): one privacy enhancer on whole frames, without
the wavelet transform, trained against its own frozen controller (fine-tuned from V_pl on frames,
not V_pl, which scores it); writes its outputs for both splits."""

import pandas as pd

from ppfer_core.arrays import FrameDataset, identity_labels, load_clips, write_representation
from ppfer_core.enhancer import fit_enhancer
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import load_weights, save_weights

job = Job.from_snakemake(snakemake)
p = snakemake.params
index = pd.read_parquet(snakemake.input.index)
y, actors = identity_labels(index, "train")
data = FrameDataset(load_clips(snakemake.input.train), y)
enhancer = create_model("unet", "unet", settings=p.unet, weights=snakemake.input.init)
controller = load_weights(
    create_model("image", p.model["arch"], num_classes=len(actors)), snakemake.input.controller
)
with job.resumable(snakemake.output.model) as state:
    result = fit_enhancer(
        enhancer, controller, data, job.train_settings(), p.enhancer, job.run("enhancer_frames", state)
    )
    save_weights(enhancer, snakemake.output.model)
enhancer.eval()
splits = ("train", "test")
write_representation(
    enhancer,
    job.device,
    [load_clips(snakemake.input[s]) for s in splits],
    [snakemake.output[s] for s in splits],
)
write_json(
    snakemake.output.metrics,
    {
        "history": result.history,
        "train_dtype": result.dtype,
        "stopped": result.stopped,
        "settings": p.enhancer,
    },
)
end_job()
