"""Checkpoint blur_match: Table 1's two blur rows picked from the blur sweep on validation figures only
(ppfer_core.blur_match): Gaussian Blur 1 on baselines.blur.match (default: plr_worst's attacker on the
validation slice of train), Gaussian Blur 2 on F_u's validation ACC. Writes the pick (the resolved
Table 1 rows, each blur row's setting and representation) and the sweep table; the recovery attack
then runs on the two sigmas picked (rules/threat.smk)."""

from pathlib import Path

from ppfer_core.blur_match import BLUR_MATCH_LABELS, blur_match_plr, resolve_table1_rows
from ppfer_core.families import blur_match_reps
from ppfer_core.runtime import end_job, job_logger, read_json, write_json
from ppfer_core.suite import read_suite, worst_on_validation

log = job_logger(snakemake.log[0])
params = snakemake.params
leakage = {Path(f).stem: read_json(f) for f in snakemake.input.leakage}
utility = {Path(f).stem: read_json(f) for f in snakemake.input.utility}
suite = read_suite(dict(snakemake.input.items()))  # the selectable attackers' files: plr_worst's choice
reps = blur_match_reps(params.blur_sweep)
match_plr = blur_match_plr(params.blur_match, reps, leakage, lambda r: worst_on_validation(r, suite))
rows, settings, sweep = resolve_table1_rows(
    params.table1,
    leakage,
    utility,
    params.blur_sweep,
    log=log,
    match_plr=match_plr,
    match_label=BLUR_MATCH_LABELS[params.blur_match],
)
picked = {approach: rep for approach, rep in rows if approach in settings}
log(
    f"Gaussian Blur 1 matched to Ours on {params.blur_match} ({match_plr[reps[0]]:.3f} for Ours); Gaussian Blur 2 "
    f"on F_u's validation ACC ({utility[reps[0]]['val_acc']:.3f} for Ours): {settings}; picked {picked}"
)
sweep.to_csv(snakemake.output.blur_sweep, index=False)
write_json(snakemake.output.match, {"rows": [list(r) for r in rows], "settings": settings, "reps": picked})
end_job()
