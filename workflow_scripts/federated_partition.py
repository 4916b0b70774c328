"""Rule federated_partition: the train split's actors dealt to sites; the per-site summary is logged."""

import pandas as pd

from ppfer_core.federated.partition import partition_by_actor, site_summary
from ppfer_core.runtime import end_job, job_logger

log = job_logger(snakemake.log[0])
index = pd.read_parquet(snakemake.input.index)
partition = partition_by_actor(index, int(snakemake.params.sites), int(snakemake.params.seed))
summary = site_summary(index, partition)
log("sites (actors, train/test clips per emotion):\n" + summary.to_string(index=False))
partition.to_parquet(snakemake.output.partition, index=False)
summary.to_csv(snakemake.output.sites, index=False)
end_job()
