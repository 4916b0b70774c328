"""Rule train_joint (ablation tasks 2 and 6): controller-free privacy enhancers trained jointly
with the utility model F_u on expression cross-entropy, on whole frames ("frames") or on the two
wavelet streams ("wavelet"); writes the enhancers' outputs for both splits."""
import pandas as pd
from torch import nn

from ppfer_core import EMOTIONS
from ppfer_core.arrays import ClipDataset, emotion_labels, load_clips, write_representation
from ppfer_core.enhancer import enhance_frames, joint_utility_loss
from ppfer_core.nets import UNet, build_video_classifier
from ppfer_core.runtime import job_seed, setup_job, state_path, write_json
from ppfer_core.training import Player, finish, load_weights, make_loader, optimizer, save_weights, train

log, device = setup_job(snakemake)
p, transform = snakemake.params, snakemake.wildcards.transform
index = pd.read_parquet(snakemake.input.index)


def unet():
    return load_weights(UNet(base_width=p.unet["base_width"], depth=p.unet["depth"]), snakemake.input.init).to(device)


enhancers = [unet()] if transform == "frames" else [unet(), unet()]
if transform == "frames":
    enhance = enhancers[0]
else:
    w = p.wavelet
    enhance = lambda x: enhance_frames(x, enhancers[0], enhancers[1], w["name"], w["level"])  # noqa: E731
utility = build_video_classifier(p.model["arch"], len(EMOTIONS), p.model["weights"], width=p.model["width"]).to(device)
modules = [*enhancers, utility]
opt = optimizer([q for m in modules for q in m.parameters()], p.train["optimizer"], p.train["lr"])
data = ClipDataset(load_clips(snakemake.input.train), emotion_labels(index, "train"), augment=p.model["augment"])
state = state_path(snakemake.output.model)
result = train(
    [Player("joint", modules, opt, joint_utility_loss(enhance, utility))],
    make_loader(data, p.train["batch_size"], True, job_seed(snakemake), device, snakemake.config["workers"], p.train.get("items_per_epoch")),
    p.train["epochs"], device, job_seed(snakemake), state, {"train": p.train, "transform": transform},
    log=log, desc=f"joint_{transform}",
)
save_weights(nn.ModuleList(enhancers), snakemake.output.model)
finish(state)
for m in modules:
    m.eval()
splits = ("train", "test")
write_representation(enhance, device, [load_clips(snakemake.input[s]) for s in splits], [snakemake.output[s] for s in splits])
write_json(snakemake.output.metrics, {"history": result.history, "transform": transform})
