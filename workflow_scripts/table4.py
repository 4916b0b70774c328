"""Rule table4: the ablation study (paper Table 4) from the evaluation metrics of each task's
representation: V_pl's PLR and F_u's ACC, and the attack suite's columns as in Table 1 (plr_worst)."""

from pathlib import Path

import pandas as pd

from ppfer_core.runtime import end_job, job_logger, read_json
from ppfer_core.suite import append_suite_columns, read_suite
from ppfer_core.tables import acc_chance, add_plr_acc_intervals, add_task_column, table4, test_actors

log = job_logger(snakemake.log[0])
leakage = {Path(f).stem: read_json(f) for f in snakemake.input.leakage}
utility = {Path(f).stem: read_json(f) for f in snakemake.input.utility}
index = pd.read_parquet(snakemake.input.suite_index)  # with the suite's metric files
actors = test_actors(index)  # the clusters of the intervals, in the hits' order
t4 = table4(snakemake.params.tasks, leakage, utility)
t4.insert(list(t4.columns).index("acc") + 1, "acc_chance", acc_chance(index))
# issue 26: every attacker's PLR, plr_worst (attacker chosen on validation, scored on test), as Table 1
t4 = append_suite_columns(t4, read_suite(dict(snakemake.input.items())), actors)
t4 = add_plr_acc_intervals(t4, leakage, utility, actors)  # 95 %, bootstrap over test actors
t4 = add_task_column(t4, snakemake.params.tasks, "mse_target")  # task 4's MSE target
t4.to_csv(snakemake.output.table, index=False)
log("\n" + t4.to_string(index=False))
end_job()
