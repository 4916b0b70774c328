"""Rule leakage: privacy leakage ratio of a representation by the frozen validator V_pl (the
representations that are not attacked; the attacked ones get theirs from rule attack_suite)."""

from ppfer_core.arrays import load_clips
from ppfer_core.evaluation import leakage_record
from ppfer_core.runtime import Job, write_json

job = Job.from_snakemake(snakemake)
p, inp = snakemake.params, snakemake.input
record = leakage_record(
    job, snakemake.wildcards.rep, inp.validator, p.model, load_clips(inp.test), inp.index, p.seed
)
write_json(snakemake.output.metrics, record)
