"""Rule blur: the Gaussian-blur baseline at one sigma, both splits (representation blur-s{sigma})."""

import numpy as np

from ppfer_core.arrays import npy_output
from ppfer_core.baselines import gaussian_blur, map_clips
from ppfer_core.runtime import end_job, job_logger

log = job_logger(snakemake.log[0])
sigma = snakemake.params.sigma
for split in ("train", "test"):
    src = np.load(snakemake.input[split], mmap_mode="r")
    with npy_output(snakemake.output[split], src.shape) as out:
        map_clips(lambda c: gaussian_blur(c, sigma), src, out)
    log(f"blur sigma={sigma:g}: {split} {src.shape} -> {snakemake.output[split]}")
end_job()
