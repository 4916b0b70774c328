"""The Flower App's run config, generated from the workflow config: one source for every federated default.

``flwr run flower-app`` reads its settings from ``[tool.flwr.app.config]`` of ``flower-app/pyproject.toml``
(Flower's run config; ``--run-config`` overrides keys at submission). That table is written from
``config.yaml`` (``models.utility``, ``train.utility``, ``federated``, ``seed``, ``device``) through
:meth:`FedSettings.from_config <ppfer_core.federated.task.FedSettings.from_config>` -- the same path the
DAG's rule ``federated_utility`` takes -- so the app, the DAG and the settings class cannot disagree::

    python -m ppfer_core.federated.app_config          # rewrite the table after editing config.yaml
    python -m ppfer_core.federated.app_config --check  # fail if the table is out of date (tests do)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ppfer_core.federated.task import FedSettings

TABLE = "[tool.flwr.app.config]"
OUT_DIR = "results/federated/flwr-run"
"""The app's own key ``out-dir``: where the ServerApp writes model.pt, metrics.json, rounds.csv, state.pt."""
HEADER = (
    "# Generated from config.yaml by `python -m ppfer_core.federated.app_config`: edit config.yaml, then rerun it.\n"
    "# strategy: the first of federated.strategies; override any key with flwr run --run-config.\n"
)


def app_run_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The Flower run config of a workflow config (the first strategy of ``federated.strategies``)."""
    return {"out-dir": OUT_DIR, **FedSettings.from_config(config).to_run_config()}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)
    raise TypeError(f"run config values are TOML scalars, got {type(value).__name__}: {value!r}")


def render(run_config: Mapping[str, Any]) -> str:
    """The ``[tool.flwr.app.config]`` table (header comment, then one ``key = value`` line per key)."""
    return TABLE + "\n" + HEADER + "".join(f"{k} = {_toml_value(v)}\n" for k, v in run_config.items())


def updated_pyproject(text: str, run_config: Mapping[str, Any]) -> str:
    """``text`` (a pyproject.toml) with its run-config table replaced by :func:`render`'s (up to the next table)."""
    start = text.find("\n" + TABLE + "\n")
    if start < 0:
        raise ValueError(f"pyproject.toml has no {TABLE} table")
    end = text.find("\n[", start + len(TABLE) + 2)
    rest = "" if end < 0 else "\n" + text[end:].lstrip("\n")
    return text[: start + 1] + render(run_config) + rest


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` verify) the app's run config from the workflow config."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="config.yaml", help="workflow config (default: config.yaml)")
    ap.add_argument(
        "--pyproject", default="flower-app/pyproject.toml", help="the Flower App's pyproject.toml"
    )
    ap.add_argument(
        "--check", action="store_true", help="exit 1 if the pyproject is out of date, write nothing"
    )
    args = ap.parse_args(argv)
    config = yaml.safe_load(Path(args.config).read_text())
    path = Path(args.pyproject)
    text = path.read_text()
    new = updated_pyproject(text, app_run_config(config))
    if new == text:
        print(f"{path}: run config matches {args.config}")
        return 0
    if args.check:
        print(f"{path}: run config differs from {args.config}; run python -m ppfer_core.federated.app_config")
        return 1
    path.write_text(new)
    print(f"{path}: run config written from {args.config}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
