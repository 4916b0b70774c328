"""Rule tables: the paper's Tables 1 and 2 as CSV from the metric files."""

from pathlib import Path

from ppfer_core.baselines import resolve_table1_rows
from ppfer_core.runtime import job_logger, read_json
from ppfer_core.suite import append_suite_columns, read_suite
from ppfer_core.tables import add_interval_columns, add_plr_acc_intervals, table1, table2

log = job_logger(snakemake.log[0])
leakage = {Path(f).stem: read_json(f) for f in snakemake.input.leakage}
utility = {Path(f).stem: read_json(f) for f in snakemake.input.utility}
rows, settings, sweep = resolve_table1_rows(
    snakemake.params.table1, leakage, utility, snakemake.params.blur_sweep, log=log
)
sweep.to_csv(snakemake.output.blur_sweep, index=False)
t1 = table1(rows, leakage, utility, settings)
suite = read_suite(dict(snakemake.input.items()))  # the attack suite's metric files by kind
adaptive = suite["adaptive"]
t1.insert(4, "plr_adaptive", [round(adaptive[rep]["plr"], 3) for rep in t1["representation"]])
# issue 14: the attack suite's columns (every attacker's PLR, plr_worst with its interval and attacker)
t1 = append_suite_columns(t1, suite)
components = {"identity_classifier_acc": read_json(snakemake.input.identity)["test_acc"]}
for f in snakemake.input.controllers:
    components[f"{Path(f).stem}_acc"] = read_json(f)["test_acc"]
components["expression_controller_acc"] = read_json(snakemake.input.expression)["main_test_acc"]
for k, v in components.items():
    t1[k] = round(v, 3)
t1 = add_plr_acc_intervals(t1, leakage, utility)  # 95 % Wilson intervals over the test clips
t1.to_csv(snakemake.output.table1, index=False)
t2 = table2(snakemake.params.table2, utility)
t2 = add_interval_columns(t2, "Avg", [utility[rep] for _, rep in snakemake.params.table2], rate="acc")
t2.to_csv(snakemake.output.table2, index=False)
log("\n" + t1.to_string(index=False))
