"""The robust variant's privacy / utility curve (issue 14): ``robust.sweep`` trains "Ours (robust)" at
several L1 anchor weights; each point is its ACC against its worst-case PLR over the attack suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ppfer_core.suite import suite_table


def robust_sweep_table(
    l1_weights: Mapping[str, float],
    utility: Mapping[str, Mapping],
    suite: Mapping[str, Mapping],
    actors: Sequence[str],
) -> pd.DataFrame:
    """One row per robust variant (representation -> its L1 weight), by L1 weight: ACC, V_pl's PLR,
    ``plr_worst`` (chosen on validation) with its interval clustered by the test clips' ``actors``,
    its attacker and status, and every attacker's column."""
    reps = list(l1_weights)
    columns = suite_table(reps, suite, actors)
    rows = [
        {
            "representation": rep,
            "l1_weight": float(l1_weights[rep]),
            "acc": round(utility[rep]["acc"], 3),
            **columns[rep],
        }
        for rep in reps
    ]
    return pd.DataFrame(rows).sort_values("l1_weight", kind="stable").reset_index(drop=True)


def plot_robust_sweep(table: pd.DataFrame, path: str | Path, chance: float | None = None) -> None:
    """ACC against ``plr_worst`` (actor-clustered interval as a horizontal bar) per L1 weight, with V_pl's PLR hollow."""
    from ppfer_core.report import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    err = [table["plr_worst"] - table["plr_worst_lo"], table["plr_worst_hi"] - table["plr_worst"]]
    ax.errorbar(
        table["plr_worst"],
        table["acc"],
        xerr=err,
        fmt="o-",
        color="C3",
        capsize=3,
        label="worst-case PLR (suite)",
    )
    ax.scatter(table["plr"], table["acc"], facecolors="none", edgecolors="C0", label="PLR of V_pl (paper)")
    for row in table.itertuples(index=False):
        ax.annotate(
            f"L1 {row.l1_weight:g}",
            (row.plr_worst, row.acc),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=8,
        )
    if chance is not None:
        ax.axvline(chance, color="grey", ls="--", lw=1, label=f"identity chance ({chance:.1f}%)")
        ax.axvline(2 * chance, color="grey", ls=":", lw=1, label="2 x chance")
    ax.set_xlabel("privacy leakage ratio PLR (%)  <- better")
    ax.set_ylabel("video FER accuracy ACC (%)  better ->")
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.set_title("Ours (robust): privacy / utility by L1 anchor weight", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
