"""Rule render_bottleneck (issue 27): every split's codes re-rendered onto the template face (a
piecewise-affine warp of its neutral frame): the representation, a function of the code alone."""

import numpy as np
import pandas as pd
from skimage.io import imsave

from ppfer_core.bottleneck import BottleneckSettings, ExpressionBasis, render_codes, synthetic_template
from ppfer_core.npyfiles import npy_output
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
p = job.params
settings = BottleneckSettings.from_config(p.bottleneck)
basis = ExpressionBasis.load(snakemake.input.basis)
if str(settings.template_actor) in set(pd.read_parquet(snakemake.input.index)["actor"].astype(str)):
    raise ValueError(
        f"bottleneck.template_actor {settings.template_actor} is in the corpus: pick an id outside it"
    )
template = synthetic_template(settings.template_actor, int(p.size[0]), job.seed)
if not np.allclose(template.canonical, basis.canonical):
    raise ValueError(f"{snakemake.input.basis} was fitted on another template than bottleneck.template_actor")
h, w = template.image.shape[:2]
for split in ("train", "test"):
    codes = np.load(getattr(snakemake.input, split))
    with npy_output(getattr(snakemake.output, split), (*codes.shape[:2], h, w, 3)) as out:
        render_codes(codes, template, basis, out)
    job.log(f"rendered {split}: {codes.shape[0]} clips -> {getattr(snakemake.output, split)}")
imsave(snakemake.output.template, template.image, check_contrast=False)
end_job()
