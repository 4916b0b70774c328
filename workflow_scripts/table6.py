"""Rule table6: federated vs centralised ACC of F_u per representation, as CSV: intervals clustered by
actor and McNemar's test of the two over the same test clips (from the metric files' per-clip hits)."""

from pathlib import Path

import pandas as pd

from ppfer_core.federated.table6 import table6
from ppfer_core.runtime import end_job, job_logger, read_json
from ppfer_core.tables import acc_chance, test_actors

log = job_logger(snakemake.log[0])
index = pd.read_parquet(snakemake.input.index)
central = {Path(f).stem: read_json(f) for f in snakemake.input.utility}
federated = {s: {} for s in snakemake.params.strategies}
for f in snakemake.input.federated:
    federated[Path(f).parent.name][Path(f).stem] = read_json(f)
t6 = table6(snakemake.params.rows, central, federated, test_actors(index))  # actors in the hits' order
t6.insert(list(t6.columns).index("acc_central_hi") + 1, "acc_chance", acc_chance(index))
t6.to_csv(snakemake.output.table6, index=False)
log("\n" + t6.to_string(index=False))
end_job()
