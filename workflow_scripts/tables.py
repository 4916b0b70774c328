"""Rule tables: the paper's Tables 1 and 2 as CSV from the metric files, and the paired tests of the
rows the README compares (McNemar over the same test clips)."""

from pathlib import Path

import pandas as pd

from ppfer_core.runtime import end_job, job_logger, read_json
from ppfer_core.suite import append_suite_columns, read_suite, worst_hits
from ppfer_core.tables import (
    Scored,
    acc_chance,
    add_interval_columns,
    add_plr_acc_intervals,
    paired_tests,
    table1,
    table2,
    test_actors,
)

log = job_logger(snakemake.log[0])
params = snakemake.params
leakage = {Path(f).stem: read_json(f) for f in snakemake.input.leakage}
utility = {Path(f).stem: read_json(f) for f in snakemake.input.utility}
index = pd.read_parquet(snakemake.input.suite_index)  # with the suite's metric files
actors = test_actors(index)  # the clusters of the intervals, in the hits' order
suite = read_suite(dict(snakemake.input.items()))  # the attack suite's metric files by kind
# Table 1's blur rows as the checkpoint blur_match picked them from the sweep (validation figures only)
match = read_json(snakemake.input.match)
rows, settings = [tuple(r) for r in match["rows"]], match["settings"]
t1 = table1(rows, leakage, utility, settings)
after_chance = list(t1.columns).index("chance") + 1
t1.insert(after_chance, "acc_chance", acc_chance(index))
adaptive = suite["adaptive"]
t1.insert(after_chance, "plr_adaptive", [round(adaptive[rep]["plr"], 3) for rep in t1["representation"]])
# issues 14 and 26: every attacker's PLR, plr_worst (attacker chosen on validation, scored on test)
t1 = append_suite_columns(t1, suite, actors)
components = {
    "identity_classifier_acc": read_json(snakemake.input.identity)["test_acc"],  # V_pl
    "validator_acc": read_json(snakemake.input.validator)["test_acc"],  # the independent validator
}
for f in snakemake.input.controllers:
    components[f"{Path(f).stem}_acc"] = read_json(f)["test_acc"]
components["expression_controller_acc"] = read_json(snakemake.input.expression)["main_test_acc"]
for k, v in components.items():
    t1[k] = round(v, 3)
t1 = add_plr_acc_intervals(t1, leakage, utility, actors)  # 95 %, bootstrap over the test actors
t1.to_csv(snakemake.output.table1, index=False)
t2 = table2(params.table2, utility)
t2.insert(len(t2.columns), "acc_chance", acc_chance(index))
t2 = add_interval_columns(t2, "Avg", [utility[rep] for _, rep in params.table2], actors)
t2.to_csv(snakemake.output.table2, index=False)
scored = {"acc": {}, "plr": {}, "plr_vpl": {}, "plr_worst": {}}
for approach, rep in zip(t1["approach"], t1["representation"]):
    scored["acc"][approach] = Scored(approach, utility[rep]["hits"], "F_u")
    scored["plr"][approach] = Scored(approach, leakage[rep]["hits"], "validator")
    scored["plr_vpl"][approach] = Scored(approach, leakage[rep]["vpl"]["hits"], "V_pl")
    attacker, hits = worst_hits(rep, suite)
    scored["plr_worst"][approach] = Scored(approach, hits, attacker)
paired = paired_tests(params.paired["reference"], params.paired["with"], scored)
paired.to_csv(snakemake.output.paired_tests, index=False)
log("\n" + t1.to_string(index=False) + "\n" + paired.to_string(index=False))
end_job()
