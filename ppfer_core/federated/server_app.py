"""Flower ServerApp: FedAvg / FedProx rounds of F_u over the sites, resumable between rounds.

Each round the strategy sends the global weights to every site, aggregates their locally trained
weights (example-weighted), then sends the new global model to every site for testing on its own
test clips; the server sees only weights and counts, never a clip. After every round the global
weights, the round number and the per-round metrics are written to ``state.pt`` (atomically), so a
rerun after an interruption continues from the last completed round. The final global model's test
figures are, inside the workflow, those of the whole test split in index row order (:class:`GlobalTest`,
tested by the job that exported the sites, as the centralised F_u is tested; per-clip ``hits``), and
the sites' summed counts under ``flwr run``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg, FedProx

from ppfer_core import EMOTIONS
from ppfer_core.federated.task import (
    FedSettings,
    GlobalTest,
    build_model,
    site_train_dtype,
    state_bytes,
)
from ppfer_core.runtime import write_json
from ppfer_core.training import fingerprint, save_weights, seed_everything, select_device


@dataclass(frozen=True)
class FedOutputs:
    """Files of one federated training."""

    model: Path
    metrics: Path
    rounds: Path
    state: Path

    @classmethod
    def in_dir(cls, out_dir: str | Path) -> FedOutputs:
        d = Path(out_dir)
        return cls(d / "model.pt", d / "metrics.json", d / "rounds.csv", d / "state.pt")


def make_strategy(s: Any) -> FedAvg:
    """FedAvg or FedProx over all sites (every site trains and tests in every round); ``s``: settings
    with ``sites``, ``strategy`` and ``proximal_mu`` (:class:`FedSettings`, :class:`~ppfer_core.federated.code_task.CodeFedSettings`)."""
    nodes = dict(min_train_nodes=s.sites, min_evaluate_nodes=s.sites, min_available_nodes=s.sites)
    if s.strategy == "fedprox":
        return FedProx(proximal_mu=s.proximal_mu, **nodes)
    return FedAvg(**nodes)


def replies(received: Iterable[Message], what: str, sites: int) -> list[Message]:
    """Every site's reply; a site's error or a missing site stops the run, naming the node."""
    received = list(received)
    errors = [f"node {m.metadata.src_node_id}: {m.error.reason}" for m in received if m.has_error()]
    if errors or len(received) < sites:
        raise RuntimeError(
            f"{what}: {len(received) - len(errors)} of {sites} sites replied; errors: {errors}"
        )
    return received


def test_row(contents: list) -> dict:
    """Global and per-site test counts of one round from the sites' evaluate replies."""
    per_site = sorted((dict(c["metrics"]) for c in contents), key=lambda m: m["site"])
    correct = sum(int(m["correct"]) for m in per_site)
    n = sum(int(m["num-examples"]) for m in per_site)
    row = {"acc": 100.0 * correct / n, "correct": correct, "n": n}
    for m in per_site:
        row[f"site{int(m['site'])}_acc"] = 100.0 * int(m["correct"]) / max(int(m["num-examples"]), 1)
        row[f"site{int(m['site'])}_n"] = int(m["num-examples"])
    for name in EMOTIONS:
        row[f"correct_{name}"] = sum(int(m[f"correct-{name}"]) for m in per_site)
        row[f"n_{name}"] = sum(int(m[f"n-{name}"]) for m in per_site)
    return row


def resume_state(s: Any, out: FedOutputs, initial: ArrayRecord, log) -> tuple[ArrayRecord, list[dict]]:
    """The global weights and per-round history of ``out.state`` when it was written under the settings
    ``s`` (a dataclass, fingerprinted), else ``initial`` and no history."""
    fp = fingerprint(asdict(s))
    if out.state.exists():
        state = torch.load(out.state, map_location="cpu", weights_only=True)
        if state.get("fingerprint") == fp:
            log(f"resuming from {out.state} after round {len(state['history'])}/{s.rounds}")
            return ArrayRecord(state["weights"]), state["history"]
        log(f"ignoring {out.state}: written under other settings")
    return initial, []


def save_state(s: Any, out: FedOutputs, arrays: ArrayRecord, history: list[dict]) -> None:
    """Write the global weights and history after a round to ``out.state`` (atomically)."""
    out.state.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.state.with_suffix(".tmp")
    torch.save(
        {"fingerprint": fingerprint(asdict(s)), "weights": arrays.to_torch_state_dict(), "history": history},
        tmp,
    )
    os.replace(tmp, out.state)


