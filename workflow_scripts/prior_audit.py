"""Rule openset_prior_audit (evaluation only): how often a "negative" pair of the video prior was in
fact the same actor, from the clip rows of the embedder's batches and the identity table."""

import numpy as np
import pandas as pd

from ppfer_core.openset import negative_pair_audit
from ppfer_core.runtime import end_job, job_logger, write_json

log = job_logger(snakemake.log[0])
ids = pd.read_parquet(snakemake.input.identities)
actors = ids[ids["split"] == "train"].sort_values("row")["actor"].astype(str).to_numpy()
raw = np.load(snakemake.input.batches)
audit = negative_pair_audit([row[row >= 0] for row in raw], actors)
log(
    f"video prior: {audit['same_actor_negatives']} of {audit['negative_pairs']} negative pairs "
    f"({100 * audit['observed_rate']:.2f} %) were the same actor; random batches: {100 * audit['expected_rate']:.2f} %"
)
write_json(snakemake.output.metrics, audit)
end_job()
