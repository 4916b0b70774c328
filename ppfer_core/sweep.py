""" "Ours (robust)"'s privacy / utility frontier (issues 14, 29): ``robust.sweep`` trains "Ours (robust)"
once per point, one factor at a time around the robust.* defaults (the L1 anchor, the adversary steps per
enhancer step, the ensemble size, the members' aggregate); each point is its ACC against its worst-case
PLR over the attack suite, drawn beside other methods' points (:func:`reference_points`).
"Ours (bottleneck)"'s (issue 27): one point per basis size k (``bottleneck.sweep``), the same axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ppfer_core.design import ROBUST_DEFAULT, compensated_name
from ppfer_core.suite import WORST_COLUMNS, suite_table

POINT_COLUMNS = (
    ("l1_weight", "l1_weight", float),
    ("steps", "adversary_steps", int),
    ("scratch", "ensemble", int),
    ("aggregate", "aggregate", str),
)
"""A sweep point's keys -> (table column, type): the L1 anchor, adversary steps, scratch members,
the members' aggregate."""
DEFAULT = compensated_name(ROBUST_DEFAULT)  # the sweep's centre, ours-robust: robust.* as configured
LABELS = {
    "l1_weight": "L1 {:g}",
    "adversary_steps": "{:d} adv. steps",
    "ensemble": "{:d} scratch",
    "aggregate": "{}",
}


def robust_sweep_table(
    points: Mapping[str, Mapping[str, float]],
    utility: Mapping[str, Mapping],
    suite: Mapping[str, Mapping],
    actors: Sequence[str],
) -> pd.DataFrame:
    """One row per robust variant (representation -> its point {l1_weight, steps, scratch, aggregate}),
    ordered by aggregate, adversary steps, ensemble and L1 weight: the point's columns, ACC, V_pl's
    PLR, ``plr_worst`` (chosen on validation) with its interval clustered by the test clips' ``actors``, its attacker and status,
    and every attacker's column."""
    reps = list(points)
    columns = suite_table(reps, suite, actors)
    rows = [
        {
            "representation": rep,
            **{column: cast(points[rep][key]) for key, column, cast in POINT_COLUMNS},
            "acc": round(utility[rep]["acc"], 3),
            **columns[rep],
        }
        for rep in reps
    ]
    order = ["aggregate", "adversary_steps", "ensemble", "l1_weight"]
    return pd.DataFrame(rows).sort_values(order, kind="stable").reset_index(drop=True)


REFERENCE_COLUMNS = ("label", "acc", "plr_worst", "plr_worst_lo", "plr_worst_hi")
"""A reference point beside the robust frontier: its label, ACC and plr_worst with its interval."""


def reference_points(
    reps: Mapping[str, str],
    utility: Mapping[str, Mapping],
    suite: Mapping[str, Mapping],
    actors: Sequence[str],
) -> pd.DataFrame:
    """Other methods' points to draw beside the robust frontier (:data:`REFERENCE_COLUMNS`): each of
    ``reps`` (representation -> label, e.g. Ours (bottleneck)) from its utility and suite metrics as the
    sweep's own rows. The bottleneck's k-sweep is not read here: when a run has both sweeps, rule
    bottleneck_sweep takes robust_sweep.csv as a declared input and draws both frontiers on its figure
    (reading it here too would be a dependency cycle, or an undeclared one)."""
    columns = suite_table(list(reps), suite, actors)
    rows = [
        {"label": label, "acc": round(utility[rep]["acc"], 3), **columns[rep]} for rep, label in reps.items()
    ]
    if not rows:
        return pd.DataFrame(columns=list(REFERENCE_COLUMNS))
    return pd.DataFrame(rows)[list(REFERENCE_COLUMNS)].reset_index(drop=True)


def point_labels(table: pd.DataFrame, default: str = DEFAULT) -> list[str]:
    """Each row's label by what it varies: its point values that differ from the ``default``
    representation's row (the robust.* defaults); the default row (or every row, without one) by all."""
    columns = [column for _, column, _ in POINT_COLUMNS]
    base = table[table["representation"] == default]
    labels = []
    for row in table.itertuples(index=False):
        varied = [c for c in columns if len(base) and getattr(row, c) != base[c].iloc[0]] or columns
        labels.append(", ".join(LABELS[c].format(getattr(row, c)) for c in varied))
    return labels


