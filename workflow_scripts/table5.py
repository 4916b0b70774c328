"""Rule table5: the open-set table (falsification-based privacy figures under the video prior, V_pl's
features and the retrained open-set attacker, and open-set ACC per representation) and the check of
the open-set goals under every one of those recognisers, from the metric files."""

from pathlib import Path

import pandas as pd

from ppfer_core.runtime import end_job, job_logger, read_json, write_json
from ppfer_core.tables import RETRAINED, open_set_goals, table5

log = job_logger(snakemake.log[0])
inp = snakemake.input
falsification = {Path(f).stem: read_json(f) for f in inp.falsification}
for f in inp.retrained:  # the retrained open-set attacker's figures join the fixed recognisers'
    falsification[Path(f).stem][RETRAINED] = read_json(f)
utility = {Path(f).stem: read_json(f) for f in inp.utility}
t5 = table5(
    snakemake.params.rows,
    falsification,
    utility,
    pd.read_parquet(inp.index),
    pd.read_parquet(inp.identities),  # evaluation only: the actors that cluster ACC's interval
)
t5.to_csv(snakemake.output.table, index=False)
audit = read_json(inp.audit)
goals = open_set_goals(t5, snakemake.params.method, snakemake.params.reference)
recognisers = ["video_prior", "vpl", RETRAINED]
write_json(snakemake.output.goals, {"goals": goals, "recognisers": recognisers, "video_prior_audit": audit})
log("\n" + t5.to_string(index=False))
log(
    f"goals of {snakemake.params.method} under {recognisers}: {goals}; "
    f"video prior same-actor negatives {100 * audit['observed_rate']:.2f} %"
)
end_job()
