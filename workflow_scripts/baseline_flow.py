"""Rule flow: the optical-flow baseline (TV-L1 between consecutive grey frames, rendered u, v,
magnitude on a fixed scale) for one split."""

import time

import numpy as np

from ppfer_core.arrays import npy_output
from ppfer_core.baselines import flow_clip
from ppfer_core.runtime import end_job, job_logger

log = job_logger(snakemake.log[0])
opts = dict(snakemake.params.flow)
scale = opts.pop("scale")
src = np.load(snakemake.input.clips, mmap_mode="r")
t0 = time.time()
with npy_output(snakemake.output.clips, src.shape) as out:
    for i in range(len(src)):
        out[i] = flow_clip(src[i], scale, **opts)
pairs = len(src) * max(src.shape[1] - 1, 1)
log(f"flow {src.shape} (scale {scale} px, TV-L1 {opts}): {1000 * (time.time() - t0) / pairs:.1f} ms per pair")
end_job()
