"""Rule federated_utility: F_u trained across the sites with Flower (simulation engine), resumable
between rounds; the final global model's test ACC, per class and per site."""

from pathlib import Path

import pandas as pd

from ppfer_core.arrays import load_clips
from ppfer_core.federated.server_app import FedOutputs
from ppfer_core.federated.simulation import simulate
from ppfer_core.federated.task import FedSettings
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
p, w = snakemake.params, snakemake.wildcards
fed = p.federated
settings = FedSettings.from_config(
    {
        "models": {"utility": p.model},
        "train": {"utility": p.train},
        "federated": fed,
        "cpu_dtype": snakemake.config["cpu_dtype"],  # what the sites' local trainings autocast to
    },
    strategy=w.strategy,
    seed=job.seed,
    device=job.device.type,
)
out = FedOutputs(
    Path(snakemake.output.model),
    Path(snakemake.output.metrics),
    Path(snakemake.output.rounds),
    Path(p.work) / "state.pt",
)
clips = {"train": load_clips(snakemake.input.train), "test": load_clips(snakemake.input.test)}
simulate(
    clips,
    pd.read_parquet(snakemake.input.index),
    pd.read_parquet(snakemake.input.partition),
    settings,
    out,
    Path(p.work) / "sites",
    snakemake.threads,
    p.model["weights"],
    job.log,
    {"rep": w.rep},
)
end_job()
