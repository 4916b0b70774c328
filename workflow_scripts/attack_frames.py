"""Rule attack_frames (the attack suite, beyond the paper): on one representation, V_pl scored on one
random frame per test clip and by voting over all its frames (also on the recovery attack's output,
where there is one), and a plain 4-layer CNN trained from scratch on the representation's train
frames (flip / shift augmentation, until it converges), scored the same two ways."""

import pandas as pd

from ppfer_core.arrays import identity_labels, load_clips
from ppfer_core.attacks import (
    Convergence,
    build_small_cnn,
    frame_attack,
    frame_logits,
    score_frames,
)
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, write_json
from ppfer_core.training import TrainSettings, load_weights

job = Job.from_snakemake(snakemake)
p, inp, rep = snakemake.params, snakemake.input, snakemake.wildcards.rep
index = pd.read_parquet(inp.index)
y_train, actors = identity_labels(index, "train")
y_test, _ = identity_labels(index, "test")
validator = load_weights(create_model("image", p.model["arch"], num_classes=len(actors)), inp.validator)
out = {
    "rep": rep,
    "validator": score_frames(
        frame_logits(validator, load_clips(inp.test), job.device), y_test, p.leakage_seed
    ),
}
if inp.recovered:
    out["recovered"] = score_frames(
        frame_logits(validator, load_clips(inp.recovered), job.device), y_test, p.leakage_seed
    )
with job.resumable(snakemake.output.metrics) as state:
    out["scratch"] = frame_attack(
        build_small_cnn(len(actors), p.scratch["width"]),
        load_clips(inp.train),
        y_train,
        load_clips(inp.test),
        y_test,
        TrainSettings.from_config(p.scratch["train"]),
        Convergence.from_config(p.convergence),
        job.run(f"scratch_{rep}", state),
        p.leakage_seed,
    )
for k in ("validator", "recovered", "scratch"):
    if k in out:
        job.log(f"{rep}: {k} PLR {out[k]['plr']:.2f}% one frame, {out[k]['plr_vote']:.2f}% voting")
write_json(snakemake.output.metrics, out)
