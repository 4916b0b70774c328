"""Rule merge_enhanced: G = inverse wavelet transform of F_lpr(low) and F_hpr(high) (ppfer_core.pipeline)."""

import numpy as np

from ppfer_core.arrays import npy_output
from ppfer_core.pipeline import PrivacyPipeline
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
p = snakemake.params
low, *highs = [np.load(f, mmap_mode="r") for f in snakemake.input.bands]
pipeline = PrivacyPipeline.from_files(
    p.unet, snakemake.input.low, snakemake.input.high, p.wavelet, p.size, device=job.device
)
with npy_output(snakemake.output.clips, (*low.shape[:2], *pipeline.size, 3)) as out:
    pipeline.enhance_bands(low, highs, out)
job.log(f"wrote G {out.shape} to {snakemake.output.clips}")
end_job()
