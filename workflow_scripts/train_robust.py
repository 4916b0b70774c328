"""Rule train_robust ("Ours (robust)", beyond the paper): both privacy enhancers F_lpr / F_hpr trained
against re-trained adversaries (enhancer.adversary: retrained; ppfer_core.robust), from the shared L1
initialisation, then merged into the representation G-robust (train and test splits)."""

import numpy as np
import pandas as pd

from ppfer_core.arrays import band_dataset, identity_labels, npy_output
from ppfer_core.enhancer import enhance_bands
from ppfer_core.registry import create_model
from ppfer_core.robust import fit_privacy_enhancer
from ppfer_core.runtime import Job, write_json
from ppfer_core.training import load_weights, save_weights

job = Job.from_snakemake(snakemake)
p, inp, out = snakemake.params, snakemake.input, snakemake.output
index = pd.read_parquet(inp.index)
y_train, actors = identity_labels(index, "train")
low, *highs = inp.train
enhancers, history = {}, {}
for band in ("low", "high"):
    data = band_dataset(low if band == "low" else None, highs, y_train)
    enhancer = create_model("unet", "unet", settings=p.unet, weights=inp.init)
    controller = load_weights(
        create_model("image", p.model["arch"], num_classes=len(actors)), getattr(inp, f"controller_{band}")
    )
    model_path = getattr(out, f"enhancer_{band}")
    with job.resumable(model_path) as state:
        result = fit_privacy_enhancer(
            enhancer,
            controller,
            len(actors),
            data,
            job.train_settings(),
            p.enhancer,
            job.run(f"robust_{band}", state),
        )
        save_weights(enhancer, model_path)
    enhancers[band], history[band] = enhancer, {"history": result.history, "stopped": result.stopped}
size = tuple(p.size)
for split, dst in (("train", out.train), ("test", out.test)):
    bands = [np.load(f, mmap_mode="r") for f in getattr(inp, split)]
    with npy_output(dst, (*bands[0].shape[:2], *size, 3)) as clips:
        enhance_bands(
            enhancers["low"],
            enhancers["high"],
            bands[0],
            bands[1:],
            p.wavelet["name"],
            size,
            clips,
            job.device,
        )
    job.log(f"wrote {snakemake.wildcards.grep} {split} {clips.shape} to {dst}")
write_json(
    out.metrics, {"rep": snakemake.wildcards.grep, "settings": p.enhancer, "train": p.train, **history}
)
