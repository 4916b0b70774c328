"""Rule openset_closed_corpus: the open-train actors' clips (their closed train and test clips, with
the ingest index's columns, actors included) on which "Ours (closed-set training)" trains its
identity-supervised models (V_pl, C_lpr / C_hpr, F_lpr / F_hpr) and F_fc; no clip of an unseen actor."""

import pandas as pd

from ppfer_core.arrays import load_clips, npy_output
from ppfer_core.openset import closed_training_index
from ppfer_core.runtime import end_job, job_logger

log = job_logger(snakemake.log[0])
index = closed_training_index(
    pd.read_parquet(snakemake.input.index), pd.read_parquet(snakemake.input.identities)
)
for name in ("train", "test"):
    source = load_clips(snakemake.input[name])
    rows = index[index["split"] == name].sort_values("row")["source_row"].to_numpy()
    with npy_output(snakemake.output[name], (len(rows), *source.shape[1:])) as out:
        out[:] = source[rows]
    log(f"{name}: {len(rows)} clips of actors {sorted(index[index['split'] == name]['actor'].unique())}")
index.to_parquet(snakemake.output.index, index=False)
end_job()
