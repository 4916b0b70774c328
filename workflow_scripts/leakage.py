"""Rule leakage: privacy leakage ratio of a representation, read by the independent validator (the
paper's PLR column) and by V_pl (beside it), in one job (ppfer_core.evaluation.score_leakage)."""

import pandas as pd

from ppfer_core.arrays import identity_labels, load_clips
from ppfer_core.evaluation import LeakageScorers, score_leakage
from ppfer_core.runtime import Job, write_json

job = Job.from_snakemake(snakemake)
p, inp = snakemake.params, snakemake.input
index = pd.read_parquet(inp.index)
y, actors = identity_labels(index, "test")
scorers = LeakageScorers.load((p.validator_model, inp.validator), (p.vpl_model, inp.vpl), len(actors))
m = score_leakage(scorers, load_clips(inp.test), y, len(actors), p.seed, job.device)
job.log(
    f"{snakemake.wildcards.rep}: PLR {m['plr']:.2f}% ({m['correct']}/{m['n']}) by the independent validator, "
    f"{m['vpl']['plr']:.2f}% by V_pl, chance {m['chance']:.2f}%"
)
write_json(snakemake.output.metrics, {"rep": snakemake.wildcards.rep, **m})
