"""Rule train_compensator: feature compensator F_fc (U-ViT) trained on G against the frozen
expression controller C_fc (Algorithm 2); writes C = F_fc(G) for both splits."""
import pandas as pd

from ppfer_core import EMOTIONS
from ppfer_core.arrays import FrameDataset, PairedFrameDataset, emotion_labels, load_clips, write_representation
from ppfer_core.classifiers import predict_labels
from ppfer_core.compensator import compensation_loss
from ppfer_core.nets import UViT, build_image_classifier, load_uvit_blocks
from ppfer_core.runtime import job_seed, setup_job, state_path, write_json
from ppfer_core.training import Player, finish, freeze, load_weights, make_loader, optimizer, save_weights, train

log, device = setup_job(snakemake)
p = snakemake.params
index = pd.read_parquet(snakemake.input.index)
g_train, g_test = load_clips(snakemake.input.train), load_clips(snakemake.input.test)
u = p.uvit
compensator = UViT(img_size=g_train.shape[2], patch_size=u["patch"], embed_dim=u["dim"], depth=u["depth"], num_heads=u["heads"])
if u["weights"]:
    log(load_uvit_blocks(compensator, u["weights"]).summary())
compensator.to(device)
controller = None
if p.loss == "ce":
    controller = build_image_classifier(p.model["arch"], len(EMOTIONS), None)
    controller = freeze(load_weights(controller, snakemake.input.controller).to(device))
data = PairedFrameDataset(g_train, emotion_labels(index, "train"), load_clips(snakemake.input.original))
opt = optimizer(compensator.parameters(), p.train["optimizer"], p.train["lr"])
state = state_path(snakemake.output.model)
result = train(
    [Player("compensation", [compensator], opt, compensation_loss(compensator, controller, p.loss))],
    make_loader(data, p.train["batch_size"], True, job_seed(snakemake), device, snakemake.config["workers"], p.train.get("items_per_epoch")),
    p.train["epochs"], device, job_seed(snakemake), state, {"train": p.train, "uvit": u, "loss": p.loss},
    log=log, desc="compensator",
)
save_weights(compensator, snakemake.output.model)
finish(state)
compensator.eval()
write_representation(compensator, device, [g_train, g_test], [snakemake.output.train, snakemake.output.test])
metrics = {"history": result.history, "loss": p.loss}
if controller is not None:
    y = emotion_labels(index, "test")
    for name, path in (("G", snakemake.input.test), ("C", snakemake.output.test)):
        pred, true = predict_labels(controller, FrameDataset(load_clips(path), y), device)
        metrics[f"controller_acc_{name}_test"] = 100.0 * float((pred == true).mean())
    log(f"C_fc accuracy on test frames: G {metrics['controller_acc_G_test']:.2f}% -> C {metrics['controller_acc_C_test']:.2f}%")
write_json(snakemake.output.metrics, metrics)
