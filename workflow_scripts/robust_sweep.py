"""Rule robust_sweep (issue 14): "Ours (robust)" at every L1 anchor weight of robust.sweep, its ACC
against its worst-case PLR over the attack suite: results/tables/robust_sweep.csv and its figure."""

from pathlib import Path

from ppfer_core.runtime import job_logger, read_json
from ppfer_core.suite import read_suite
from ppfer_core.sweep import plot_robust_sweep, robust_sweep_table

log = job_logger(snakemake.log[0])
inp = snakemake.input
utility = {Path(f).stem: read_json(f) for f in inp.utility}
table = robust_sweep_table(snakemake.params.l1_weights, utility, read_suite(dict(inp.items())))
table.to_csv(snakemake.output.table, index=False)
chance = read_json(inp.frames[0])["validator"]["chance"]
plot_robust_sweep(table, snakemake.output.figure, chance)
log("\n" + table.to_string(index=False))
