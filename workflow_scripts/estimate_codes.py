"""Rule estimate_codes (issue 27): the code estimator, trained on the train split's frames against
the codes of its true landmarks (the basis of rule fit_basis), then applied to every split: the
per-frame estimates (within-clip and expressiveness codes) and the relative codes. No test landmark
and no label is read."""

from ppfer_core.bottleneck import (
    BottleneckSettings,
    ExpressionBasis,
    save_estimator,
    train_code_estimator,
    write_codes,
)
from ppfer_core.bottleneck.landmarks import train_clips_and_landmarks
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
settings = BottleneckSettings.from_config(job.params.bottleneck)
if settings.basis.reference != "relative":
    raise ValueError(
        f"bottleneck.reference {settings.basis.reference!r}: the code estimator gives relative codes only"
    )
basis = ExpressionBasis.load(snakemake.input.basis)
train, truth = train_clips_and_landmarks(snakemake.input.train, snakemake.input.landmarks)
with job.resumable(snakemake.output.model) as state:
    run = job.run("code_estimator", state)
    net, _ = train_code_estimator(train, truth, basis, settings.estimator, run)
    save_estimator(net, snakemake.output.model)
for split in ("train", "test"):
    out, estimates = getattr(snakemake.output, split), getattr(snakemake.output, f"estimates_{split}")
    n = write_codes(net, basis, getattr(snakemake.input, split), estimates, out)
    job.log(f"codes of {split}: {n} clips -> {out}")
end_job()
