"""Rule generate_wild_corpus: the in-the-wild expression corpus in DFEW's layout (unseen identities)."""

from pathlib import Path

from ppfer_core.runtime import end_job, job_logger
from ppfer_core.synthetic import generate_dfew

log = job_logger(snakemake.log[0])
s = snakemake.params.synthetic
listing = generate_dfew(
    Path(snakemake.output.clips).parent,
    n_actors=s["wild_actors"],
    clips_per_class=s["wild_clips_per_class"],
    n_frames=tuple(s["frames"]),
    size=s["size"],
    seed=snakemake.params.seed + 7919,
    first_actor=5001,
)
log(f"wrote {len(listing)} in-the-wild clips to {Path(snakemake.output.clips).parent}")
end_job()
