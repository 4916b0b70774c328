"""Rule falsify: falsification-based privacy validation of an open-set representation. Recognition
priors (the label-free video-prior embedder trained on the in-the-wild corpus, and V_pl's
penultimate features) rank the original test clips for every anonymised test clip: rank-1/5,
ROC AUC, EER; identity-level rank-1 from the evaluation-only identity table."""

import pandas as pd
import torch

from ppfer_core.arrays import load_clips
from ppfer_core.falsification import clip_embeddings, source_retrieval
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, write_json
from ppfer_core.tradeoff import build_privacy_encoder
from ppfer_core.training import freeze, load_weights

job = Job.from_snakemake(snakemake)
p = snakemake.params
prior = load_weights(build_privacy_encoder(p.embedder["arch"], p.embedder["dim"]), snakemake.input.prior)
validator = create_model("image", p.model["arch"], num_classes=0)
state = torch.load(snakemake.input.validator, map_location="cpu", weights_only=True)
head = [k for k in state if k.split(".")[1] in ("fc", "head", "classifier")]  # V_pl's identity classifier
validator.load_state_dict({k: v for k, v in state.items() if k not in head})  # strict: every other tensor
job.log(f"V_pl prior: {len(state) - len(head)} tensors loaded, classifier head skipped ({', '.join(head)})")
priors = {"video_prior": freeze(prior.backbone.to(job.device)), "vpl": freeze(validator.to(job.device))}
ids = pd.read_parquet(snakemake.input.identities)
actors = ids[ids["split"] == "test"].sort_values("row")["actor"].astype(str).to_numpy()
query, gallery = load_clips(snakemake.input.query), load_clips(snakemake.input.gallery)
out = {"rep": snakemake.wildcards.rep}
for name, net in priors.items():
    r = source_retrieval(
        clip_embeddings(net, query, job.device), clip_embeddings(net, gallery, job.device), p.seed, actors
    )
    out[name] = r.as_dict()
    job.log(
        f"{snakemake.wildcards.rep} [{name}]: rank-1 {r.rank1:.2f}% rank-5 {r.rank5:.2f}% (chance {r.chance:.2f}%), "
        f"AUC {r.auc:.3f}, EER {r.eer:.2f}%, identity rank-1 {r.identity_rank1:.2f}% (chance {r.identity_chance:.2f}%)"
    )
write_json(snakemake.output.metrics, out)
