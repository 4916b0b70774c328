"""Rule train_robust ("Ours (robust)", beyond the paper; issue 29): F_lpr and F_hpr, from the shared L1
initialisation, trained jointly through the inverse wavelet transform against a re-trained ensemble of
identity adversaries on the train split, stopped by a fresh attacker on held-out train clips
(ppfer_core.robust), then merged into the representation G-robust (train and test splits)."""

import numpy as np
import pandas as pd

from ppfer_core.arrays import identity_labels, npy_output
from ppfer_core.enhancer import enhance_bands
from ppfer_core.registry import create_model
from ppfer_core.robust import BandClips, JointEnhancer, RobustSettings, fit_robust
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import load_weights, save_weights

job = Job.from_snakemake(snakemake)
p, inp, out = snakemake.params, snakemake.input, snakemake.output
settings = RobustSettings.from_config(p.robust)
size = tuple(p.size)
index = pd.read_parquet(inp.index)
y_train, actors = identity_labels(index, "train")
low, *highs = inp.train
clips = BandClips(np.load(low, mmap_mode="r"), [np.load(h, mmap_mode="r") for h in highs], y_train)
validator = None
if settings.adversaries.validator:  # the frame controller fine-tuned from V_pl (never V_pl itself)
    validator = load_weights(
        create_model("image", p.model["arch"], num_classes=len(actors)), inp.frame_controller
    )
compensator = None
if settings.through_compensator:  # Ours' F_fc, frozen
    compensator = create_model(
        "compensator", "uvit", settings=p.uvit, img_size=size[0], weights=inp.compensator
    )
joint = JointEnhancer(
    *(create_model("unet", "unet", settings=p.unet, weights=inp.init) for _ in range(2)),
    p.wavelet["name"],
    size,
    compensator,
)
with job.resumable(out.enhancer_low) as state:
    result, _ = fit_robust(joint, clips, job.train_settings(), settings, job.run("robust", state), validator)
    save_weights(joint.low, out.enhancer_low)
    save_weights(joint.high, out.enhancer_high)
for split, dst in (("train", out.train), ("test", out.test)):  # the test split is read only now
    bands = [np.load(f, mmap_mode="r") for f in getattr(inp, split)]
    with npy_output(dst, (*bands[0].shape[:2], *size, 3)) as reps:
        enhance_bands(joint.low, joint.high, bands[0], bands[1:], p.wavelet["name"], size, reps, job.device)
    job.log(f"wrote {snakemake.wildcards.grep} {split} {reps.shape} to {dst}")
write_json(
    out.metrics,
    {"rep": snakemake.wildcards.grep, "settings": settings.config(), "train": p.train, **result.summary()},
)
end_job()
