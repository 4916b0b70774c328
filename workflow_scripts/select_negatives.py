"""Rule select_negatives (``openset.negatives: select``, issue 26): the video prior's negatives (all, or
same emotion) chosen on a validation slice of every open-train actor's clips, never on test. Each
candidate trains the embedder and the enhancers on the other open-train clips; its enhanced validation
clips are scored (identity linkage under the in-the-wild video prior, expression under C_fc) and
ppfer_core.open_training.choose_negatives picks one. Records the choice and its validation figures."""

import numpy as np
import pandas as pd
import torch

from ppfer_core import EMOTIONS
from ppfer_core.arrays import emotion_labels, load_clips
from ppfer_core.attacks import validation_split
from ppfer_core.falsification import clip_embeddings
from ppfer_core.open_attack import open_train_labels
from ppfer_core.open_training import (
    EnhancerSettings,
    ValidationSlice,
    choose_negatives,
    expression_accuracy,
    groups_for,
    score_candidate,
    train_open_enhancers,
    train_video_prior,
)
from ppfer_core.openset import VideoPairDataset
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.tradeoff import build_privacy_encoder
from ppfer_core.training import TrainSettings, freeze, load_weights

job = Job.from_snakemake(snakemake)
p, inp, device = snakemake.params, snakemake.input, job.device
train = load_clips(inp.train)
labels = open_train_labels(pd.read_parquet(inp.identities), len(train))  # open-train rows only
fit_rows, val_rows = validation_split(labels.ids, p.select["val_fraction"], job.seed)
emotions = emotion_labels(pd.read_parquet(inp.index), "train")
prior = build_privacy_encoder(p.embedder["arch"], p.embedder["dim"])
prior = freeze(load_weights(prior, inp.prior).backbone.to(device))
m = p.expression
controller = create_model("image", m["arch"], num_classes=len(EMOTIONS), width=m.get("width"))
controller = freeze(load_weights(controller, inp.controller).to(device))
fit_clips, val_clips = np.asarray(train[fit_rows]), np.asarray(train[val_rows])
val = ValidationSlice(
    val_clips,
    labels.ids[val_rows],
    emotions[val_rows],
    clip_embeddings(prior, val_clips, device),
    expression_accuracy(controller, val_clips, emotions[val_rows], device),
)
figures = {}
for cand in p.select["candidates"]:
    torch.manual_seed(job.seed)  # every candidate starts from the same initialisation
    groups = groups_for(cand, emotions[fit_rows])
    settings = TrainSettings.from_config(p.train["embedder"])
    embedder, _, _ = train_video_prior(
        fit_clips, groups, p.embedder, settings, job.run(f"select_{cand}_prior"), cand
    )
    nets = [create_model("unet", "unet", settings=p.unet).to(device) for _ in range(2)]
    enhancer = EnhancerSettings(
        p.unet,
        p.wavelet,
        p.embedder,
        p.l1_weight,
        TrainSettings.from_config(p.train["warmup"]),
        TrainSettings.from_config(p.train["enhancer"]),
        cand,
    )
    data = VideoPairDataset(fit_clips, groups)
    train_open_enhancers(
        nets, freeze(embedder), data, enhancer, lambda ph, c=cand: job.run(f"select_{c}_{ph}")
    )
    figures[cand] = score_candidate(nets, p.wavelet, prior, controller, val, job.seed, device)
    job.log(f"negatives {cand}: {figures[cand].as_dict()}")
chosen, why = choose_negatives(figures)
job.log(f"negatives chosen on validation: {chosen} ({why})")
write_json(
    snakemake.output.metrics,
    {
        "chosen": chosen,
        "why": why,
        "validation": {
            "split": "train",
            "clips": len(val_rows),
            "fit_clips": len(fit_rows),
            "actors": list(labels.actors),
        },
        "candidates": {k: f.as_dict() for k, f in figures.items()},
    },
)
end_job()
