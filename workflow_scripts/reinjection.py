"""Rule reinjection (issue 26): whether F_fc re-injects identity -- plr_worst of each Table 1 method's
enhanced frames before F_fc and of its output, with McNemar's test over the same test clips."""

from ppfer_core.design import Reinjection
from ppfer_core.runtime import end_job, job_logger
from ppfer_core.suite import read_suite, reinjection_table, suite_actors

log = job_logger(snakemake.log[0])
pairs = [Reinjection(**p) for p in snakemake.params.pairs]
suite = read_suite(dict(snakemake.input.items()))  # the attack suite's metric files by kind
table = reinjection_table(pairs, suite, suite_actors(snakemake.input))
table.to_csv(snakemake.output.table, index=False)
log("\n" + table.to_string(index=False))
end_job()
