"""Rule swap_landmark_error (evaluation only, metrics only): the error of Image Swapping's estimated test
landmarks (rule swap_landmarks) against the test clips' true ones, per point in px and as a share of the
inter-ocular distance."""

import numpy as np

from ppfer_core.bottleneck import point_errors
from ppfer_core.runtime import end_job, job_logger, write_json

log = job_logger(snakemake.log[0])
estimated, truth = np.load(snakemake.input.test), np.load(snakemake.params.true_landmarks)
if estimated.shape != truth.shape:
    raise ValueError(
        f"{snakemake.input.test}: shape {estimated.shape} does not match {snakemake.params.true_landmarks} {truth.shape}"
    )
px, iod = point_errors(estimated, truth)
log(f"test landmarks: {px:.3f} px, {iod:.4f} of the inter-ocular distance")
write_json(
    snakemake.output.metrics,
    {"test_error_px": px, "test_error_iod": iod, "frames": int(np.prod(truth.shape[:2]))},
)
end_job()
