"""Rule open_attack: the retrained open-set attacker of one open representation (issue 26): a metric
embedding trained on the representation's open-train clips (open-train actors' labels from the
evaluation-only identity table; a validation slice of their clips stops it), applied to the unseen test
actors' clips: source-retrieval and identity-level figures, its record (converged / budget)."""

import pandas as pd

from ppfer_core.arrays import load_clips
from ppfer_core.attacks import Convergence
from ppfer_core.open_attack import open_train_labels, retrained_attack, unseen_actors
from ppfer_core.runtime import Job, end_job, write_json

job = Job.from_snakemake(snakemake)
p, inp, rep = snakemake.params, snakemake.input, snakemake.wildcards.rep
ids = pd.read_parquet(inp.identities)
train, query, gallery = load_clips(inp.train), load_clips(inp.query), load_clips(inp.gallery)
with job.resumable(snakemake.output.metrics) as state:
    out = retrained_attack(
        train,
        open_train_labels(ids, len(train)),
        query,
        gallery,
        unseen_actors(ids, len(gallery)),
        p.attack["width"],
        job.train_settings(),
        Convergence.from_config(p.convergence),
        job.run(f"open_attack_{rep}", state),
        p.leakage_seed,
    )
a, o = out["attacker"], out["openset"]
job.log(
    f"{rep} [retrained]: {a['status']} after {a['epochs']} epochs (val acc {a['val_acc']}), rank-1 "
    f"{out['rank1']:.2f}% (chance {out['chance']:.2f}%), identity rank-1 (source left out) "
    f"{o['rank1']:.2f}% (chance {o['chance']:.2f}%), same-actor AUC {o['auc']:.3f}"
)
write_json(snakemake.output.metrics, {"rep": rep, **out})
end_job()
