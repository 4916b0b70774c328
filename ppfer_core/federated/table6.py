"""Table 6: federated against centralised training of F_u, per representation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ppfer_core.design import Table6Row
from ppfer_core.stats import ActorInterval
from ppfer_core.tables import Scored, paired_test, rate_interval


def _acc_columns(
    prefix: str, metrics: dict[str, Any], actors: Sequence[str], interval: ActorInterval | None
) -> dict[str, float]:
    """``acc_{prefix}`` and its actor-clustered 95 % interval (Tables 1-5's, from the per-clip ``hits``)."""
    hits = metrics.get("hits")
    if hits is None:
        raise KeyError(
            f"{prefix} metrics of {metrics.get('rep', '?')!r} have no per-clip 'hits' (made by older code?)"
        )
    lo, hi = rate_interval(metrics, actors, interval)
    return {
        f"acc_{prefix}": 100.0 * sum(hits) / len(hits),
        f"acc_{prefix}_lo": round(lo, 3),
        f"acc_{prefix}_hi": round(hi, 3),
    }


def paired_columns(name: str, strategy: str, central: dict[str, Any], fed: dict[str, Any]) -> dict:
    """McNemar's test of the centralised against the federated F_u over the same test clips
    (:func:`ppfer_core.tables.paired_test`, as ``paired_tests.csv``): ``only_central_{strategy}`` clips only
    the centralised F_u gets right, ``only_{strategy}`` only the federated one, ``p_vs_central_{strategy}``
    the two-sided p-value (exact binomial under 25 discordant clips, else chi-square)."""
    t = paired_test("acc", Scored(name, central["hits"], "F_u"), Scored(name, fed["hits"], f"F_u {strategy}"))
    return {
        f"only_central_{strategy}": t["only_a"],
        f"only_{strategy}": t["only_b"],
        f"p_vs_central_{strategy}": t["p_value"],
    }


def _federated_facts(first: dict[str, Any]) -> dict[str, Any]:
    sites = list(first["per_site_acc"].values())
    return dict(
        rounds=int(first["rounds"]),
        local_epochs=int(first["local_epochs"]),
        sites=int(first["sites"]),
        model_bytes=int(first["model_bytes"]),
        bytes_per_round=int(first["bytes_per_round"]),
        site_acc_min=min(sites),
        site_acc_max=max(sites),
        site_acc_spread=max(sites) - min(sites),
    )


def table6(
    rows: Sequence[Table6Row],
    central: dict[str, dict[str, Any]],
    federated: dict[str, dict[str, dict[str, Any]]],
    actors: Sequence[str],
    interval: ActorInterval | None = None,
) -> pd.DataFrame:
    """One row per :class:`~ppfer_core.design.Table6Row`: centralised ACC of F_u on its ``central``
    representation (Table 1's rows: their own; ``central_rep``), federated ACC per strategy on its
    ``rep`` (``federated[strategy][rep]``), each with its 95 % interval clustered by the test clips' ``actors``
    (in the order of the metric files' per-clip ``hits``, :class:`ppfer_core.stats.ActorInterval`), the
    federated ACC's gap to centralised and McNemar's test of the two over the same clips
    (:func:`paired_columns`), rounds, local epochs, sites, bytes sent per round (model size x sites x 2:
    the global model down, the update up), and the spread of the final global model's test ACC over
    the sites."""
    out = []
    for r in rows:
        name, rep = r.approach, r.rep
        row: dict[str, Any] = {
            "approach": name,
            "rep": rep,
            "central_rep": r.central,
            **_acc_columns("central", central[r.central], actors, interval),
        }
        for strategy, by_rep in federated.items():
            m = by_rep[rep]
            row.update(_acc_columns(strategy, m, actors, interval))
            row[f"gap_{strategy}"] = row[f"acc_{strategy}"] - row["acc_central"]
            row.update(paired_columns(name, strategy, central[r.central], m))
        row.update(_federated_facts(federated[next(iter(federated))][rep]))
        out.append(row)
    return pd.DataFrame(out)
