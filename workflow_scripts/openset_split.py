"""Rule openset_split: the identity-disjoint split of the ingested CREMA-D-form clips (unseen test
actors, stratified by emotion, seeded): label-free index, evaluation-only identities, clip arrays, and,
when the corpus has them, the open-TRAIN clips' generator landmarks beside the clips (as ingest does)."""

import pandas as pd

from ppfer_core.arrays import load_clips, npy_output
from ppfer_core.openset import copy_rows, copy_train_landmarks, identity_disjoint_split, open_indexes
from ppfer_core.runtime import end_job, job_logger, write_json

log = job_logger(snakemake.log[0])
p = snakemake.params
index = pd.read_parquet(snakemake.input.index)
split = identity_disjoint_split(index, p.test_actors, p.seed)
labels, identities = open_indexes(index, split)
sources = {name: load_clips(snakemake.input[name]) for name in ("train", "test")}
for name in ("train", "test"):
    n = int((labels["split"] == name).sum())
    with npy_output(snakemake.output[name], (n, *sources["train"].shape[1:])) as out:
        copy_rows(sources, identities, name, out)
    counts = labels[labels["split"] == name]["emotion"].value_counts().sort_index().to_dict()
    log(
        f"open-set {name}: {n} clips of {identities[identities['split'] == name]['actor'].nunique()} actors, emotions {counts}"
    )
marks = copy_train_landmarks(dict(p.landmarks), identities, p.train_landmarks)
log(f"open-train landmarks: {marks} -> {p.train_landmarks}" if marks else "no corpus landmarks")
labels.to_parquet(snakemake.output.index, index=False)
identities.to_parquet(snakemake.output.identities, index=False)
summary = {
    "test_actors": list(split.test_actors),
    "emotion_gap": split.emotion_gap,
    "seed": p.seed,
    "n_train": int((labels["split"] == "train").sum()),
    "n_test": int((labels["split"] == "test").sum()),
}
write_json(snakemake.output.summary, summary)
log(
    f"unseen test actors {list(split.test_actors)} (emotion distribution L1 gap {split.emotion_gap:.4f}); "
    f"index columns {list(labels.columns)}"
)
end_job()
