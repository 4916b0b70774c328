"""Table 1's two blur rows (paper §4.3) picked from the blur sweep: "Gaussian Blur 1", the sigma whose PLR
is nearest Ours' from above (on the figure ``baselines.blur.match`` names: by default ``plr_worst``'s
rate on the validation slice of train), and "Gaussian Blur 2", the sigma whose ACC is nearest Ours'
from below (on F_u's validation slice of train, :mod:`ppfer_core.utility`; issue 26: no test figure).
The sweep's representations come from :mod:`ppfer_core.baselines`; the placeholders Table 1's design
rows use are :data:`ppfer_core.baselines.MATCH_PLR` / :data:`~ppfer_core.baselines.MATCH_ACC`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from ppfer_core.baselines import MATCH_ACC, MATCH_PLR
from ppfer_core.families import BLUR_REFERENCE

BLUR_MATCH_LABELS = {
    "plr_worst": "plr_worst's attacker on the validation slice of train",
    "vpl": "V_pl's test PLR",
    "validator": "the independent validator's test PLR",
}
"""How Table 1's ``setting`` of Gaussian Blur 1 names what it was matched on."""

BLUR_MATCH = tuple(BLUR_MATCH_LABELS)
"""What Gaussian Blur 1 is matched to Ours on (``baselines.blur.match``): ``plr_worst``, the rate of the
attacker ``plr_worst`` chooses, on the validation slice of train that chose it (no test clip; the
default, issue 26); ``vpl``, V_pl's test PLR (the paper's matching); ``validator``, the independent
validator's test PLR (the table's PLR column)."""


def blur_match_plr(
    match_on: str,
    reps: Sequence[str],
    leakage: Mapping[str, Mapping],
    worst_on_validation: Callable[[str], tuple[str, float]],
) -> dict[str, float]:
    """Per representation (Ours and the blur sweep), the PLR figure Gaussian Blur 1 is matched on
    (:data:`BLUR_MATCH`); ``worst_on_validation(rep)``: ``plr_worst``'s attacker and validation rate
    (:func:`ppfer_core.suite.worst_on_validation`)."""
    if match_on == "plr_worst":
        return {r: worst_on_validation(r)[1] for r in reps}
    if match_on == "vpl":
        return {r: leakage[r]["vpl"]["plr"] for r in reps}
    if match_on == "validator":
        return {r: leakage[r]["plr"] for r in reps}
    raise ValueError(f"baselines.blur.match must be one of {', '.join(BLUR_MATCH)}, got {match_on!r}")


BLUR_ACC_LABEL = "F_u's validation slice of train"
"""How Table 1's ``setting`` of Gaussian Blur 2 names what it was matched on (:func:`blur_match_acc`)."""


def blur_match_acc(reps: Sequence[str], utility: Mapping[str, Mapping]) -> dict[str, float]:
    """Per representation (Ours and the blur sweep), the ACC figure Gaussian Blur 2 is matched on: F_u's
    accuracy on its validation slice of train (``val_acc`` of ``metrics/utility/{rep}.json``, the same
    train clips for every representation; no test clip)."""
    missing = [r for r in reps if utility[r].get("val_acc") is None]
    if missing:
        raise ValueError(
            f"metrics/utility/{{{','.join(missing)}}}.json have no val_acc (F_u's validation slice, "
            "utility.val_fraction): Gaussian Blur 2 is matched on it; rerun rule utility"
        )
    return {r: float(utility[r]["val_acc"]) for r in reps}


def match_blur(sweep: pd.DataFrame, ours_plr: float, ours_acc: float) -> pd.DataFrame:
    """The paper's matching rule on a sweep (columns ``sigma, plr, acc``, optionally ``rep``).

    "Gaussian Blur 1": the smallest PLR that is >= ours' PLR; "Gaussian Blur 2": the largest ACC
    that is <= ours' ACC. Ties go to the other metric's better value (higher ACC, lower PLR), then
    the smaller sigma. When no sigma qualifies, the sigma nearest ours on that metric is taken and
    ``fallback`` is True. Returns one row per approach: approach, criterion, sigma, plr, acc,
    (rep,) fallback.
    """
    if sweep.empty:
        raise ValueError("the blur sweep is empty")
    df = sweep.reset_index(drop=True)
    out = []
    for approach, metric, ours, qualifies, key, other in (
        ("Gaussian Blur 1", "plr", ours_plr, df["plr"] >= ours_plr, df["plr"], -df["acc"]),
        ("Gaussian Blur 2", "acc", ours_acc, df["acc"] <= ours_acc, -df["acc"], df["plr"]),
    ):
        order = pd.DataFrame(
            {"q": ~qualifies, "d": (df[metric] - ours).abs(), "k": key, "o": other, "s": df["sigma"]}
        )
        if qualifies.any():
            best = order[~order["q"]].sort_values(["k", "o", "s"], kind="stable").index[0]
        else:
            best = order.sort_values(["d", "o", "s"], kind="stable").index[0]
        row = df.loc[best].to_dict()
        side = ">=" if metric == "plr" else "<="
        out.append(
            {
                "approach": approach,
                "criterion": f"{metric} {side} ours ({ours:.3f})",
                **{k: row[k] for k in ("sigma", "plr", "acc", "rep") if k in row},
                "fallback": not bool(qualifies.any()),
            }
        )
    return pd.DataFrame(out)