def run_rounds(
    grid: Grid,
    s: FedSettings,
    out: FedOutputs,
    weights_file: str | None = None,
    log: Callable[[str], None] = print,
    meta: dict | None = None,
    global_test: GlobalTest | None = None,
) -> dict:
    """Run the remaining rounds (resuming from ``out.state``), then write model, rounds and metrics
    (the final model tested on ``global_test`` when given: :func:`finish`)."""
    seed_everything(s.seed)
    model = build_model(s, weights_file)
    arrays, history = resume_state(s, out, ArrayRecord(model.state_dict()), log)
    strategy = make_strategy(s)
    for rnd in range(len(history) + 1, s.rounds + 1):
        t0 = time.time()
        sent = strategy.configure_train(rnd, arrays, ConfigRecord(), grid)
        train = replies(grid.send_and_receive(sent), f"round {rnd} training", s.sites)
        arrays, train_metrics = strategy.aggregate_train(rnd, train)
        sent = strategy.configure_evaluate(rnd, arrays, ConfigRecord(), grid)
        test = replies(grid.send_and_receive(sent), f"round {rnd} testing", s.sites)
        row = {
            "round": rnd,
            "train_loss": float(train_metrics["train-loss"]),
            **test_row([m.content for m in test]),
        }
        history.append({**row, "seconds": time.time() - t0})
        save_state(s, out, arrays, history)
        log(
            f"round {rnd}/{s.rounds}: train loss {row['train_loss']:.4f}, test ACC {row['acc']:.2f}% ({time.time() - t0:.1f} s)"
        )
    return finish(s, out, arrays, history, meta or {}, log, global_test)


def sites_test(last: dict) -> dict:
    """The final global model's test figures as the sites' own tests summed them (last round; no ``hits``)."""
    return {
        "acc": last["acc"],
        "correct": last["correct"],
        "n": last["n"],
        "per_class": {
            e: 100.0 * last[f"correct_{e}"] / last[f"n_{e}"] if last[f"n_{e}"] else float("nan")
            for e in EMOTIONS
        },
    }


def finish(
    s: FedSettings,
    out: FedOutputs,
    arrays: ArrayRecord,
    history: list[dict],
    meta: dict,
    log,
    global_test: GlobalTest | None = None,
) -> dict:
    """Write the final global model, the per-round metrics and the metrics summary; drop the state.
    The summary's ``acc``, ``correct``, ``n``, ``per_class`` and per-clip ``hits`` are the final model
    tested on ``global_test`` (the whole test split in index row order, as the centralised F_u); without
    one (``flwr run``), the sites' own tests of the last round, summed, and no ``hits``."""
    model = build_model(s)
    model.load_state_dict(arrays.to_torch_state_dict())
    save_weights(model, out.model)
    rounds = pd.DataFrame(history)
    out.rounds.parent.mkdir(parents=True, exist_ok=True)
    rounds.to_csv(out.rounds.with_suffix(".tmp"), index=False)
    os.replace(out.rounds.with_suffix(".tmp"), out.rounds)
    last = history[-1]
    site_acc = {int(k[4:-4]): v for k, v in last.items() if k.startswith("site") and k.endswith("_acc")}
    model_bytes = state_bytes(model.state_dict())
    test = sites_test(last) if global_test is None else global_test.score(model, select_device(s.device))
    metrics = {
        **meta,
        "strategy": s.strategy,
        "rounds": s.rounds,
        "local_epochs": s.local_epochs,
        "sites": s.sites,
        "proximal_mu": s.proximal_mu if s.strategy == "fedprox" else None,
        "tested_on": "sites" if global_test is None else "test split",
        **test,
        "per_site_acc": {str(k): v for k, v in sorted(site_acc.items())},
        "model_bytes": model_bytes,
        "bytes_per_round": model_bytes * s.sites * 2,
        "seconds": float(sum(h["seconds"] for h in history)),
        "train_dtype": site_train_dtype(s),
    }
    write_json(out.metrics, metrics)
    if out.state.exists():
        out.state.unlink()
    log(
        f"federated {s.strategy}: ACC {metrics['acc']:.2f}% after {s.rounds} rounds (tested on the {metrics['tested_on']}); per site {metrics['per_site_acc']}"
    )
    return metrics


def make_server_app(
    settings: FedSettings | None = None,
    outputs: FedOutputs | None = None,
    weights_file: str | None = None,
    log: Callable[[str], None] = print,
    meta: dict | None = None,
    global_test: GlobalTest | None = None,
) -> ServerApp:
    """A ServerApp; settings and outputs fixed (simulation inside a rule) or, if None, from the run
    config (``flwr run``: recipe keys of :meth:`FedSettings.to_run_config` and ``out-dir``);
    ``global_test``: the test split the final model is tested on (simulation only, :func:`finish`)."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        cfg = dict(context.run_config)
        s = settings or FedSettings.from_run_config(cfg)
        out = outputs or FedOutputs.in_dir(str(cfg["out-dir"]))
        run_rounds(grid, s, out, weights_file, log, meta, global_test)

    return app


app = make_server_app()
