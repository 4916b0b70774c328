"""Rule bottleneck_landmarks (issue 27): the TRAIN split's 68 landmarks, the expression basis' data and
the code estimator's targets. From ingest (the embedded corpus' generator writes them beside the clips)
or, for a real corpus, dlib's 68-point predictor on every train frame (NaN where no face was found
before the clip's first detection). Never a test clip's."""

from pathlib import Path

import numpy as np

from ppfer_core.arrays import load_clips
from ppfer_core.bottleneck import dlib_landmarks
from ppfer_core.npyfiles import npy_output
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
source, ingest = job.params.source, Path(job.params.ingest)
clips = load_clips(snakemake.input.train)
if source == "ingest" or (source == "auto" and ingest.exists()):
    if not ingest.exists():
        raise FileNotFoundError(
            f"{ingest}: the corpus has no landmarks; set bottleneck.landmarks to dlib or auto"
        )
    marks = np.load(ingest, mmap_mode="r")
    if marks.shape[:2] != clips.shape[:2]:
        raise ValueError(f"{ingest}: shape {marks.shape} does not match the train clips {clips.shape}")
    with npy_output(snakemake.output.train, marks.shape, np.float32) as out:
        out[:] = marks
    job.log(f"train landmarks from {ingest}: {marks.shape}")
else:
    missing = 0
    with npy_output(snakemake.output.train, (*clips.shape[:2], 68, 2), np.float32) as out:
        for i in range(len(clips)):
            out[i] = dlib_landmarks(np.asarray(clips[i]))
            missing += int((~np.isfinite(out[i]).all(axis=(1, 2))).sum())
    job.log(f"train landmarks by dlib: {len(clips)} clips, {missing} frames without a face (NaN)")
end_job()
