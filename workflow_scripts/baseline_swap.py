"""Rule swap: the image-swapping baseline: a donor face not in the corpus warped onto every frame's
68 landmarks (estimated from pixels by rule swap_landmarks' CNN, or detected with dlib) and blended in
their hull. Never a test clip's true landmarks."""

import functools

import numpy as np
import pandas as pd
from skimage.io import imsave

from ppfer_core.arrays import npy_output
from ppfer_core.baselines import DlibLandmarks, choose_donor, swap_clip
from ppfer_core.runtime import end_job, job_logger

log = job_logger(snakemake.log[0])
cfg = snakemake.params.swap
train = np.load(snakemake.input.train, mmap_mode="r")
size = max(train.shape[2:4])
landmark_detector = functools.cache(lambda: DlibLandmarks(upsample=cfg["dlib_upsample"]))  # only when needed


actors = set(pd.read_parquet(snakemake.input.index)["actor"].astype(str))
donor, donor_lm, what = choose_donor(
    cfg,
    snakemake.params.source,
    size,
    snakemake.params.seed,
    actors,
    lambda img: landmark_detector().detect(img),
)
log(f"donor: {what}")
imsave(snakemake.output.donor, donor, check_contrast=False)

estimated = list(snakemake.input.landmarks)  # train, test (rule swap_landmarks) or none: dlib
for i_split, split in enumerate(("train", "test")):
    src = np.load(snakemake.input[split], mmap_mode="r")
    if estimated:
        marks = np.load(estimated[i_split], mmap_mode="r")
        if marks.shape[:2] != src.shape[:2]:
            raise ValueError(
                f"{estimated[i_split]}: shape {marks.shape} does not match the clips {src.shape}"
            )
        log(f"{split}: landmarks estimated from pixels, {estimated[i_split]}")
    else:
        marks = None
        log(f"{split}: landmarks detected with dlib")
    missing = 0
    with npy_output(snakemake.output[split], src.shape) as out:
        for i in range(len(src)):
            lm = np.asarray(marks[i]) if marks is not None else landmark_detector()(np.asarray(src[i]))
            missing += int((~np.isfinite(lm).all(axis=(1, 2))).sum())
            out[i] = swap_clip(np.asarray(src[i]), lm, donor, donor_lm, cfg["feather"])
    log(
        f"swap {split} {src.shape}: {missing} of {src.shape[0] * src.shape[1]} frames without landmarks left unchanged"
    )
end_job()
