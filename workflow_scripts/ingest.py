"""Rules ingest_cremad / ingest_dfew: decode, sample T frames, resize, split, index, reject."""

from pathlib import Path

from ppfer_core.datasets import list_cremad, list_dfew
from ppfer_core.faces import FaceSettings
from ppfer_core.ingest import ingest
from ppfer_core.runtime import end_job, job_logger

log = job_logger(snakemake.log[0])
p = snakemake.params
# the real corpus folder, or the generated one (whose first output is a folder inside it)
root = Path(snakemake.input[0]) if p.real else Path(snakemake.input[0]).parent
if p.corpus == "cremad":
    listing = list_cremad(root)
    landmarks = root / "landmarks.npz"
else:
    listing = list_dfew(root, fold=p.fold)
    landmarks = None
crop = p.ingest["crop"]
if crop == "face" and p.corpus == "dfew":  # DFEW's clip_224x224 frames are face crops already
    crop = "center"
    log("crop: face asked; DFEW's clip_224x224 frames are face crops already: centre crop instead")
ingest(
    listing,
    Path(snakemake.output.index).parent,
    t=p.ingest["frames"],
    size=tuple(p.ingest["size"]),
    crop=crop,
    on_error=p.ingest["on_error"],
    seed=p.seed,
    test_fraction=p.ingest["test_fraction"],
    landmarks=landmarks if landmarks is not None and landmarks.exists() else None,
    log=log,
    workers=snakemake.threads,
    face=FaceSettings(margin=p.ingest.get("face_margin", 0.25)),
)
end_job()
