"""Rule train_embedder: a label-free identity embedder from video priors (two frames of one clip
are positives, the batch's other clips negatives; NT-Xent) on one corpus' train clips. With
``negatives: same_emotion`` only clips of the same emotion are contrasted (the open split's
label-free index gives the emotions); with ``negatives: select`` the choice made on a validation slice
of the open-train clips (rule select_negatives) is read; identities are neither needed nor available here."""

import numpy as np
import pandas as pd

from ppfer_core.arrays import emotion_labels, load_clips
from ppfer_core.open_training import groups_for, resolve_negatives, train_video_prior
from ppfer_core.runtime import Job, end_job, read_json, write_json
from ppfer_core.training import save_weights

job = Job.from_snakemake(snakemake)
p, s, inp = snakemake.params, job.train_settings(), snakemake.input
clips = load_clips(inp.train)
negatives = resolve_negatives(p.negatives, read_json(inp.selection) if inp.selection else None)
groups = groups_for(negatives, emotion_labels(pd.read_parquet(inp.index), "train") if inp.index else None)
with job.resumable(snakemake.output.model) as state:
    embedder, result, seen = train_video_prior(
        clips, groups, p.embedder, s, job.run(f"embedder_{snakemake.wildcards.corpus}", state), negatives
    )
    save_weights(embedder, snakemake.output.model)
width = max((len(b) for b in seen), default=0)
batches = np.full((len(seen), width), -1, dtype=np.int64)
for i, b in enumerate(seen):
    batches[i, : len(b)] = b
np.save(snakemake.output.batches, batches)
job.log(f"{len(seen)} batches of clip rows recorded (resumed from epoch {result.resumed_from})")
write_json(
    snakemake.output.metrics,
    {
        "history": result.history,
        "train_dtype": result.dtype,
        "clips": int(len(clips)),
        "negatives": negatives,
        "batches_recorded": len(seen),
        "resumed_from": result.resumed_from,
    },
)
end_job()
