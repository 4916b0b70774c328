"""Rule fit_basis (issue 27): the expression basis, label-free, from the train split's estimated
landmarks only (aligned to the template's canonical shape); then the codes of every split."""

import numpy as np

from ppfer_core.arrays import split_index
from ppfer_core.bottleneck import BottleneckSettings, encode, fit_basis, synthetic_template
from ppfer_core.npyfiles import npy_output
from ppfer_core.runtime import Job, write_json

job = Job.from_snakemake(snakemake)
p = job.params
settings = BottleneckSettings.from_config(p.bottleneck)
actors = set(split_index(snakemake.input.index, "train")["actor"].astype(str))
if str(settings.template_actor) in actors:
    raise ValueError(
        f"bottleneck.template_actor {settings.template_actor} is in the corpus: pick an id outside it"
    )
template = synthetic_template(settings.template_actor, int(p.size[0]), job.seed)
basis = fit_basis(np.load(snakemake.input.train), template.canonical, settings.basis)
basis.save(snakemake.output.basis)
for split in ("train", "test"):
    codes = encode(np.load(getattr(snakemake.input, split)), basis)
    with npy_output(getattr(snakemake.output, split), codes.shape, np.float32) as out:
        out[:] = codes
explained = basis.eigenvalues / max(float(basis.eigenvalues.sum()), 1e-12)
job.log(
    f"basis k={settings.basis.k} ({settings.basis.reference}), eigenvalues {np.round(basis.eigenvalues, 5)}"
)
write_json(
    snakemake.output.metrics,
    {"k": settings.basis.k, "reference": settings.basis.reference, "eigenvalues": basis.eigenvalues.tolist(),
     "share_of_retained": explained.tolist(), "code_rms": basis.code_rms},
)  # fmt: skip
