"""Rule train_embedder: a label-free identity embedder from video priors (two frames of one clip
are positives, the batch's other clips negatives; NT-Xent) on one corpus' train clips. Reads no
index: identities are neither needed nor available here."""
import numpy as np

from ppfer_core.arrays import load_clips
from ppfer_core.openset import VideoPairDataset, video_prior_loss
from ppfer_core.runtime import job_seed, setup_job, state_path, write_json
from ppfer_core.tradeoff import build_privacy_encoder
from ppfer_core.training import Player, finish, make_loader, optimizer, save_weights, train

log, device = setup_job(snakemake)
p = snakemake.params
clips = load_clips(snakemake.input.train)
embedder = build_privacy_encoder(p.embedder["arch"], p.embedder["dim"]).to(device)
opt = optimizer(embedder.parameters(), p.train["optimizer"], p.train["lr"])
seen: list[np.ndarray] = []
state = state_path(snakemake.output.model)
result = train(
    [Player("prior", [embedder], opt, video_prior_loss(embedder, p.embedder["temperature"], p.embedder["augment"], seen))],
    make_loader(VideoPairDataset(clips), p.train["batch_size"], True, job_seed(snakemake), device,
                snakemake.config["workers"], p.train.get("items_per_epoch")),
    p.train["epochs"], device, job_seed(snakemake), state, {"train": p.train, "embedder": p.embedder},
    log=log, desc=f"embedder_{snakemake.wildcards.corpus}",
)
save_weights(embedder, snakemake.output.model)
finish(state)
width = max((len(b) for b in seen), default=0)
batches = np.full((len(seen), width), -1, dtype=np.int64)
for i, b in enumerate(seen):
    batches[i, : len(b)] = b
np.save(snakemake.output.batches, batches)
log(f"{len(seen)} batches of clip rows recorded (resumed from epoch {result.resumed_from})")
write_json(snakemake.output.metrics, {"history": result.history, "clips": int(len(clips)),
                                      "batches_recorded": len(seen), "resumed_from": result.resumed_from})
