"""Flower apps of the bottleneck's federated fit (issue 27, Table 6): the basis from the sites' summed
statistics, then the code estimator by FedAvg / FedProx, on Flower's simulation engine.

The ServerApp (:func:`run_code_rounds`) sends ``query`` messages for the statistics (action
``shape_stats``: round 1, then round 2 with the server's ``mu`` and ``b0``; action
``target_moments`` with the summed basis) and ``train`` messages for the estimator's rounds; it sees
sums, counts and weights, never a clip or a landmark. After every training round the global weights
and the per-round metrics go to ``state.pt`` (atomically, :func:`~ppfer_core.federated.server_app.save_state`),
so a rerun continues after the last completed round (the statistics rounds are recomputed: they are
deterministic and cheap). Outputs: the basis (.npz), the estimator (:func:`save_estimator`), the
per-round table and a metrics summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy.strategy_utils import sample_nodes

from ppfer_core.bottleneck.basis import ExpressionBasis, ShapeStats, basis_from_stats, first_round
from ppfer_core.bottleneck.estimator import new_estimator, save_estimator
from ppfer_core.federated.client_app import site_folder
from ppfer_core.federated.code_task import (
    CodeFedSettings,
    load_code_site,
    local_train_codes,
    scale_from_moments,
    site_shape_stats,
    target_moments,
)
from ppfer_core.federated.server_app import FedOutputs, make_strategy, replies, resume_state, save_state
from ppfer_core.federated.task import state_bytes
from ppfer_core.runtime import write_json
from ppfer_core.training import Run, resolve_cpu_dtype, seed_everything, select_device

_BASIS = ("canonical", "mu", "b0", "basis", "eigenvalues")


@dataclass(frozen=True)
class CodeOutputs:
    """Files of the federated fit: the basis, and the estimator's :class:`FedOutputs` (model, metrics,
    rounds, state)."""

    basis: Path
    fed: FedOutputs


def _record(arrays: dict[str, np.ndarray]) -> ArrayRecord:
    return ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in arrays.items()})


def _arrays(record: ArrayRecord) -> dict[str, np.ndarray]:
    return {k: record[k].numpy() for k in record.keys()}


def basis_record(basis: ExpressionBasis) -> ArrayRecord:
    """The arrays of a basis a site needs (canonical, mu, b0, basis, eigenvalues, code RMS)."""
    return _record({**{k: getattr(basis, k) for k in _BASIS}, "code_rms": np.asarray([basis.code_rms])})


def basis_from_record(record: ArrayRecord, s: CodeFedSettings) -> ExpressionBasis:
    """Inverse of :func:`basis_record` (the settings are the run's)."""
    a = _arrays(record)
    return ExpressionBasis(*(a[k] for k in _BASIS), float(a["code_rms"][0]), s.bottleneck.basis)


def stats_record(stats: ShapeStats) -> ArrayRecord:
    return _record({"n": np.asarray([stats.n], dtype=np.int64), "total": stats.total, "moment": stats.moment})


def stats_from_record(record: ArrayRecord) -> ShapeStats:
    a = _arrays(record)
    return ShapeStats(int(a["n"][0]), a["total"], a["moment"])


# ------------------------------------------------------------------------------ the site


def make_code_client_app(s: CodeFedSettings, sites_dir: str) -> ClientApp:
    """A site's ClientApp: its folder is ``{sites_dir}/site-{partition-id + 1}`` (or node config
    ``data-path``, :func:`~ppfer_core.federated.client_app.site_folder`)."""
    app = ClientApp()

    def reply(msg: Message, site: int, stats: ArrayRecord) -> Message:
        return Message(
            content=RecordDict({"stats": stats, "site": MetricRecord({"site": site})}), reply_to=msg
        )

    @app.query("shape_stats")
    def shape_stats(msg: Message, context: Context) -> Message:
        site = load_code_site(site_folder(context, sites_dir))
        a = _arrays(msg.content["arrays"])
        first = (a["mu"], a["b0"]) if "mu" in a else None
        stats = site_shape_stats(site.landmarks, a["canonical"], first, s.bottleneck.basis)
        return reply(msg, site.site, stats_record(stats))

    @app.query("target_moments")
    def moments(msg: Message, context: Context) -> Message:
        site = load_code_site(site_folder(context, sites_dir))
        moments = target_moments(site.landmarks, basis_from_record(msg.content["basis"], s))
        return reply(msg, site.site, _record(moments))

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        site = load_code_site(site_folder(context, sites_dir))
        basis = basis_from_record(msg.content["basis"], s)
        seed_everything(s.seed)
        device = select_device(s.device)
        net = new_estimator(s.size, s.k, s.bottleneck.estimator, np.ones(2 * s.k), s.seed)
        net.load_state_dict(msg.content["arrays"].to_torch_state_dict())
        rnd = int(msg.content["config"]["server-round"])
        label = f"site {site.site} round {rnd}"
        metrics = local_train_codes(
            net,
            site,
            basis,
            s,
            rnd,
            lambda seed: Run(device, seed, None, print, label, cpu_dtype=resolve_cpu_dtype(s.cpu_dtype)),
        )
        net.to("cpu")
        content = RecordDict({"arrays": ArrayRecord(net.state_dict()), "metrics": MetricRecord(metrics)})
        return Message(content=content, reply_to=msg)

    return app


# ------------------------------------------------------------------------------ the server


def query_sites(grid: Grid, s: CodeFedSettings, action: str, content: RecordDict, what: str) -> list:
    """Send ``content`` to every site as ``query.{action}``; their replies' ``stats`` records in site
    order (so that the server's sums do not depend on the order the replies arrive in)."""
    nodes, _ = sample_nodes(grid, s.sites, s.sites)
    sent = [Message(content=content, dst_node_id=n, message_type=f"query.{action}") for n in nodes]
    got = replies(grid.send_and_receive(sent), what, s.sites)
    return [m.content["stats"] for m in sorted(got, key=lambda m: int(m.content["site"]["site"]))]


def federated_basis(grid: Grid, s: CodeFedSettings, canonical: np.ndarray) -> ExpressionBasis:
    """The basis from the sites' summed round-1 and round-2 statistics."""

    def summed(content: dict[str, np.ndarray], what: str) -> ShapeStats:
        stats = [
            stats_from_record(r)
            for r in query_sites(grid, s, "shape_stats", RecordDict({"arrays": _record(content)}), what)
        ]
        return sum(stats[1:], stats[0])

    r1 = summed({"canonical": canonical}, "basis round 1")
    mu, b0 = first_round(r1, s.k)
    r2 = summed({"canonical": canonical, "mu": mu, "b0": b0}, "basis round 2")
    return basis_from_stats(canonical, r1, r2, s.bottleneck.basis)


def run_code_rounds(
    grid: Grid,
    s: CodeFedSettings,
    out: CodeOutputs,
    canonical: np.ndarray,
    log: Callable[[str], None] = print,
) -> dict:
    """The basis, the targets' scale, then the remaining estimator rounds (resuming from the state);
    writes the outputs (:func:`finish_codes`)."""
    seed_everything(s.seed)
    t0 = time.time()
    basis = federated_basis(grid, s, canonical)
    moments = query_sites(
        grid, s, "target_moments", RecordDict({"basis": basis_record(basis)}), "target moments"
    )
    scale = scale_from_moments([_arrays(r) for r in moments])
    log(
        f"basis k={s.k} from {s.sites} sites' sums, eigenvalues {np.round(basis.eigenvalues, 5)} ({time.time() - t0:.1f} s)"
    )
    net = new_estimator(s.size, s.k, s.bottleneck.estimator, scale, s.seed)
    arrays, history = resume_state(s, out.fed, ArrayRecord(net.state_dict()), log)
    strategy = make_strategy(s)
    for rnd in range(len(history) + 1, s.rounds + 1):
        t0 = time.time()
        sent = list(strategy.configure_train(rnd, arrays, ConfigRecord(), grid))
        for m in sent:
            m.content["basis"] = basis_record(basis)
        train = replies(grid.send_and_receive(sent), f"round {rnd} training", s.sites)
        arrays, metrics = strategy.aggregate_train(rnd, train)
        row = {
            "round": rnd,
            "train_loss": float(metrics["train-loss"]),
            "within_mse": float(metrics["within-mse"]),
        }
        history.append({**row, "seconds": time.time() - t0})
        save_state(s, out.fed, arrays, history)
        log(
            f"round {rnd}/{s.rounds}: loss {row['train_loss']:.4f}, within-clip MSE {row['within_mse']:.4f} ({time.time() - t0:.1f} s)"
        )
    return finish_codes(s, out, basis, arrays, history, log)


def finish_codes(
    s: CodeFedSettings, out: CodeOutputs, basis, arrays: ArrayRecord, history: list[dict], log
) -> dict:
    """Write the basis, the final estimator, the per-round table and the metrics; drop the state."""
    net = new_estimator(s.size, s.k, s.bottleneck.estimator, np.ones(2 * s.k), s.seed)
    net.load_state_dict(arrays.to_torch_state_dict())
    basis.save(str(out.basis))
    save_estimator(net.eval(), str(out.fed.model))
    rounds = pd.DataFrame(history)
    rounds.to_csv(out.fed.rounds.with_suffix(".tmp"), index=False)
    out.fed.rounds.with_suffix(".tmp").replace(out.fed.rounds)
    model_bytes = state_bytes(net.state_dict())
    stats_bytes = 8 * (
        2 * (1 + basis.mu.size + basis.mu.size**2) + 1 + 4 * s.k
    )  # per site: 2 rounds + moments
    metrics = {
        "rep": "fed-bottleneck-render", "strategy": s.strategy, "rounds": s.rounds, "local_epochs": s.local_epochs,
        "sites": s.sites, "k": s.k, "eigenvalues": basis.eigenvalues.tolist(), "code_rms": basis.code_rms,
        "final_train_loss": history[-1]["train_loss"], "final_within_mse": history[-1]["within_mse"],
        "model_bytes": model_bytes, "bytes_per_round": model_bytes * s.sites * 2,
        "statistics_bytes_per_site": stats_bytes, "seconds": float(sum(h["seconds"] for h in history)),
    }  # fmt: skip
    write_json(out.fed.metrics, metrics)
    if out.fed.state.exists():
        out.fed.state.unlink()
    log(
        f"federated code estimator ({s.strategy}, {s.rounds} rounds): within-clip MSE {metrics['final_within_mse']:.4f}"
    )
    return metrics


def simulate_codes(
    s: CodeFedSettings,
    out: CodeOutputs,
    canonical: np.ndarray,
    sites_dir: str | Path,
    threads: int,
    log=print,
) -> dict:
    """Run the ServerApp and one ClientApp per site folder (``sites_dir/site-{k}``) on Flower's
    simulation engine; the metrics."""
    from flwr.simulation import run_simulation

    from ppfer_core.federated.simulation import backend_config
    from ppfer_core.runtime import read_json

    for k in range(1, s.sites + 1):
        if not (Path(sites_dir) / f"site-{k}" / "site.json").exists():
            raise FileNotFoundError(f"{sites_dir}/site-{k}: no site folder (federated.sites = {s.sites})")
    server = ServerApp()

    @server.main()
    def main(grid: Grid, context: Context) -> None:
        run_code_rounds(grid, s, out, canonical, log)

    cuda = s.device == "cuda" or (s.device == "auto" and __import__("torch").cuda.is_available())
    run_simulation(
        server_app=server,
        client_app=make_code_client_app(s, str(Path(sites_dir).resolve())),
        num_supernodes=s.sites,
        backend_config=backend_config(threads, s.sites, cuda),
    )
    if not out.fed.metrics.exists():
        raise RuntimeError(
            f"the federated run ended without writing {out.fed.metrics}; see the log above (Flower/Ray)"
        )
    return read_json(out.fed.metrics)
