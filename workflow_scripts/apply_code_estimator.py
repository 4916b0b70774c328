"""Rule fed_estimate_codes (issue 27, Table 6): the federated code estimator applied to every split
(what each site does with its own clips): the per-frame estimates and the relative codes on the
federated basis. No landmark and no label is read."""

from ppfer_core.bottleneck import ExpressionBasis, load_estimator, write_codes
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
basis = ExpressionBasis.load(snakemake.input.basis)
net = load_estimator(snakemake.input.model)
if net.k != basis.settings.k:
    raise ValueError(
        f"{snakemake.input.model}: k = {net.k}, but {snakemake.input.basis} has k = {basis.settings.k}"
    )
for split in ("train", "test"):
    out, estimates = getattr(snakemake.output, split), getattr(snakemake.output, f"estimates_{split}")
    n = write_codes(net, basis, getattr(snakemake.input, split), estimates, out)
    job.log(f"codes of {split}: {n} clips -> {out}")
end_job()