def plot_robust_sweep(
    table: pd.DataFrame,
    path: str | Path,
    chance: float | None = None,
    default: str = DEFAULT,
    references: pd.DataFrame | None = None,
) -> None:
    """ACC against ``plr_worst`` (actor-clustered interval as a horizontal bar) per sweep point, labelled by what it
    varies from ``default`` (:func:`point_labels`), with V_pl's PLR hollow, and ``references``
    (:func:`reference_points`: other methods at the same axes) beside it."""
    from ppfer_core.report import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    err = [table["plr_worst"] - table["plr_worst_lo"], table["plr_worst_hi"] - table["plr_worst"]]
    ax.errorbar(
        table["plr_worst"],
        table["acc"],
        xerr=err,
        fmt="o",
        color="C3",
        capsize=3,
        label="worst-case PLR (suite)",
    )
    ax.scatter(table["plr"], table["acc"], facecolors="none", edgecolors="C0", label="PLR of V_pl (paper)")
    for label, x, y in zip(point_labels(table, default), table["plr_worst"], table["acc"], strict=True):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    if references is not None and len(references):
        _draw_references(ax, references)
    if chance is not None:
        ax.axvline(chance, color="grey", ls="--", lw=1, label=f"identity chance ({chance:.1f}%)")
        ax.axvline(2 * chance, color="grey", ls=":", lw=1, label="2 x chance")
    ax.set_xlabel("privacy leakage ratio PLR (%)  <- better")
    ax.set_ylabel("video FER accuracy ACC (%)  better ->")
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.set_title(
        "Ours (robust): privacy / utility by L1 anchor, adversary steps, ensemble, aggregate", fontsize=9
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------------------- the bottleneck's k-sweep
SWEEP_HEAD = (
    "representation",
    "k",
    "acc",
    *WORST_COLUMNS,
)
"""The k-sweep table's first columns: the point, its ACC, ``plr_worst`` (the attacker chosen on the
validation slice, scored on test) with its actor-clustered interval, attacker and status, and the
optimistic maximum over test (``plr_max_test``) with its attacker; every attacker's column follows."""


def bottleneck_sweep_table(
    points: Mapping[str, int],
    utility: Mapping[str, Mapping],
    suite: Mapping[str, Mapping],
    actors: Sequence[str],
) -> pd.DataFrame:
    """results/tables/bottleneck_sweep.csv: one row per point of the k-sweep (representation -> its basis
    size k), ordered by k: :data:`SWEEP_HEAD`, then every other column of the attack suite (the code
    attackers' and ``plr_landmarks`` among them). ``utility``: representation -> F_u's metrics (``acc``)."""
    reps = list(points)
    columns = suite_table(reps, suite, actors)
    rows = [
        {"representation": rep, "k": int(points[rep]), "acc": round(utility[rep]["acc"], 3), **columns[rep]}
        for rep in reps
    ]
    table = pd.DataFrame(rows).sort_values("k", kind="stable").reset_index(drop=True)
    return table[[*SWEEP_HEAD, *(c for c in table.columns if c not in SWEEP_HEAD)]]


def _frontier(ax: Any, table: pd.DataFrame, labels: Sequence[str], color: str, name: str) -> None:
    """One method's points: ACC against ``plr_worst`` with its interval, labelled, joined in table order."""
    err = [table["plr_worst"] - table["plr_worst_lo"], table["plr_worst_hi"] - table["plr_worst"]]
    ax.errorbar(table["plr_worst"], table["acc"], xerr=err, fmt="o-", color=color, capsize=3, label=name)
    for label, x, y in zip(labels, table["plr_worst"], table["acc"], strict=True):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7, color=color)


def plot_bottleneck_sweep(
    table: pd.DataFrame, path: str | Path, chance: float | None = None, robust: pd.DataFrame | None = None
) -> None:
    """ACC against the worst-case PLR per k (:func:`bottleneck_sweep_table`), and with ``robust`` (the
    robust sweep's table, :func:`robust_sweep_table`) "Ours (robust)"'s points on the same axes."""
    from ppfer_core.report import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    _frontier(ax, table, [f"k={k}" for k in table["k"]], "C2", "Ours (bottleneck), by k")
    if robust is not None:
        _frontier(
            ax,
            robust.sort_values("plr_worst"),
            point_labels(robust.sort_values("plr_worst")),
            "C3",
            "Ours (robust)",
        )
    if chance is not None:
        ax.axvline(chance, color="grey", ls="--", lw=1, label=f"identity chance ({chance:.1f}%)")
        ax.axvline(2 * chance, color="grey", ls=":", lw=1, label="2 x chance")
    ax.set_xlabel("worst-case privacy leakage ratio plr_worst (%)  <- better")
    ax.set_ylabel("video FER accuracy ACC (%)  better ->")
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.set_title("Privacy / utility: the bottleneck's basis size k", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _draw_references(ax: Any, references: pd.DataFrame) -> None:
    err = [
        references["plr_worst"] - references["plr_worst_lo"],
        references["plr_worst_hi"] - references["plr_worst"],
    ]
    ax.errorbar(
        references["plr_worst"],
        references["acc"],
        xerr=err,
        fmt="s",
        color="C2",
        capsize=3,
        label="other methods (suite)",
    )
    for label, x, y in zip(references["label"], references["plr_worst"], references["acc"], strict=True):
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, -9), fontsize=7, color="C2")
