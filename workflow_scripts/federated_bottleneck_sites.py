"""Rule federated_bottleneck_sites (issue 27, Table 6): the data as it sits at the sites. Each site's
folder holds its own actors' train clips and their 68 landmarks (rule bottleneck_landmarks'), no
label; the federated basis and code estimator (rule federated_code_estimator) read these folders
only."""

from pathlib import Path

import numpy as np
import pandas as pd

from ppfer_core.arrays import load_clips
from ppfer_core.federated.code_task import write_code_site
from ppfer_core.federated.partition import check_partition, site_rows
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
index = pd.read_parquet(snakemake.input.index)
partition = pd.read_parquet(snakemake.input.partition)
check_partition(index, partition)
clips = load_clips(snakemake.input.train)
landmarks = np.load(snakemake.input.landmarks, mmap_mode="r")
if landmarks.shape[:2] != clips.shape[:2]:
    raise ValueError(
        f"{snakemake.input.landmarks}: shape {landmarks.shape} does not match the clips {clips.shape}"
    )
root = Path(job.params.root)
n_sites = int(partition["site"].max())
expected = {
    str(root / f"site-{k}" / name)
    for k in range(1, n_sites + 1)
    for name in ("train.npy", "landmarks.npy", "site.json")
}
if expected != set(map(str, snakemake.output.sites)):
    raise ValueError(
        f"the rule's site folders do not match the partition's {n_sites} sites (federated.sites)"
    )
for k in range(1, n_sites + 1):
    folder = root / f"site-{k}"
    rows = site_rows(index, partition, k, "train")
    write_code_site(folder, k, clips[rows], landmarks[rows])
    job.log(f"site {k}: {len(rows)} train clips and their landmarks -> {folder}")
end_job()
