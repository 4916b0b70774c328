"""Rule report: figures of the run (Figure 1, Table 2's per-class bars, frame grids) and its run time
per rule from the benchmark files of the jobs upstream (all final outputs are this rule's inputs)."""

from pathlib import Path

import numpy as np
import pandas as pd

from ppfer_core.report import (
    frame_grid,
    pick_evenly,
    plot_per_class,
    plot_privacy_utility,
    plot_runtime,
    read_benchmarks,
    runtime_summary,
)
from ppfer_core.runtime import end_job, job_logger

log = job_logger(snakemake.log[0])
inp, out, p = snakemake.input, snakemake.output, snakemake.params
t1 = pd.read_csv(inp.table1)
t3 = pd.read_csv(inp.table3)
plot_privacy_utility(t1, out.figure1)
plot_per_class(pd.read_csv(inp.table2), out.per_class)

# frame grid: the design's frame_grid rows, each other Table 1 row as chosen there, each Table 3 recovery
reps = dict(zip(p.reps, inp.reps))
recovered = dict(zip(p.recovered, inp.recovered))
rows = [(label, reps[rep]) for label, rep in p.frame_grid]
fixed = {rep for _, rep in p.frame_grid}
for approach, rep in zip(t1["approach"], t1["representation"]):
    if rep not in fixed:
        rows.append((f"{approach}\n({rep})", reps[rep]))
for approach, rep in zip(t3["approach"], t3["representation"]):
    rows.append((f"recovered:\n{approach}", recovered[rep]))
rows = [(label, np.load(f, mmap_mode="r")) for label, f in rows]  # numpy only: no torch import in this job
n, t = rows[0][1].shape[:2]
frame_grid(rows, pick_evenly(n, p.clips), pick_evenly(t, p.frames), out.frames)

# run time: every benchmark file of the upstream rules (not this rule's own)
files = sorted(str(f) for f in Path(p.benchmarks).rglob("*.tsv"))
jobs = read_benchmarks(files, p.stages, p.benchmarks)
jobs = jobs[jobs["rule"] != snakemake.rule]
summary = runtime_summary(jobs)
summary.to_csv(out.runtime, index=False)
plot_runtime(summary, out.runtime_plot)
log(f"{len(jobs)} benchmark files, {jobs['s'].sum():.1f} s summed\n" + summary.to_string(index=False))
end_job()
