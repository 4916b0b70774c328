"""Rule attack_frames (the attack suite, beyond the paper): on one representation, V_pl scored on one
random frame per test clip and by voting over all its frames (also on the recovery attack's output,
where there is one), and a plain 4-layer CNN trained from scratch on the representation's train
frames (flip / shift augmentation, full passes until it converges; status converged or budget, best-
validation weights), scored the same two ways. V_pl and the CNN also carry their validation counts
(val_correct / val_n, scored as on test) and per-clip hits."""

import pandas as pd

from ppfer_core.arrays import identity_labels, load_clips
from ppfer_core.attacks import (
    Convergence,
    build_small_cnn,
    frame_attack,
    frame_logits,
    score_frames,
    slice_scores,
)
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, write_json
from ppfer_core.training import TrainSettings, load_weights

job = Job.from_snakemake(snakemake)
p, inp, rep = snakemake.params, snakemake.input, snakemake.wildcards.rep
index = pd.read_parquet(inp.index)
y_train, actors = identity_labels(index, "train")
y_test, _ = identity_labels(index, "test")
conv = Convergence.from_config(p.convergence)
validator = load_weights(create_model("image", p.model["arch"], num_classes=len(actors)), inp.validator)
# V_pl on the same validation slice of the rep's train split as the scratch attacker (for selecting the
# worst attacker on validation); V_pl was trained on these clips' originals, so this figure is optimistic
out = {
    "rep": rep,
    "validator": {
        **score_frames(frame_logits(validator, load_clips(inp.test), job.device), y_test, p.leakage_seed),
        **slice_scores(validator, load_clips(inp.train), y_train, conv, job.seed, job.device, p.leakage_seed),
    },
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
        conv,
        job.run(f"scratch_{rep}", state),
        p.leakage_seed,
    )
for k in ("validator", "recovered", "scratch"):
    if k in out:
        job.log(f"{rep}: {k} PLR {out[k]['plr']:.2f}% one frame, {out[k]['plr_vote']:.2f}% voting")
job.log(
    f"{rep}: scratch attacker {out['scratch']['status']} after {out['scratch']['epochs']} epochs ({out['scratch']['stopped']})"
)
write_json(snakemake.output.metrics, out)
