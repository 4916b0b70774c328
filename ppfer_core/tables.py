"""Assembly of the paper's tables from metric files (numbers are never typed in, only read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ppfer_core import EMOTIONS
from ppfer_core.stats import wilson_interval

Metrics = Mapping[str, Mapping]


def table1(
    rows: Sequence[tuple[str, str]],
    leakage: Metrics,
    utility: Metrics,
    settings: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Table 1: approach, PLR, ACC, chance (percent), one row per (approach, representation);
    ``settings``: an approach's chosen setting (e.g. the blur sigma), in column ``setting``."""
    out = []
    for approach, rep in rows:
        lk, ut = leakage[rep], utility[rep]
        out.append(
            {
                "approach": approach,
                "plr": round(lk["plr"], 3),
                "acc": round(ut["acc"], 3),
                "chance": round(lk["chance"], 3),
                "representation": rep,
                "setting": (settings or {}).get(approach, ""),
                "plr_correct": lk["correct"],
                "n_test": lk["n"],
            }
        )
    return pd.DataFrame(out)


def table2(rows: Sequence[tuple[str, str]], utility: Metrics) -> pd.DataFrame:
    """Table 2: per-class FER accuracy (percent) and the overall accuracy as Avg."""
    out = []
    for name, rep in rows:
        per_class = utility[rep]["per_class"]
        out.append(
            {
                "exp": name,
                **{e: round(per_class[e], 3) for e in EMOTIONS},
                "Avg": round(utility[rep]["acc"], 3),
            }
        )
    return pd.DataFrame(out)


def table4(tasks: Sequence[Mapping], leakage: Metrics, utility: Metrics) -> pd.DataFrame:
    """Table 4: one row per ablation task spec (components on/off) with its representation's PLR and ACC."""
    cols = ["transform", "enhancers", "controller", "compensator", "compensator_controller"]
    rows = []
    for t in tasks:
        rep = t["rep"]
        rows.append(
            {
                "task": t["task"],
                **{c: bool(t[c]) for c in cols},
                "plr": round(leakage[rep]["plr"], 3),
                "acc": round(utility[rep]["acc"], 3),
                "representation": rep,
            }
        )
    return pd.DataFrame(rows)


def table3(
    rows: Sequence[str], table1: pd.DataFrame, recovery: Metrics, leakage: Metrics, adaptive: Metrics
) -> pd.DataFrame:
    """Table 3 (threat model): per approach (named as in Table 1, whose ``representation`` column says which
    method output it is), SSIM / PSNR of the recovered test frames, PLR of V_pl on them, and the adaptive
    attacker's PLR on the method's own outputs (``plr_adaptive``, beyond the paper)."""
    t1 = table1.set_index("approach")
    out = []
    for approach in rows:
        rep = t1.loc[approach, "representation"]
        rec, lk = recovery[rep], leakage[f"recovered-{rep}"]
        out.append(
            {
                "approach": approach,
                "ssim": round(rec["ssim"], 4),
                "psnr": round(rec["psnr"], 3),
                "plr": round(lk["plr"], 3),
                "plr_adaptive": round(adaptive[rep]["plr"], 3),
                "chance": round(lk["chance"], 3),
                "representation": rep,
                "setting": "" if pd.isna(t1.loc[approach, "setting"]) else t1.loc[approach, "setting"],
            }
        )
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------- 95 % intervals


def rate_interval(metrics: Mapping, rate: str) -> tuple[float, float]:
    """95 % Wilson interval (percent) of a metric file's rate ``rate`` (``plr`` or ``acc``) over its
    ``n`` test clips; the count of correct clips is ``correct`` when the file has it, else rate x n."""
    n = int(metrics["n"])
    correct = int(metrics["correct"]) if "correct" in metrics else int(round(metrics[rate] * n / 100.0))
    return wilson_interval(correct, n)


