"""Rule generate_corpus: the embedded talking-face corpus in CREMA-D's form (FLV + landmarks)."""

from pathlib import Path

from ppfer_core.runtime import end_job, job_logger
from ppfer_core.synthetic import generate_cremad

log = job_logger(snakemake.log[0])
s = snakemake.params.synthetic
listing = generate_cremad(
    Path(snakemake.output.videos).parent,
    n_actors=s["actors"],
    clips_per_cell=s["clips_per_cell"],
    n_frames=tuple(s["frames"]),
    size=s["size"],
    fps=s["fps"],
    seed=snakemake.params.seed,
)
log(f"wrote {len(listing)} clips of {listing['actor'].nunique()} actors to {snakemake.output.videos}")
end_job()
