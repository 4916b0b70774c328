"""Rule table4: the ablation study (paper Table 4) from the evaluation metrics of each task's representation."""

from pathlib import Path

from ppfer_core.runtime import job_logger, read_json
from ppfer_core.tables import add_plr_acc_intervals, add_task_column, table4

log = job_logger(snakemake.log[0])
leakage = {Path(f).stem: read_json(f) for f in snakemake.input.leakage}
utility = {Path(f).stem: read_json(f) for f in snakemake.input.utility}
t4 = add_plr_acc_intervals(table4(snakemake.params.tasks, leakage, utility), leakage, utility)
t4 = add_task_column(t4, snakemake.params.tasks, "mse_target")  # task 4's two readings
t4.to_csv(snakemake.output.table, index=False)
log("\n" + t4.to_string(index=False))
