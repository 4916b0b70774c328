"""Flower ClientApp of a site: train F_u locally on the site's clips, test the global model on them.

The site's data folder (:func:`ppfer_core.federated.partition.write_site_folder`) comes from the
SuperNode's node config ``data-path`` (deployment: ``flower-supernode --node-config
'data-path="/data/site-1"'``) or, in simulation, from ``{sites-dir}/site-{partition-id + 1}``.
The recipe (architecture, local epochs, optimiser, ...) is the run config
(:meth:`FedSettings.to_run_config`)."""

from __future__ import annotations

from pathlib import Path

import torch
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from ppfer_core.federated.partition import SiteData, load_site
from ppfer_core.federated.task import FedSettings, build_model, evaluate_site, local_train
from ppfer_core.training import seed_everything, select_device


def site_folder(context: Context, sites_dir: str | None = None) -> Path:
    """This node's data folder: node config ``data-path``, else the simulation's partition folder."""
    node = context.node_config
    if "data-path" in node:
        return Path(str(node["data-path"]))
    root = sites_dir or context.run_config.get("sites-dir")
    if root is None or "partition-id" not in node:
        raise ValueError(
            "a PPFER site needs node config 'data-path' (its site folder), or 'partition-id' and run config 'sites-dir'"
        )
    return Path(str(root)) / f"site-{int(node['partition-id']) + 1}"


def _setup(msg: Message, context: Context, settings: FedSettings | None, sites_dir: str | None):
    s = settings or FedSettings.from_run_config(dict(context.run_config))
    data: SiteData = load_site(site_folder(context, sites_dir))
    seed_everything(s.seed)
    device = select_device(s.device)
    model = build_model(s)
    model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
    return s, data, device, model


def make_client_app(settings: FedSettings | None = None, sites_dir: str | None = None) -> ClientApp:
    """A ClientApp; ``settings``/``sites_dir`` fixed (simulation inside a rule) or, if None, from the run config."""
    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        s, data, device, model = _setup(msg, context, settings, sites_dir)
        config = msg.content["config"]
        mu = float(config.get("proximal-mu", 0.0))
        metrics = local_train(model, data, s, int(config["server-round"]), mu, device)
        model.to("cpu")
        reply = RecordDict({"arrays": ArrayRecord(model.state_dict()), "metrics": MetricRecord(metrics)})
        return Message(content=reply, reply_to=msg)

    @app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        s, data, device, model = _setup(msg, context, settings, sites_dir)
        with torch.no_grad():
            counts = evaluate_site(model, data, device)
        return Message(content=RecordDict({"metrics": MetricRecord(counts)}), reply_to=msg)

    return app


app = make_client_app()
