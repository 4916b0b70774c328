"""Rule fed_estimate_codes (issue 27, Table 6): the federated code estimator applied to every split
(what each site does with its own clips): the per-frame estimates and the relative codes on the
federated basis. No landmark and no label is read."""

import numpy as np

from ppfer_core.arrays import load_clips
from ppfer_core.bottleneck import ExpressionBasis, load_estimator, predict_codes, relative_codes
from ppfer_core.npyfiles import npy_output
from ppfer_core.runtime import Job

job = Job.from_snakemake(snakemake)
basis = ExpressionBasis.load(snakemake.input.basis)
net = load_estimator(snakemake.input.model)
if net.k != basis.settings.k:
    raise ValueError(
        f"{snakemake.input.model}: k = {net.k}, but {snakemake.input.basis} has k = {basis.settings.k}"
    )
for split in ("train", "test"):
    clips = load_clips(getattr(snakemake.input, split))
    estimates = predict_codes(net, clips)
    codes = relative_codes(estimates, basis)
    for path, arr in (
        (getattr(snakemake.output, f"estimates_{split}"), estimates),
        (getattr(snakemake.output, split), codes),
    ):
        with npy_output(path, arr.shape, np.float32) as out:
            out[:] = arr
    job.log(f"codes of {split}: {clips.shape[0]} clips -> {getattr(snakemake.output, split)}")
