"""Rule train_open_enhancers: label-free identity suppression. F_lpr / F_hpr (the paper's U-Nets on
the wavelet bands) start from an L1 identity-map warm-up on the open-set train frames, then are
trained against the frozen video-prior embedder so that it can no longer tell which frames come
from the same clip (L1 anchor to the input; with ``negatives: same_emotion`` only among clips of
the same emotion; ``select``: the choice made on validation, rule select_negatives); writes
G_open = their output for both splits."""

import pandas as pd
import torch

from ppfer_core.arrays import emotion_labels, load_clips, write_representation
from ppfer_core.enhancer import enhance_frames
from ppfer_core.open_training import EnhancerSettings, groups_for, resolve_negatives, train_open_enhancers
from ppfer_core.openset import VideoPairDataset
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, read_json, write_json
from ppfer_core.tradeoff import build_privacy_encoder
from ppfer_core.training import freeze, load_weights, save_weights, train_dtype

job = Job.from_snakemake(snakemake)
p, inp, device = snakemake.params, snakemake.input, job.device
train_clips, test_clips = load_clips(inp.train), load_clips(inp.test)
nets = [create_model("unet", "unet", settings=p.unet).to(device) for _ in range(2)]
embedder = freeze(
    load_weights(build_privacy_encoder(p.embedder["arch"], p.embedder["dim"]), inp.embedder).to(device)
)
negatives = resolve_negatives(p.negatives, read_json(inp.selection) if inp.selection else None)
data = VideoPairDataset(
    train_clips, groups_for(negatives, emotion_labels(pd.read_parquet(inp.index), "train"))
)
settings = EnhancerSettings(
    p.unet, p.wavelet, p.embedder, p.l1_weight, job.train_settings("warmup"), job.train_settings(), negatives
)
with (
    job.resumable(f"{snakemake.output.low}.warmup") as warmup,
    job.resumable(f"{snakemake.output.low}.suppression") as suppression,
):
    states = {"warmup": warmup, "suppression": suppression}
    history = train_open_enhancers(
        nets, embedder, data, settings, lambda phase: job.run(f"open_enhancers_{phase}", states[phase])
    )
    save_weights(nets[0], snakemake.output.low)
    save_weights(nets[1], snakemake.output.high)
for n in nets:
    n.eval()
name, level = p.wavelet["name"], p.wavelet["level"]
with torch.no_grad():
    write_representation(
        lambda x: enhance_frames(x, *nets, name, level),
        device,
        [train_clips, test_clips],
        [snakemake.output.train, snakemake.output.test],
    )
write_json(
    snakemake.output.metrics,
    {
        "history": history,
        "train_dtype": train_dtype(device, job.cpu_dtype or torch.float32),
        "l1_weight": p.l1_weight,
        "negatives": negatives,
    },
)
end_job()
