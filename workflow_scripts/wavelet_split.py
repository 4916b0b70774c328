"""Rule wavelet_split: ptwt 2-D DWT of every frame of a split, streamed into band files."""

from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ppfer_core.arrays import npy_output
from ppfer_core.runtime import end_job, job_logger
from ppfer_core.wavelet import clips_to_bands

log = job_logger(snakemake.log[0])
clips = np.load(snakemake.input.clips, mmap_mode="r")
p = snakemake.params.wavelet
paths = {Path(f).stem: f for f in [snakemake.output.low, *snakemake.output.highs]}
with ExitStack() as outputs:  # every band file is renamed into place once all are written
    low, highs = clips_to_bands(
        clips,
        p["name"],
        p["level"],
        alloc=lambda name, shape: outputs.enter_context(npy_output(paths[name], shape, np.float32)),
    )
log(f"{snakemake.input.clips} {clips.shape} -> low {low.shape}, high {[h.shape for h in highs]} ({p})")
end_job()
