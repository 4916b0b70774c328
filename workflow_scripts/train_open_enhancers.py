"""Rule train_open_enhancers: label-free identity suppression. F_lpr / F_hpr (the paper's U-Nets on
the wavelet bands) start from an L1 identity-map warm-up on the open-set train frames, then are
trained against the frozen video-prior embedder so that it can no longer tell which frames come
from the same clip (L1 anchor to the input; with ``negatives: same_emotion`` only among clips of
the same emotion); writes G_open = their output for both splits."""

import pandas as pd
import torch

from ppfer_core.arrays import emotion_labels, load_clips, write_representation
from ppfer_core.enhancer import enhance_frames
from ppfer_core.openset import VideoPairDataset, l1_band_loss, suppression_loss
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, write_json
from ppfer_core.tradeoff import build_privacy_encoder
from ppfer_core.training import Player, fit, freeze, load_weights, save_weights

job = Job.from_snakemake(snakemake)
p, device = snakemake.params, job.device
train_clips, test_clips = load_clips(snakemake.input.train), load_clips(snakemake.input.test)
nets = [create_model("unet", "unet", settings=p.unet).to(device) for _ in range(2)]
embedder = freeze(
    load_weights(build_privacy_encoder(p.embedder["arch"], p.embedder["dim"]), snakemake.input.embedder).to(
        device
    )
)
name, level = p.wavelet["name"], p.wavelet["level"]
grouped = p.negatives == "same_emotion"
groups = emotion_labels(pd.read_parquet(snakemake.input.index), "train") if grouped else None
data = VideoPairDataset(train_clips, groups)
history = {}
with (
    job.resumable(f"{snakemake.output.low}.warmup") as warmup,
    job.resumable(f"{snakemake.output.low}.suppression") as suppression,
):
    for phase, settings, loss, state in (
        ("warmup", job.train_settings("warmup"), l1_band_loss(*nets, name, level), warmup),
        (
            "suppression",
            job.train_settings(),
            suppression_loss(*nets, embedder, name, level, p.embedder["temperature"], p.l1_weight, grouped),
            suppression,
        ),
    ):
        opt = settings.make_optimizer([q for n in nets for q in n.parameters()])
        result = fit(
            [Player(phase, nets, opt, loss)],
            data,
            settings,
            job.run(f"open_enhancers_{phase}", state),
            {
                "train": settings.config(),
                "unet": p.unet,
                "l1": p.l1_weight,
                "phase": phase,
                "negatives": p.negatives,
            },
        )
        history[phase] = result.history
    save_weights(nets[0], snakemake.output.low)
    save_weights(nets[1], snakemake.output.high)
for n in nets:
    n.eval()
with torch.no_grad():
    write_representation(
        lambda x: enhance_frames(x, *nets, name, level),
        device,
        [train_clips, test_clips],
        [snakemake.output.train, snakemake.output.test],
    )
write_json(
    snakemake.output.metrics,
    {"history": history, "train_dtype": result.dtype, "l1_weight": p.l1_weight, "negatives": p.negatives},
)
