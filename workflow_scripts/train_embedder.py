"""Rule train_embedder: a label-free identity embedder from video priors (two frames of one clip
are positives, the batch's other clips negatives; NT-Xent) on one corpus' train clips. With
``negatives: same_emotion`` only clips of the same emotion are contrasted (the open split's
label-free index gives the emotions); identities are neither needed nor available here."""

import numpy as np
import pandas as pd

from ppfer_core.arrays import emotion_labels, load_clips
from ppfer_core.openset import VideoPairDataset, video_prior_loss
from ppfer_core.runtime import Job, write_json
from ppfer_core.tradeoff import build_privacy_encoder
from ppfer_core.training import Player, fit, save_weights

job = Job.from_snakemake(snakemake)
p, s = snakemake.params, job.train_settings()
clips = load_clips(snakemake.input.train)
grouped = p.negatives == "same_emotion"
groups = emotion_labels(pd.read_parquet(snakemake.input.index), "train") if grouped else None
embedder = build_privacy_encoder(p.embedder["arch"], p.embedder["dim"]).to(job.device)
opt = s.make_optimizer(embedder.parameters())
seen: list[np.ndarray] = []
with job.resumable(snakemake.output.model) as state:
    player = Player(
        "prior",
        [embedder],
        opt,
        video_prior_loss(embedder, p.embedder["temperature"], p.embedder["augment"], seen, grouped),
    )
    result = fit(
        [player],
        VideoPairDataset(clips, groups),
        s,
        job.run(f"embedder_{snakemake.wildcards.corpus}", state),
        {"train": s.config(), "embedder": p.embedder, "negatives": p.negatives},
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
        "negatives": p.negatives,
        "batches_recorded": len(seen),
        "resumed_from": result.resumed_from,
    },
)
