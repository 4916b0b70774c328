"""Rule train_landmarks (issue 27): the landmark regressor, trained on the train split's frames
against the generator's 68 landmarks, then applied to every split (no test landmark is read)."""

import numpy as np

from ppfer_core.arrays import load_clips
from ppfer_core.bottleneck import BottleneckSettings, predict_landmarks, save_regressor, train_regressor
from ppfer_core.npyfiles import npy_output
from ppfer_core.runtime import Job

job = Job.from_snakemake(snakemake)
settings = BottleneckSettings.from_config(job.params.bottleneck)
train = load_clips(snakemake.input.train)
truth = np.load(job.params.train_landmarks)
if truth.shape[:2] != train.shape[:2]:
    raise ValueError(
        f"{job.params.train_landmarks}: shape {truth.shape} does not match the clips {train.shape}"
    )
with job.resumable(snakemake.output.model) as state:
    net, _ = train_regressor(np.asarray(train), truth, settings.regressor, job.run("landmarks", state))
    save_regressor(net, snakemake.output.model)
for split, path in (("train", snakemake.output.train), ("test", snakemake.output.test)):
    clips = load_clips(getattr(snakemake.input, split))
    with npy_output(path, (*clips.shape[:2], 68, 2), np.float32) as out:
        out[:] = predict_landmarks(net, clips)
    job.log(f"estimated landmarks of {split}: {clips.shape[0]} clips -> {path}")
