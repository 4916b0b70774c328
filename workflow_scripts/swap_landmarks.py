"""Rule swap_landmarks: Image Swapping's landmarks from pixels. A landmark CNN (ppfer_core.bottleneck
.landmarks) trained on the train split's frames against their 68 landmarks (rule bottleneck_landmarks),
then applied to every split. No test clip's true landmarks and no label is read."""

import numpy as np

from ppfer_core.arrays import load_clips
from ppfer_core.bottleneck import RegressorSettings, predict_landmarks, save_regressor, train_regressor
from ppfer_core.bottleneck.landmarks import train_clips_and_landmarks
from ppfer_core.npyfiles import npy_output
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
settings = RegressorSettings(**job.params.regressor)
train, truth = train_clips_and_landmarks(snakemake.input.train, snakemake.input.landmarks)
with job.resumable(snakemake.output.model) as state:
    net, _ = train_regressor(train, truth, settings, job.run("swap_landmarks", state))
    save_regressor(net, snakemake.output.model)
for split in ("train", "test"):
    marks = predict_landmarks(net, load_clips(getattr(snakemake.input, split)))
    with npy_output(getattr(snakemake.output, split), marks.shape, np.float32) as out:
        out[:] = marks
    job.log(f"landmarks of {split}: {marks.shape} -> {getattr(snakemake.output, split)}")
end_job()
