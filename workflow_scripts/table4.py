"""Rule table4: the ablation study (paper Table 4) from the evaluation metrics of each task's representation."""

from pathlib import Path

import pandas as pd

from ppfer_core.runtime import job_logger, read_json
from ppfer_core.tables import acc_chance, add_plr_acc_intervals, add_task_column, table4, test_actors

log = job_logger(snakemake.log[0])
leakage = {Path(f).stem: read_json(f) for f in snakemake.input.leakage}
utility = {Path(f).stem: read_json(f) for f in snakemake.input.utility}
index = pd.read_parquet(snakemake.input.index)
t4 = table4(snakemake.params.tasks, leakage, utility)
t4.insert(list(t4.columns).index("acc") + 1, "acc_chance", acc_chance(index))
t4 = add_plr_acc_intervals(t4, leakage, utility, test_actors(index))  # 95 %, bootstrap over test actors
t4 = add_task_column(t4, snakemake.params.tasks, "mse_target")  # task 4's two readings
t4.to_csv(snakemake.output.table, index=False)
log("\n" + t4.to_string(index=False))
