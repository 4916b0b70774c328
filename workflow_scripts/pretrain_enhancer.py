"""Rule pretrain_enhancer: the one U-Net initialisation of F_lpr and F_hpr, an identity map
learnt with L1 on the images of both bands (SPAct's anonymiser pretraining)."""

import numpy as np
from torch.utils.data import ConcatDataset

from ppfer_core.arrays import band_dataset
from ppfer_core.enhancer import l1_identity_loss
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import Player, fit, save_weights

job = Job.from_snakemake(snakemake)
p, s = snakemake.params, job.train_settings()
low, *highs = snakemake.input.bands
no_labels = np.zeros(np.load(low, mmap_mode="r").shape[0], dtype=np.int64)
data = ConcatDataset([band_dataset(low, highs, no_labels), band_dataset(None, highs, no_labels)])
model = create_model("unet", "unet", settings=p.unet).to(job.device)
opt = s.make_optimizer(model.parameters())
with job.resumable(snakemake.output.model) as state:
    result = fit(
        [Player("l1", [model], opt, l1_identity_loss(model))],
        data,
        s,
        job.run("enhancer_init", state),
        {"train": s.config(), "unet": p.unet},
    )
    save_weights(model, snakemake.output.model)
write_json(snakemake.output.metrics, {"history": result.history, "train_dtype": result.dtype})
end_job()
