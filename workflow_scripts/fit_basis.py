"""Rule fit_basis (issue 27): the expression basis, label-free, from the TRAIN split's true landmarks
(the generator's, which the code estimator is trained against) aligned to the template's canonical
shape. No identity label, no test clip."""

import numpy as np

from ppfer_core.bottleneck import BottleneckSettings, fit_basis, synthetic_template
from ppfer_core.runtime import Job, end_job, write_json

job = Job.from_snakemake(snakemake)
p = job.params
settings = BottleneckSettings.from_config(p.bottleneck)
template = synthetic_template(settings.template_actor, int(p.size[0]), job.seed)
basis = fit_basis(np.load(snakemake.input.landmarks), template.canonical, settings.basis)
basis.save(snakemake.output.basis)
explained = basis.eigenvalues / max(float(basis.eigenvalues.sum()), 1e-12)
job.log(
    f"basis k={settings.basis.k} ({settings.basis.reference}), eigenvalues {np.round(basis.eigenvalues, 5)}"
)
write_json(
    snakemake.output.metrics,
    {"k": settings.basis.k, "reference": settings.basis.reference, "eigenvalues": basis.eigenvalues.tolist(),
     "share_of_retained": explained.tolist(), "code_rms": basis.code_rms},
)  # fmt: skip
end_job()
