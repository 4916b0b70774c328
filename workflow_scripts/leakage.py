"""Rule leakage: privacy leakage ratio of a representation that the attack suite does not run on (the
attacked ones get theirs from rule attack_suite), read by the independent validator (the paper's PLR
column) and by V_pl (beside it), in one job (ppfer_core.evaluation.leakage_record)."""

import pandas as pd

from ppfer_core.arrays import identity_labels, load_clips
from ppfer_core.evaluation import LeakageScorers, leakage_record
from ppfer_core.runtime import Job, end_job, write_json

job = Job.from_snakemake(snakemake)
p, inp = snakemake.params, snakemake.input
_, actors = identity_labels(pd.read_parquet(inp.index), "test")
scorers = LeakageScorers.load((p.validator_model, inp.validator), (p.vpl_model, inp.vpl), len(actors))
record = leakage_record(job, snakemake.wildcards.rep, scorers, load_clips(inp.test), inp.index, p.seed)
write_json(snakemake.output.metrics, record)
end_job()
