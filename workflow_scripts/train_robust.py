"""Rule train_robust ("Ours (robust)", beyond the paper): both privacy enhancers F_lpr / F_hpr trained
against re-trained adversaries (enhancer.adversary: retrained; ppfer_core.robust), from the shared L1
initialisation, then merged into the representation G-robust (train and test splits)."""
import numpy as np
import pandas as pd

from ppfer_core.arrays import band_dataset, identity_labels, open_output
from ppfer_core.enhancer import enhance_bands
from ppfer_core.nets import UNet, build_image_classifier
from ppfer_core.robust import fit_privacy_enhancer
from ppfer_core.runtime import job_seed, setup_job, state_path, write_json
from ppfer_core.training import finish, load_weights, save_weights

log, device = setup_job(snakemake)
p, inp, out = snakemake.params, snakemake.input, snakemake.output
index = pd.read_parquet(inp.index)
y_train, actors = identity_labels(index, "train")
low, *highs = inp.train
enhancers, history = {}, {}
for band in ("low", "high"):
    data = band_dataset(low if band == "low" else None, highs, y_train)
    enhancer = load_weights(UNet(base_width=p.unet["base_width"], depth=p.unet["depth"]), inp.init)
    controller = load_weights(build_image_classifier(p.model["arch"], len(actors), None), getattr(inp, f"controller_{band}"))
    model_path = getattr(out, f"enhancer_{band}")
    state = state_path(model_path)
    result = fit_privacy_enhancer(enhancer, controller, len(actors), data, p.train, p.enhancer, device,
                                  job_seed(snakemake), state, log, f"robust_{band}", snakemake.config["workers"])
    save_weights(enhancer, model_path)
    finish(state)
    enhancers[band], history[band] = enhancer, {"history": result.history, "stopped": result.stopped}
size = tuple(p.size)
for split, dst in (("train", out.train), ("test", out.test)):
    bands = [np.load(f, mmap_mode="r") for f in getattr(inp, split)]
    clips = open_output(dst, (*bands[0].shape[:2], *size, 3))
    enhance_bands(enhancers["low"], enhancers["high"], bands[0], bands[1:], p.wavelet["name"], size, clips, device)
    clips.flush()
    log(f"wrote {snakemake.wildcards.grep} {split} {clips.shape} to {dst}")
write_json(out.metrics, {"rep": snakemake.wildcards.grep, "settings": p.enhancer, "train": p.train, **history})
