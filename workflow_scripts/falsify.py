"""Rule falsify: falsification-based privacy validation of every open-set representation of Table 5
in one job (the priors loaded and the original test clips embedded once), one metrics file each.
Recognition priors (the label-free video-prior embedder trained on the in-the-wild corpus, and V_pl's
penultimate features) rank the original test clips for every anonymised test clip: rank-1/5, ROC AUC,
EER; identity-level rank-1 from the evaluation-only identity table."""

import pandas as pd

from ppfer_core.arrays import load_clips
from ppfer_core.falsification import clip_embeddings, falsification_record, recognition_priors
from ppfer_core.runtime import Job, end_job, write_json

job = Job.from_snakemake(snakemake)
p, inp = snakemake.params, snakemake.input
priors = recognition_priors(p.embedder, inp.prior, p.model, inp.validator, job)
ids = pd.read_parquet(inp.identities)
actors = ids[ids["split"] == "test"].sort_values("row")["actor"].astype(str).to_numpy()
gallery = load_clips(inp.gallery)
galleries = {name: clip_embeddings(net, gallery, job.device) for name, net in priors.items()}
for rep, query, metrics in zip(p.reps, inp.query, snakemake.output.metrics, strict=True):
    write_json(metrics, falsification_record(rep, load_clips(query), priors, galleries, p.seed, actors, job))
end_job()
