"""Rule openset_apply_closed: the paper's method as trained closed-set (F_lpr, F_hpr against the
identity controllers, then F_fc) applied to the clips of the open split ("Ours (closed-set training)"),
through the same privacy pipeline as the DAG's G and the anonymiser (ppfer_core.pipeline)."""

from ppfer_core.arrays import load_clips
from ppfer_core.pipeline import PrivacyPipeline
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
p = snakemake.params
sources = [load_clips(snakemake.input.train), load_clips(snakemake.input.test)]
pipeline = PrivacyPipeline.from_files(
    p.unet,
    snakemake.input.low,
    snakemake.input.high,
    p.wavelet,
    sources[0].shape[2:4],
    compensator=(p.uvit, snakemake.input.compensator),
    device=job.device,
)
pipeline.write(sources, [snakemake.output.train, snakemake.output.test])
job.log(f"closed-set F_lpr/F_hpr + F_fc applied to the open split: {[s.shape for s in sources]}")
end_job()
