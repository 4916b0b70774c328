"""Rule swap: the image-swapping baseline: a donor face not in the corpus warped onto every frame's
68 landmarks (from ingest, or detected with dlib for corpora without them) and blended in their hull."""

import functools
from pathlib import Path

import numpy as np
import pandas as pd
from skimage.io import imsave

from ppfer_core.arrays import npy_output
from ppfer_core.baselines import DlibLandmarks, choose_donor, swap_clip
from ppfer_core.runtime import job_logger

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

for split, lm_path in zip(("train", "test"), snakemake.params.landmarks):
    src = np.load(snakemake.input[split], mmap_mode="r")
    use_file = cfg["landmarks"] == "ingest" or (cfg["landmarks"] == "auto" and Path(lm_path).exists())
    if use_file:
        if not Path(lm_path).exists():
            raise FileNotFoundError(
                f"{lm_path}: the corpus has no landmarks; set baselines.swap.landmarks to dlib or auto"
            )
        marks = np.load(lm_path, mmap_mode="r")
        log(f"{split}: landmarks from {lm_path}")
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
