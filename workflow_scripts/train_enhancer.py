"""Rule train_enhancer: privacy enhancer F_lpr / F_hpr trained against its frozen identity
budget controller (Algorithm 1), from the shared L1 initialisation. (Enhancers against re-trained
adversaries are rule train_robust's, ppfer_core.robust.)"""

import pandas as pd

from ppfer_core.arrays import band_dataset, identity_labels
from ppfer_core.enhancer import fit_enhancer
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import load_weights, save_weights

job = Job.from_snakemake(snakemake)
p, band = snakemake.params, snakemake.wildcards.band
index = pd.read_parquet(snakemake.input.index)
low, *highs = snakemake.input.train
data = band_dataset(low if band == "low" else None, highs, identity_labels(index, "train")[0])
enhancer = create_model("unet", "unet", settings=p.unet, weights=snakemake.input.init)
controller = load_weights(
    create_model("image", p.model["arch"], num_classes=index["actor"].nunique()), snakemake.input.controller
)
with job.resumable(snakemake.output.model) as state:
    result = fit_enhancer(
        enhancer,
        controller,
        data,
        job.train_settings(),
        p.enhancer,
        job.run(f"enhancer_{band}", state),
    )
    save_weights(enhancer, snakemake.output.model)
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
