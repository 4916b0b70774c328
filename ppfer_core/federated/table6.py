"""Table 6: federated against centralised training of F_u, per representation."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ppfer_core.stats import wilson_interval


def _acc_columns(prefix: str, correct: int, n: int) -> dict[str, float]:
    lo, hi = wilson_interval(correct, n)
    return {f"acc_{prefix}": 100.0 * correct / n, f"acc_{prefix}_lo": lo, f"acc_{prefix}_hi": hi}


def central_correct(metrics: dict[str, Any]) -> tuple[int, int]:
    """Correct test clips and test clips of a utility metrics file (ACC in percent of n)."""
    n = int(metrics["n"])
    return int(round(metrics["acc"] * n / 100.0)), n


def table6(
    rows: list[tuple[str, str]],
    central: dict[str, dict[str, Any]],
    federated: dict[str, dict[str, dict[str, Any]]],
) -> pd.DataFrame:
    """One row per (approach, representation): centralised ACC (Table 1's), federated ACC per strategy
    (``federated[strategy][rep]``) with Wilson 95 % intervals, its gap to centralised, rounds, local
    epochs, sites, bytes sent per round (model size x sites x 2: the global model down, the update
    up), and the spread of the final global model's test ACC over the sites."""
    out = []
    for name, rep in rows:
        row: dict[str, Any] = {
            "approach": name,
            "rep": rep,
            **_acc_columns("central", *central_correct(central[rep])),
        }
        for strategy, by_rep in federated.items():
            m = by_rep[rep]
            row.update(_acc_columns(strategy, int(m["correct"]), int(m["n"])))
            row[f"gap_{strategy}"] = row[f"acc_{strategy}"] - row["acc_central"]
        first = federated[next(iter(federated))][rep]
        sites = list(first["per_site_acc"].values())
        row.update(
            rounds=int(first["rounds"]),
            local_epochs=int(first["local_epochs"]),
            sites=int(first["sites"]),
            model_bytes=int(first["model_bytes"]),
            bytes_per_round=int(first["bytes_per_round"]),
            site_acc_min=min(sites),
            site_acc_max=max(sites),
            site_acc_spread=max(sites) - min(sites),
        )
        out.append(row)
    return pd.DataFrame(out)
