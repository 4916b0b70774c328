"""Rule train_enhancer: privacy enhancer F_lpr / F_hpr trained against its frozen identity
budget controller (Algorithm 1), from the shared L1 initialisation."""
import pandas as pd

from ppfer_core.arrays import band_dataset, identity_labels
from ppfer_core.enhancer import budget_stop, privacy_loss
from ppfer_core.nets import UNet, build_image_classifier
from ppfer_core.runtime import job_seed, setup_job, state_path, write_json
from ppfer_core.training import Player, finish, freeze, load_weights, make_loader, optimizer, save_weights, train

log, device = setup_job(snakemake)
p, band = snakemake.params, snakemake.wildcards.band
index = pd.read_parquet(snakemake.input.index)
low, *highs = snakemake.input.train
data = band_dataset(low if band == "low" else None, highs, identity_labels(index, "train")[0])
enhancer = load_weights(UNet(base_width=p.unet["base_width"], depth=p.unet["depth"]), snakemake.input.init).to(device)
controller = build_image_classifier(p.model["arch"], index["actor"].nunique(), None)
controller = freeze(load_weights(controller, snakemake.input.controller).to(device))
opt = optimizer(enhancer.parameters(), p.train["optimizer"], p.train["lr"])
e = p.enhancer
state = state_path(snakemake.output.model)
result = train(
    [Player("privacy", [enhancer], opt, privacy_loss(enhancer, controller, e["objective"], e["l1_weight"]))],
    make_loader(data, p.train["batch_size"], True, job_seed(snakemake), device, snakemake.config["workers"]),
    p.train["epochs"], device, job_seed(snakemake), state, {"train": p.train, "enhancer": e, "band": band},
    stop=budget_stop(e["identity_budget"]), log=log, desc=f"enhancer_{band}",
)
save_weights(enhancer, snakemake.output.model)
finish(state)
write_json(snakemake.output.metrics, {"history": result.history, "stopped": result.stopped, "settings": e})
