"""Rule federated_code_estimator (issue 27, Table 6): the bottleneck's basis from the sites' summed
statistics and its code estimator by FedAvg (the first of federated.strategies) across the sites, on
Flower's simulation engine, resumable between rounds. Reads the site folders only."""

from pathlib import Path

from ppfer_core.bottleneck import synthetic_template
from ppfer_core.federated.code_apps import CodeOutputs, simulate_codes
from ppfer_core.federated.code_task import CodeFedSettings
from ppfer_core.federated.server_app import FedOutputs
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
p = job.params
settings = CodeFedSettings.from_config(
    {
        "bottleneck": p.bottleneck,
        "federated": p.federated,
        "ingest": {"size": p.size},
        "cpu_dtype": snakemake.config["cpu_dtype"],  # what the sites' local trainings autocast to
    },
    seed=job.seed,
    device=job.device.type,
)
# the canonical shape: the template face's (config, no data), which every site aligns to
canonical = synthetic_template(settings.bottleneck.template_actor, settings.size, job.seed).canonical
out = CodeOutputs(
    Path(snakemake.output.basis),
    FedOutputs(
        Path(snakemake.output.model),
        Path(snakemake.output.metrics),
        Path(snakemake.output.rounds),
        Path(p.work) / "state.pt",
    ),
)
sites_dir = Path(snakemake.input.sites[0]).parent.parent
simulate_codes(settings, out, canonical, sites_dir, snakemake.threads, job.log)
end_job()
