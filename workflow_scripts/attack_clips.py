"""Rule attack_clips (the attack suite, beyond the paper): a video identity classifier (R3D family)
trained on a representation's whole train clips (flip / shift augmentation, full passes until it converges;
status converged or budget, best-validation weights), scored per test clip."""

import pandas as pd

from ppfer_core.arrays import identity_labels, load_clips
from ppfer_core.attacks import Convergence, build_clip_attacker, clip_attack
from ppfer_core.runtime import Job, write_json
from ppfer_core.training import TrainSettings

job = Job.from_snakemake(snakemake)
p, inp, rep = snakemake.params, snakemake.input, snakemake.wildcards.rep
index = pd.read_parquet(inp.index)
y_train, actors = identity_labels(index, "train")
y_test, _ = identity_labels(index, "test")
model = build_clip_attacker(p.clip["arch"], len(actors), p.clip["width"], p.clip["pool"])
with job.resumable(snakemake.output.metrics) as state:
    m = clip_attack(
        model,
        load_clips(inp.train),
        y_train,
        load_clips(inp.test),
        y_test,
        TrainSettings.from_config(p.clip["train"]),
        Convergence.from_config(p.convergence),
        job.run(f"clip_{rep}", state),
    )
job.log(
    f"{rep}: clip attacker PLR {m['plr']:.2f}% ({m['correct']}/{m['n']}), train accuracy {m['train_acc']:.4f}, "
    f"{m['status']} after {m['epochs']} epochs ({m['stopped']})"
)
write_json(snakemake.output.metrics, {"rep": rep, "arch": p.clip["arch"], **m})
