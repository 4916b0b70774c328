"""Rule merge_enhanced: G = inverse wavelet transform of F_lpr(low) and F_hpr(high)."""

import numpy as np

from ppfer_core.arrays import npy_output
from ppfer_core.enhancer import enhance_bands
from ppfer_core.nets import build_unet
from ppfer_core.runtime import Job

job = Job.from_snakemake(snakemake)
p = snakemake.params
low, *highs = [np.load(f, mmap_mode="r") for f in snakemake.input.bands]
nets = [build_unet(p.unet, f) for f in (snakemake.input.low, snakemake.input.high)]
size = tuple(p.size)
with npy_output(snakemake.output.clips, (*low.shape[:2], *size, 3)) as out:
    enhance_bands(nets[0], nets[1], low, highs, p.wavelet["name"], size, out, job.device)
job.log(f"wrote G {out.shape} to {snakemake.output.clips}")
