"""Rules ingest_cremad / ingest_dfew: decode, sample T frames, resize, split, index, reject."""
from pathlib import Path

from ppfer_core.datasets import list_cremad, list_dfew
from ppfer_core.ingest import ingest
from ppfer_core.runtime import job_logger

log = job_logger(snakemake.log[0])
p = snakemake.params
root = Path(p.root)
if p.corpus == "cremad":
    listing = list_cremad(root)
    landmarks = root / "landmarks.npz"
else:
    listing = list_dfew(root, fold=p.fold)
    landmarks = None
ingest(
    listing,
    Path(snakemake.output.index).parent,
    t=p.ingest["frames"],
    size=tuple(p.ingest["size"]),
    crop=p.ingest["crop"],
    on_error=p.ingest["on_error"],
    seed=p.seed,
    test_fraction=p.ingest["test_fraction"],
    landmarks=landmarks if landmarks is not None and landmarks.exists() else None,
    log=log,
)
