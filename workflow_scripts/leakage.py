"""Rule leakage: privacy leakage ratio of a representation by the frozen validator V_pl."""

import pandas as pd

from ppfer_core.arrays import identity_labels, load_clips
from ppfer_core.evaluation import privacy_leakage
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, write_json
from ppfer_core.training import load_weights

job = Job.from_snakemake(snakemake)
index = pd.read_parquet(snakemake.input.index)
y, actors = identity_labels(index, "test")
validator = load_weights(
    create_model("image", snakemake.params.model["arch"], num_classes=len(actors)), snakemake.input.validator
)
m = privacy_leakage(
    validator, load_clips(snakemake.input.test), y, len(actors), snakemake.params.seed, job.device
)
job.log(
    f"{snakemake.wildcards.rep}: PLR {m['plr']:.2f}% ({m['correct']}/{m['n']}), chance {m['chance']:.2f}%"
)
write_json(snakemake.output.metrics, {"rep": snakemake.wildcards.rep, **m})