def _sweep_table(
    figure: Mapping[str, float],
    acc_figure: Mapping[str, float],
    leakage: Mapping[str, Mapping],
    blur_sigmas: Mapping[str, float],
    extra: bool,
) -> pd.DataFrame:
    """The blur sweep by sigma as matched: rep, sigma, the PLR and ACC figures matched on, (plr_vpl,)
    chosen_as ("")."""
    sweep = (
        pd.DataFrame(
            [
                {
                    "rep": r,
                    "sigma": float(s),
                    "plr": figure[r],
                    "acc": acc_figure[r],
                    **_sweep_extra(leakage[r], extra),
                }
                for r, s in blur_sigmas.items()
            ]
        )
        .sort_values("sigma", kind="stable")
        .reset_index(drop=True)
    )
    sweep["chosen_as"] = ""
    return sweep


def _reported_sweep(
    sweep: pd.DataFrame, leakage: Mapping[str, Mapping], utility: Mapping[str, Mapping], matched_plr: bool
) -> pd.DataFrame:
    """The sweep as ``blur_sweep.csv`` reports it: the table's test figures in ``plr`` and ``acc``, the
    figures matched on beside them (``val_acc``: F_u's validation slice; ``match_plr`` when Blur 1's
    figure is not the PLR column)."""
    out = sweep.copy()
    out.insert(list(out.columns).index("acc") + 1, "val_acc", out["acc"])
    out["acc"] = [utility[r]["acc"] for r in out["rep"]]
    if matched_plr:  # the table's PLR column, whatever Blur 1 was matched on
        out["match_plr"] = out["plr"]
        out["plr"] = [leakage[r]["plr"] for r in out["rep"]]
    return out


def _setting(approach: str, m: pd.Series, label: str, log: Callable[[str], None] | None) -> str:
    """Table 1's ``setting`` of a matched blur row (``m``: its :func:`match_blur` row): the sigma, a
    fallback note (logged) and what the row was matched on (``label``)."""
    setting = f"sigma={m['sigma']:g}" + (" (nearest: none qualifies)" if m["fallback"] else "")
    if m["fallback"] and log is not None:
        log(
            f"WARNING {approach}: no blur sigma meets '{m['criterion']}'; took the nearest, sigma={m['sigma']:g} "
            f"(matched PLR {m['plr']:.3f}, ACC {m['acc']:.3f}): widen baselines.blur.sigmas"
        )
    return setting + (f"; {m['criterion'].split()[0].upper()} matched on {label}" if label else "")


def resolve_table1_rows(
    rows: Sequence[tuple[str, str]],
    leakage: Mapping[str, Mapping],
    utility: Mapping[str, Mapping],
    blur_sigmas: Mapping[str, float],
    ours: str = BLUR_REFERENCE,
    log: Callable[[str], None] | None = None,
    match_plr: Mapping[str, float] | None = None,
    match_label: str = "",
) -> tuple[list[tuple[str, str]], dict[str, str], pd.DataFrame]:
    """Replace the :data:`MATCH_PLR` / :data:`MATCH_ACC` placeholders of Table 1's rows by the blur
    representation :func:`match_blur` picks from the sweep ``blur_sigmas`` (rep -> sigma).

    ``match_plr``: the PLR figure per representation (Ours and the sweep) Blur 1 is matched on
    (:func:`blur_match_plr`); None: each leakage record's ``plr``; ``match_label`` (e.g.
    :data:`BLUR_MATCH_LABELS`) is appended to Blur 1's setting. Blur 2 is matched on F_u's validation
    ACC (:func:`blur_match_acc`; no test figure), which its setting names. Returns the resolved rows, a
    ``setting`` per approach (e.g. ``sigma=2``; ``(nearest: none qualifies)`` appended on a fallback)
    and the sweep table (rep, sigma, plr, acc, val_acc, (plr_vpl,) chosen_as, (match_plr)).
    """
    figure = match_plr if match_plr is not None else {r: lk["plr"] for r, lk in leakage.items()}
    acc_figure = blur_match_acc([ours, *blur_sigmas], utility)
    sweep = _sweep_table(figure, acc_figure, leakage, blur_sigmas, match_plr is not None)
    placeholders = {
        MATCH_PLR: ("Gaussian Blur 1", match_label),
        MATCH_ACC: ("Gaussian Blur 2", BLUR_ACC_LABEL),
    }
    resolved, settings = [], {}
    if any(rep in placeholders for _, rep in rows):
        matched = match_blur(sweep, figure[ours], acc_figure[ours]).set_index("approach")
        for approach, rep in rows:
            if rep in placeholders:
                name, label = placeholders[rep]
                m = matched.loc[name]
                rep, settings[approach] = m["rep"], _setting(approach, m, label, log)
                i = sweep.index[sweep["rep"] == rep][0]
                sweep.loc[i, "chosen_as"] = "; ".join(filter(None, [sweep.loc[i, "chosen_as"], approach]))
            resolved.append((approach, rep))
    else:
        resolved = list(rows)
    return resolved, settings, _reported_sweep(sweep, leakage, utility, match_plr is not None)


def _sweep_extra(lk: Mapping, matched: bool) -> dict[str, float]:
    """The blur sweep's V_pl column (``plr_vpl``) when its records have it."""
    return {"plr_vpl": lk["vpl"]["plr"]} if matched and "vpl" in lk else {}
