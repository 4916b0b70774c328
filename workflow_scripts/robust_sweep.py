"""Rule robust_sweep (issues 14, 29): "Ours (robust)" at every point of robust.sweep (the L1 anchor, the
adversary steps per enhancer step, the ensemble size, the members' aggregate; one factor at a time), its
ACC against its worst-case PLR over the attack suite: results/tables/robust_sweep.csv and its figure, with
Ours (bottleneck) beside it (both sweeps' frontiers on one figure: rule bottleneck_sweep's)."""

from pathlib import Path

from ppfer_core.runtime import end_job, job_logger, read_json
from ppfer_core.suite import read_suite, suite_actors
from ppfer_core.sweep import plot_robust_sweep, reference_points, robust_sweep_table

log = job_logger(snakemake.log[0])
inp = snakemake.input
points = snakemake.params.points  # representation -> {l1_weight, steps, scratch, aggregate} of its training
utility = {Path(f).stem: read_json(f) for f in inp.utility}
suite, actors = read_suite(dict(inp.items())), suite_actors(inp)
table = robust_sweep_table(points, utility, suite, actors)
references = reference_points(snakemake.params.reference, utility, suite, actors)
table.to_csv(snakemake.output.table, index=False)
chance = read_json(inp.frames[0])["validator"]["chance"]
plot_robust_sweep(table, snakemake.output.figure, chance, references=references)
log("\n" + table.to_string(index=False) + "\nbeside it:\n" + references.to_string(index=False))
end_job()
