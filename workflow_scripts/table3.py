"""Rule table3: the paper's Table 3 (threat model) as CSV; rows and their representations as in Table 1."""

from pathlib import Path

import pandas as pd

from ppfer_core.runtime import end_job, job_logger, read_json
from ppfer_core.suite import append_suite_columns, read_suite, suite_actors
from ppfer_core.tables import add_interval_columns, table3

log = job_logger(snakemake.log[0])


def by_rep(files):
    return {Path(f).stem: read_json(f) for f in files}


actors = suite_actors(snakemake.input)  # the test clips' actors: the intervals' clusters
suite = read_suite(dict(snakemake.input.items()))  # the attack suite's metric files by kind
t3 = table3(
    snakemake.params.rows,
    pd.read_csv(snakemake.input.table1, keep_default_na=False, na_values=[""]),
    by_rep(snakemake.input.recovery),
    by_rep(snakemake.input.leakage),
    suite["adaptive"],
)
recovered = by_rep(snakemake.input.leakage)
rec = [recovered[f"recovered-{rep}"] for rep in t3["representation"]]
t3 = add_interval_columns(t3, "plr", rec, actors)  # 95 %, bootstrap over the test actors
t3 = add_interval_columns(t3, "plr_vpl", [r["vpl"] for r in rec], actors)
t3 = append_suite_columns(t3, suite, actors)
t3.to_csv(snakemake.output.table3, index=False)
log("\n" + t3.to_string(index=False))
end_job()
