"""Rule table5: the open-set table (falsification-based privacy figures and open-set ACC per
representation) and the check of the open-set goals, from the metric files."""

from pathlib import Path

import pandas as pd

from ppfer_core.runtime import job_logger, read_json, write_json
from ppfer_core.tables import open_set_goals, table5

log = job_logger(snakemake.log[0])
falsification = {Path(f).stem: read_json(f) for f in snakemake.input.falsification}
utility = {Path(f).stem: read_json(f) for f in snakemake.input.utility}
inp = snakemake.input
t5 = table5(
    snakemake.params.rows,
    falsification,
    utility,
    pd.read_parquet(inp.index),
    pd.read_parquet(inp.identities),  # evaluation only: the actors that cluster ACC's interval
)
t5.to_csv(snakemake.output.table, index=False)
audit = read_json(snakemake.input.audit)
goals = open_set_goals(t5, snakemake.params.method, snakemake.params.reference)
write_json(snakemake.output.goals, {"goals": goals, "video_prior_audit": audit})
log("\n" + t5.to_string(index=False))
log(
    f"goals of {snakemake.params.method}: {goals}; video prior same-actor negatives {100 * audit['observed_rate']:.2f} %"
)
