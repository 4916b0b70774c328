"""Rule train_tradeoff: the trade-off framework (SPAct-style): an anonymiser U-Net (from the L1
identity-map pretraining) trained by alternating minimax against a self-supervised privacy encoder
and with a video expression model of F_u's R3D family (models.utility, the one video builder) on
whole clips; writes the anonymised clips of both splits."""

import pandas as pd
from torch import nn

from ppfer_core import EMOTIONS
from ppfer_core.arrays import ClipDataset, emotion_labels, load_clips, write_representation
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.tradeoff import anonymiser_loss, build_privacy_encoder, privacy_loss, utility_loss
from ppfer_core.training import Player, fit, optimizer, save_weights

job = Job.from_snakemake(snakemake)
p, device = snakemake.params, job.device
cfg = p.tradeoff
s = job.train_settings("tradeoff")  # epochs, batch_size, lr, items_per_epoch of baselines.tradeoff
index = pd.read_parquet(snakemake.input.index)
clips_train, clips_test = load_clips(snakemake.input.train), load_clips(snakemake.input.test)
anonymiser = create_model("unet", "unet", settings=p.unet, weights=snakemake.input.init)
utility = create_model(
    "video",
    p.utility["arch"],
    num_classes=len(EMOTIONS),
    weights=p.utility["weights"],
    width=p.utility["width"],
)
encoder = build_privacy_encoder(cfg["encoder"])
nets = nn.ModuleDict({"anonymiser": anonymiser, "utility": utility, "encoder": encoder}).to(device)
players = [
    Player(
        "anonymiser",
        [anonymiser],
        optimizer(anonymiser.parameters(), "adam", s.lr),
        anonymiser_loss(anonymiser, utility, encoder, cfg["privacy_weight"], cfg["temperature"]),
    ),
    Player(
        "utility", [utility], optimizer(utility.parameters(), "adam", s.lr), utility_loss(anonymiser, utility)
    ),
    Player(
        "privacy",
        [encoder],
        optimizer(encoder.parameters(), "adam", s.lr),
        privacy_loss(anonymiser, encoder, cfg["temperature"]),
    ),
]
# whole training clips with their expression label (as F_u); items_per_epoch: random clips per epoch
data = ClipDataset(clips_train, emotion_labels(index, "train"))
with job.resumable(snakemake.output.model) as state:
    result = fit(
        players,
        data,
        s,
        job.run("tradeoff", state),
        {"tradeoff": cfg, "unet": p.unet, "utility": p.utility, "n": len(data)},
    )
    save_weights(nets, snakemake.output.model)
anonymiser.eval()
write_representation(
    anonymiser, device, [clips_train, clips_test], [snakemake.output.train, snakemake.output.test]
)
write_json(
    snakemake.output.metrics, {"history": result.history, "train_dtype": result.dtype, "settings": cfg}
)
end_job()
