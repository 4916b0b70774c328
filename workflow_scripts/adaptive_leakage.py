"""Rule adaptive_leakage (beyond the paper, SPAct's protocol; one attacker of the attack suite): an
identity classifier trained on a method's anonymised train frames (flip / shift augmentation, until it
converges), tested like V_pl (one seeded random frame per clip) and by voting over a clip's frames on
its anonymised test split. It starts from V_pl's weights (threat.adaptive_init: validator) or as V_pl
started (scratch: models.identity's architecture and optional weights file)."""

import pandas as pd

from ppfer_core.arrays import identity_labels, load_clips
from ppfer_core.attacks import Convergence
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, write_json
from ppfer_core.threat import adaptive_leakage
from ppfer_core.training import load_weights

job = Job.from_snakemake(snakemake)
p, rep = snakemake.params, snakemake.wildcards.rep
index = pd.read_parquet(snakemake.input.index)
y_train, actors = identity_labels(index, "train")
y_test, _ = identity_labels(index, "test")
if p.init == "validator":
    model = load_weights(
        create_model("image", p.model["arch"], num_classes=len(actors)), snakemake.input.validator
    )
    job.log(f"adaptive attacker starts from V_pl ({snakemake.input.validator})")
else:
    model = create_model("image", p.model["arch"], num_classes=len(actors), weights=p.model["weights"])
with job.resumable(snakemake.output.metrics) as state:
    m = adaptive_leakage(
        model,
        load_clips(snakemake.input.train),
        y_train,
        load_clips(snakemake.input.test),
        y_test,
        len(actors),
        job.train_settings(),
        job.run(f"adaptive_{rep}", state),
        p.leakage_seed,
        Convergence.from_config(p.convergence),
    )
job.log(
    f"{rep}: adaptive PLR {m['plr']:.2f}% ({m['correct']}/{m['n']}) one frame, {m['plr_vote']:.2f}% voting, "
    f"chance {m['chance']:.2f}%; train accuracy {m['train_acc']:.4f}, "
    f"{m['status']} after {m['epochs']} epochs ({m['stopped']})"
)
write_json(snakemake.output.metrics, {"rep": rep, "init": p.init, **m})
