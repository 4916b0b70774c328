"""Rule bottleneck_sweep (issue 27): "Ours (bottleneck)" at every basis size k of bottleneck.sweep, its ACC
against its worst-case PLR over the attack suite and the code attackers: results/tables/bottleneck_sweep.csv
and its figure (with "Ours (robust)"'s sweep on the same axes when the run has it)."""

from pathlib import Path

import pandas as pd

from ppfer_core.runtime import end_job, job_logger, read_json
from ppfer_core.suite import read_suite, suite_actors
from ppfer_core.sweep import bottleneck_sweep_table, plot_bottleneck_sweep

log = job_logger(snakemake.log[0])
inp = snakemake.input
utility = {Path(f).stem: read_json(f) for f in inp.utility}
table = bottleneck_sweep_table(
    snakemake.params.points, utility, read_suite(dict(inp.items())), suite_actors(inp)
)
table.to_csv(snakemake.output.table, index=False)
robust = pd.read_csv(inp.robust) if len(inp.robust) else None
chance = read_json(inp.frames[0])["validator"]["chance"]
plot_bottleneck_sweep(table, snakemake.output.figure, chance, robust)
log("\n" + table.to_string(index=False))
end_job()
