"""Rule openset_apply_closed: the paper's method as trained closed-set (F_lpr, F_hpr against the
identity controllers, then F_fc) applied to the clips of the open split ("Ours (closed-set training)")."""

import torch

from ppfer_core.arrays import load_clips, write_representation
from ppfer_core.enhancer import enhance_frames
from ppfer_core.nets import build_unet
from ppfer_core.runtime import Job
from ppfer_core.uvit import build_uvit

job = Job.from_snakemake(snakemake)
p = snakemake.params
nets = [build_unet(p.unet, f).to(job.device).eval() for f in (snakemake.input.low, snakemake.input.high)]
sources = [load_clips(snakemake.input.train), load_clips(snakemake.input.test)]
compensator = build_uvit(p.uvit, sources[0].shape[2], snakemake.input.compensator).to(job.device).eval()
name, level = p.wavelet["name"], p.wavelet["level"]
with torch.no_grad():
    # G is stored as uint8 on the closed-set path before F_fc sees it: quantise the same way
    write_representation(
        lambda x: compensator(enhance_frames(x, *nets, name, level).mul(255).round().div(255)).float(),
        job.device,
        sources,
        [snakemake.output.train, snakemake.output.test],
    )
job.log(f"closed-set F_lpr/F_hpr + F_fc applied to the open split: {[s.shape for s in sources]}")
