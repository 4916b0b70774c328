"""Rule pretrain_enhancer: the one U-Net initialisation of F_lpr and F_hpr, an identity map
learnt with L1 on the images of both bands (SPAct's anonymiser pretraining)."""
import numpy as np
from torch.utils.data import ConcatDataset

from ppfer_core.arrays import band_dataset
from ppfer_core.enhancer import l1_identity_loss
from ppfer_core.nets import UNet
from ppfer_core.runtime import job_seed, setup_job, state_path, write_json
from ppfer_core.training import Player, finish, make_loader, optimizer, save_weights, train

log, device = setup_job(snakemake)
p = snakemake.params
low, *highs = snakemake.input.bands
no_labels = np.zeros(np.load(low, mmap_mode="r").shape[0], dtype=np.int64)
data = ConcatDataset([band_dataset(low, highs, no_labels), band_dataset(None, highs, no_labels)])
model = UNet(base_width=p.unet["base_width"], depth=p.unet["depth"]).to(device)
opt = optimizer(model.parameters(), p.train["optimizer"], p.train["lr"])
state = state_path(snakemake.output.model)
result = train(
    [Player("l1", [model], opt, l1_identity_loss(model))],
    make_loader(data, p.train["batch_size"], True, job_seed(snakemake), device, snakemake.config["workers"], p.train.get("items_per_epoch")),
    p.train["epochs"], device, job_seed(snakemake), state, {"train": p.train, "unet": p.unet}, log=log, desc="enhancer_init",
)
save_weights(model, snakemake.output.model)
finish(state)
write_json(snakemake.output.metrics, {"history": result.history})
