"""Rule train_joint (ablation tasks 2 and 6): controller-free privacy enhancers trained jointly
with the utility model F_u on expression cross-entropy, on whole frames ("frames") or on the two
wavelet streams ("wavelet"); writes the enhancers' outputs for both splits."""

import pandas as pd
from torch import nn

from ppfer_core import EMOTIONS
from ppfer_core.arrays import ClipDataset, emotion_labels, load_clips, write_representation
from ppfer_core.enhancer import enhance_frames, joint_utility_loss
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import Player, fit, save_weights

job = Job.from_snakemake(snakemake)
p, s, device, transform = snakemake.params, job.train_settings(), job.device, snakemake.wildcards.transform
index = pd.read_parquet(snakemake.input.index)
enhancers = [
    create_model("unet", "unet", settings=p.unet, weights=snakemake.input.init).to(device)
    for _ in range(1 if transform == "frames" else 2)
]
if transform == "frames":
    enhance = enhancers[0]
else:
    w = p.wavelet
    enhance = lambda x: enhance_frames(x, enhancers[0], enhancers[1], w["name"], w["level"])  # noqa: E731
utility = create_model(
    "video", p.model["arch"], num_classes=len(EMOTIONS), weights=p.model["weights"], width=p.model["width"]
).to(device)
modules = [*enhancers, utility]
opt = s.make_optimizer([q for m in modules for q in m.parameters()])
data = ClipDataset(
    load_clips(snakemake.input.train), emotion_labels(index, "train"), augment=p.model["augment"]
)
with job.resumable(snakemake.output.model) as state:
    result = fit(
        [Player("joint", modules, opt, joint_utility_loss(enhance, utility))],
        data,
        s,
        job.run(f"joint_{transform}", state),
        {"train": s.config(), "transform": transform},
    )
    save_weights(nn.ModuleList(enhancers), snakemake.output.model)
for m in modules:
    m.eval()
splits = ("train", "test")
write_representation(
    enhance, device, [load_clips(snakemake.input[k]) for k in splits], [snakemake.output[k] for k in splits]
)
write_json(
    snakemake.output.metrics, {"history": result.history, "train_dtype": result.dtype, "transform": transform}
)
end_job()
