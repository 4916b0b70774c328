"""Rule robust_sweep (issues 14, 29): "Ours (robust)" at every point of robust.sweep (the L1 anchor, the
adversary steps per enhancer step, the ensemble size; one factor at a time), its ACC against its
worst-case PLR over the attack suite: results/tables/robust_sweep.csv and its figure."""

from pathlib import Path

from ppfer_core.runtime import job_logger, read_json
from ppfer_core.suite import read_suite, suite_actors
from ppfer_core.sweep import plot_robust_sweep, robust_sweep_table

log = job_logger(snakemake.log[0])
inp = snakemake.input
points = snakemake.params.points  # representation -> {l1_weight, steps, scratch} of its training
utility = {Path(f).stem: read_json(f) for f in inp.utility}
table = robust_sweep_table(points, utility, read_suite(dict(inp.items())), suite_actors(inp))
table.to_csv(snakemake.output.table, index=False)
chance = read_json(inp.frames[0])["validator"]["chance"]
plot_robust_sweep(table, snakemake.output.figure, chance)
log("\n" + table.to_string(index=False))
