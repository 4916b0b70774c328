"""Federated training of F_u inside a workflow job, on Flower's simulation engine (Ray backend):
one virtual SuperNode per site, each reading only its own site folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ppfer_core.arrays import emotion_labels
from ppfer_core.federated.client_app import make_client_app
from ppfer_core.federated.partition import check_partition, export_sites
from ppfer_core.federated.server_app import FedOutputs, make_server_app
from ppfer_core.federated.task import FedSettings, GlobalTest


def backend_config(threads: int, sites: int, cuda: bool) -> dict:
    """Ray resources: ``threads`` CPUs in all, one per site's ClientApp (a GPU share each on CUDA).

    Ray starts its workers at niceness +15 (its ``worker_niceness``) so that its own daemons stay
    responsive; here the workers *are* the job's computation (the sites' training), so they keep the
    job's niceness (+0): at +15 a Flower job crawled whenever anything else ran beside it (issue 30:
    its wall time 3.8 x its CPU time in the default run, other trainings' 1.6 x), holding its
    Snakemake slot meanwhile."""
    client = {"num_cpus": 1, "num_gpus": 1.0 / sites if cuda else 0.0}
    return {
        "client_resources": client,
        "init_args": {
            "num_cpus": max(1, threads),
            "num_gpus": 1 if cuda else 0,
            "logging_level": "warning",
            "log_to_driver": True,
            "address": "local",
            "_system_config": {"worker_niceness": 0},
        },
    }  # a new local Ray instance per job


def simulate(
    clips: dict[str, np.ndarray],
    index: pd.DataFrame,
    partition: pd.DataFrame,
    s: FedSettings,
    out: FedOutputs,
    sites_dir: str | Path,
    threads: int,
    weights_file: str | None = None,
    log: Callable[[str], None] = print,
    meta: dict | None = None,
) -> dict:
    """Write the site folders, run the ServerApp and one ClientApp per site, return the metrics (the
    final global model tested on ``clips["test"]``, rows as in the index: :class:`GlobalTest`)."""
    from flwr.simulation import run_simulation

    check_partition(index, partition)
    if int(partition["site"].max()) != s.sites:
        raise ValueError(f"partition has {partition['site'].max()} sites, federated.sites is {s.sites}")
    export_sites(clips, index, partition, sites_dir)
    cuda = s.device == "cuda" or (s.device == "auto" and __import__("torch").cuda.is_available())
    test = GlobalTest(clips["test"], emotion_labels(index, "test"))
    server = make_server_app(s, out, weights_file, log, meta, test)
    client = make_client_app(s, str(Path(sites_dir).resolve()))
    run_simulation(
        server_app=server,
        client_app=client,
        num_supernodes=s.sites,
        backend_config=backend_config(threads, s.sites, cuda),
    )
    if not out.metrics.exists():
        raise RuntimeError(
            f"the federated run ended without writing {out.metrics}; see the log above (Flower/Ray)"
        )
    shutil.rmtree(sites_dir, ignore_errors=True)
    from ppfer_core.runtime import read_json

    return read_json(out.metrics)