def add_interval_columns(
    table: pd.DataFrame, column: str, metrics: Sequence[Mapping], rate: str | None = None
) -> pd.DataFrame:
    """Append ``{column}_lo`` and ``{column}_hi``: the 95 % Wilson interval of each row's rate, from
    that row's metric file in ``metrics`` (one per row, in order; ``rate``: its key, default ``column``)."""
    if len(metrics) != len(table):
        raise ValueError(f"{len(metrics)} metric files for {len(table)} rows of column {column}")
    bounds = [rate_interval(m, rate or column) for m in metrics]
    out = table.copy()
    out[f"{column}_lo"] = [round(lo, 3) for lo, _ in bounds]
    out[f"{column}_hi"] = [round(hi, 3) for _, hi in bounds]
    return out


def add_plr_acc_intervals(
    table: pd.DataFrame, leakage: Metrics, utility: Metrics, rep_column: str = "representation"
) -> pd.DataFrame:
    """Tables 1 and 4: ``plr_lo, plr_hi, acc_lo, acc_hi`` of every row's representation."""
    reps = list(table[rep_column])
    out = add_interval_columns(table, "plr", [leakage[r] for r in reps])
    return add_interval_columns(out, "acc", [utility[r] for r in reps])


def add_task_column(table: pd.DataFrame, tasks: Sequence[Mapping], key: str) -> pd.DataFrame:
    """Append column ``key`` to Table 4 from each task spec (empty where a task has none), e.g. the
    MSE target that tells task 4's two readings apart."""
    if len(tasks) != len(table):
        raise ValueError(f"{len(tasks)} task specs for {len(table)} rows")
    out = table.copy()
    out[key] = [t.get(key, "") for t in tasks]
    return out


def _rate(correct: int, n: int) -> dict[str, float]:
    lo, hi = wilson_interval(correct, n)
    return {"value": round(100.0 * correct / n, 3), "lo": round(lo, 3), "hi": round(hi, 3)}


def table5(
    rows: list[tuple[str, str]],
    falsification: dict[str, dict],
    utility: dict[str, dict],
    prior: str = "video_prior",
    second: str = "vpl",
) -> pd.DataFrame:
    """Table 5 (open set): per (approach, representation) the source re-identification figures of
    the label-free ``prior`` (rank-1 / identity rank-1 with Wilson 95 % intervals), the open-set
    ACC of F_u (with its interval), and rank-1 / AUC / identity rank-1 under the ``second`` prior."""
    out = []
    for approach, rep in rows:
        f, s, u = falsification[rep][prior], falsification[rep][second], utility[rep]
        r1 = _rate(f["rank1_correct"], f["n"])
        idr1 = _rate(f["identity_rank1_correct"], f["n"])
        acc = _rate(int(round(u["acc"] * u["n"] / 100.0)), u["n"])
        out.append(
            {
                "approach": approach,
                "rank1": r1["value"],
                "rank5": round(f["rank5"], 3),
                "chance": round(f["chance"], 3),
                "auc": round(f["auc"], 4),
                "eer": round(f["eer"], 3),
                "identity_rank1": idr1["value"],
                "acc": acc["value"],
                "rank1_lo": r1["lo"],
                "rank1_hi": r1["hi"],
                "identity_rank1_lo": idr1["lo"],
                "identity_rank1_hi": idr1["hi"],
                "identity_chance": round(f["identity_chance"], 3),
                "acc_lo": acc["lo"],
                "acc_hi": acc["hi"],
                f"rank1_{second}": round(s["rank1"], 3),
                f"auc_{second}": round(s["auc"], 4),
                f"identity_rank1_{second}": round(s["identity_rank1"], 3),
                "representation": rep,
                "n_test": f["n"],
            }
        )
    return pd.DataFrame(out)


def open_set_goals(table: pd.DataFrame, method: str, reference: str) -> dict[str, object]:
    """The issue's goals for ``method``: identity rank-1 <= 2 x identity chance, AUC <= 0.6,
    ACC >= 90 % of ``reference``'s (No Privacy Preservation) open-set ACC."""
    t = table.set_index("approach")
    m, ref = t.loc[method], t.loc[reference]
    return {
        "identity_rank1_le_2x_chance": bool(m["identity_rank1"] <= 2 * m["identity_chance"]),
        "auc_le_0.6": bool(m["auc"] <= 0.6),
        "acc_ge_90pct_npp": bool(m["acc"] >= 0.9 * ref["acc"]),
        "acc_ratio": round(float(m["acc"] / ref["acc"]), 4) if ref["acc"] > 0 else None,
    }
