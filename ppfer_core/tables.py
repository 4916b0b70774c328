"""Assembly of the paper's tables from metric files (numbers are never typed in, only read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ppfer_core import EMOTIONS
from ppfer_core.stats import ActorInterval, expression_chance, mcnemar, wilson_interval

RETRAINED = "retrained"
"""Table 5's recogniser of the retrained open-set attacker (rule open_attack, :mod:`ppfer_core.open_attack`)."""

Metrics = Mapping[str, Mapping]


def table1(
    rows: Sequence[tuple[str, str]],
    leakage: Metrics,
    utility: Metrics,
    settings: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Table 1: approach, PLR (the independent validator's: the paper's column), ``plr_vpl`` (V_pl's,
    beside it), ACC, chance (percent), one row per (approach, representation); ``settings``: an
    approach's chosen setting (e.g. the blur sigma), in column ``setting``."""
    out = []
    for approach, rep in rows:
        lk, ut = leakage[rep], utility[rep]
        out.append(
            {
                "approach": approach,
                "plr": round(lk["plr"], 3),
                "plr_vpl": vpl_plr(lk),
                "acc": round(ut["acc"], 3),
                "chance": round(lk["chance"], 3),
                "representation": rep,
                "setting": (settings or {}).get(approach, ""),
                "plr_correct": lk["correct"],
                "n_test": lk["n"],
            }
        )
    return pd.DataFrame(out)


def vpl_plr(record: Mapping) -> float:
    """V_pl's PLR of a leakage record (:func:`ppfer_core.evaluation.score_leakage`), rounded."""
    if "vpl" not in record:
        raise KeyError(
            f"leakage record of {record.get('rep', '?')!r} has no V_pl reading 'vpl' (made by older code? rerun leakage)"
        )
    return round(record["vpl"]["plr"], 3)


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
    """Table 4: one row per ablation task spec (components on/off) with its representation's PLR (the
    independent validator's), V_pl's PLR (``plr_vpl``) and ACC."""
    cols = ["transform", "enhancers", "controller", "compensator", "compensator_controller"]
    rows = []
    for t in tasks:
        rep = t["rep"]
        rows.append(
            {
                "task": t["task"],
                **{c: bool(t[c]) for c in cols},
                "plr": round(leakage[rep]["plr"], 3),
                "plr_vpl": vpl_plr(leakage[rep]),
                "acc": round(utility[rep]["acc"], 3),
                "representation": rep,
            }
        )
    return pd.DataFrame(rows)


def table3(
    rows: Sequence[str], table1: pd.DataFrame, recovery: Metrics, leakage: Metrics, adaptive: Metrics
) -> pd.DataFrame:
    """Table 3 (threat model): per approach (named as in Table 1, whose ``representation`` column says which
    method output it is), SSIM / PSNR of the recovered test frames, PLR on them (the independent
    validator's, and V_pl's as ``plr_vpl``), and the adaptive
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
                "plr_vpl": vpl_plr(lk),
                "plr_adaptive": round(adaptive[rep]["plr"], 3),
                "chance": round(lk["chance"], 3),
                "representation": rep,
                "setting": "" if pd.isna(t1.loc[approach, "setting"]) else t1.loc[approach, "setting"],
            }
        )
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------- 95 % intervals


def test_actors(index: pd.DataFrame, split: str = "test") -> list[str]:
    """The actor of every clip of ``split`` in index row order (the order of the metric files' ``hits``)."""
    rows = index[index["split"] == split].sort_values("row")
    if rows.empty:
        raise ValueError(f"the index has no {split!r} clips")
    return rows["actor"].astype(str).tolist()


def acc_chance(index: pd.DataFrame, split: str = "test") -> float:
    """Expression chance (percent) of the index's ``split`` emotions (:func:`ppfer_core.stats.expression_chance`)."""
    return round(expression_chance(index[index["split"] == split]["label"].to_numpy()), 3)


def rate_interval(
    metrics: Mapping, actors: Sequence[str], interval: ActorInterval | None = None
) -> tuple[float, float]:
    """95 % interval (percent) of a metric file's rate, clustered by actor: a bootstrap over the test
    clips' ``actors`` (:class:`ppfer_core.stats.ActorInterval`) of its per-clip ``hits``."""
    if "hits" not in metrics:
        raise KeyError(
            f"metrics of {metrics.get('rep', '?')!r} have no per-clip 'hits' (made by older code?)"
        )
    ci = (interval or ActorInterval()).of(metrics["hits"], actors)
    return ci.lo, ci.hi


def add_interval_columns(
    table: pd.DataFrame, column: str, metrics: Sequence[Mapping], actors: Sequence[str]
) -> pd.DataFrame:
    """Append ``{column}_lo`` and ``{column}_hi``: the actor-clustered 95 % interval of each row's rate,
    from that row's metric file in ``metrics`` (one per row, in order; :func:`rate_interval`)."""
    if len(metrics) != len(table):
        raise ValueError(f"{len(metrics)} metric files for {len(table)} rows of column {column}")
    bounds = [rate_interval(m, actors) for m in metrics]
    out = table.copy()
    out[f"{column}_lo"] = [round(lo, 3) for lo, _ in bounds]
    out[f"{column}_hi"] = [round(hi, 3) for _, hi in bounds]
    return out


def add_plr_acc_intervals(
    table: pd.DataFrame,
    leakage: Metrics,
    utility: Metrics,
    actors: Sequence[str],
    rep_column: str = "representation",
) -> pd.DataFrame:
    """Tables 1 and 4: ``plr_lo, plr_hi, plr_vpl_lo, plr_vpl_hi, acc_lo, acc_hi`` of every row's
    representation (actor-clustered)."""
    reps = list(table[rep_column])
    out = add_interval_columns(table, "plr", [leakage[r] for r in reps], actors)
    out = add_interval_columns(out, "plr_vpl", [leakage[r]["vpl"] for r in reps], actors)
    return add_interval_columns(out, "acc", [utility[r] for r in reps], actors)


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
    index: pd.DataFrame,
    identities: pd.DataFrame,
    prior: str = "video_prior",
    others: Sequence[str] = ("vpl", RETRAINED),
) -> pd.DataFrame:
    """Table 5 (open set): per (approach, representation) the source re-identification figures of
    the label-free ``prior`` (rank-1 / identity rank-1 with Wilson 95 % intervals), the open-set
    ACC of F_u (with its interval clustered by the test actors of the evaluation-only ``identities``
    table, rows as in the label-free ``index``) and the expression chance ``acc_chance`` of ``index``'s
    test emotions, and rank-1 / AUC / identity rank-1 and the identity-level figures under each of the
    ``others`` recognisers (column suffix ``_{name}``: V_pl's features, the retrained open-set attacker,
    whose ``status_retrained`` says converged or budget)."""
    actors, chance = test_actors(identities), acc_chance(index)
    out = []
    for approach, rep in rows:
        f, u = falsification[rep][prior], utility[rep]
        r1 = _rate(f["rank1_correct"], f["n"])
        idr1 = _rate(f["identity_rank1_correct"], f["n"])
        acc_lo, acc_hi = rate_interval(u, actors)
        out.append(
            {
                "approach": approach,
                "rank1": r1["value"],
                "rank5": round(f["rank5"], 3),
                "chance": round(f["chance"], 3),
                "auc": round(f["auc"], 4),
                "eer": round(f["eer"], 3),
                "identity_rank1": idr1["value"],
                "acc": round(u["acc"], 3),
                "rank1_lo": r1["lo"],
                "rank1_hi": r1["hi"],
                "identity_rank1_lo": idr1["lo"],
                "identity_rank1_hi": idr1["hi"],
                "identity_chance": round(f["identity_chance"], 3),
                "acc_lo": round(acc_lo, 3),
                "acc_hi": round(acc_hi, 3),
                "acc_chance": chance,
                **identity_level(f),
                **{k: v for name in others for k, v in recogniser_columns(falsification[rep], name).items()},
                "representation": rep,
                "n_test": f["n"],
            }
        )
    return pd.DataFrame(out)


def recogniser_columns(figures: Mapping, name: str) -> dict[str, object]:
    """Table 5's columns of one more recogniser ``name`` of a representation's falsification figures:
    rank-1 / AUC / identity rank-1 (source kept) and :func:`identity_level` with suffix ``_{name}``, and
    for a trained one (a record under ``attacker``) its ``status_{name}`` (converged / budget)."""
    if name not in figures:
        raise ValueError(f"falsification figures of {figures.get('rep', '?')!r} lack recogniser {name!r}")
    s = figures[name]
    out: dict[str, object] = {
        f"rank1_{name}": round(s["rank1"], 3),
        f"auc_{name}": round(s["auc"], 4),
        f"identity_rank1_{name}": round(s["identity_rank1"], 3),
        **identity_level(s, f"_{name}"),
    }
    if "attacker" in s:
        out[f"status_{name}"] = s["attacker"]["status"]
    return out


def identity_level(figures: Mapping, suffix: str = "") -> dict[str, float]:
    """Table 5's identity-level columns of one prior's falsification figures (``openset``,
    :func:`ppfer_core.falsification.identity_linkage`): rank-1 / rank-5 with the probe's own source clip
    left out of the gallery (``id_rank1``, Wilson interval, and its chance ``id_chance``), and the AUC /
    EER of same-actor / different-clip pairs against different-actor pairs (``id_auc``, ``id_eer``)."""
    o = figures.get("openset")
    if not o:
        raise ValueError(
            "falsification figures without 'openset' (identity-level, source left out): rerun falsify"
        )
    r1 = _rate(o["rank1_correct"], o["n"])
    return {
        f"id_rank1{suffix}": r1["value"],
        f"id_rank1{suffix}_lo": r1["lo"],
        f"id_rank1{suffix}_hi": r1["hi"],
        f"id_rank5{suffix}": round(o["rank5"], 3),
        f"id_chance{suffix}": round(o["chance"], 3),
        f"id_auc{suffix}": round(o["auc"], 4),
        f"id_eer{suffix}": round(o["eer"], 3),
    }


def open_set_goals(
    table: pd.DataFrame,
    method: str,
    reference: str,
    priors: Sequence[str] = ("", "_vpl", f"_{RETRAINED}"),
) -> dict[str, object]:
    """The goals for ``method``, on the identity-level figures (source clip left out) under EVERY
    recogniser the table reports (column suffix per prior: the video prior's none, V_pl's ``_vpl``, the
    retrained open-set attacker's ``_retrained``):
    identity rank-1 <= 2 x its chance and same-actor AUC <= 0.6 under each, and ACC >= 90 % of
    ``reference``'s (No Privacy Preservation) open-set ACC; ``met``: all of them. The clip-level
    (source-retrieval) checks of the seed are kept beside them, under ``clip_level``, for comparison."""
    t = table.set_index("approach")
    m, ref = t.loc[method], t.loc[reference]
    goals: dict[str, object] = {}
    for sfx in priors:
        name = sfx.lstrip("_") or "video_prior"
        goals[f"id_rank1_le_2x_chance[{name}]"] = bool(m[f"id_rank1{sfx}"] <= 2 * m[f"id_chance{sfx}"])
        goals[f"id_auc_le_0.6[{name}]"] = bool(m[f"id_auc{sfx}"] <= 0.6)
    goals["acc_ge_90pct_npp"] = bool(m["acc"] >= 0.9 * ref["acc"])
    goals["met"] = all(goals.values())
    goals["acc_ratio"] = round(float(m["acc"] / ref["acc"]), 4) if ref["acc"] > 0 else None
    goals["clip_level"] = {
        "identity_rank1_le_2x_chance": bool(m["identity_rank1"] <= 2 * m["identity_chance"]),
        "auc_le_0.6": bool(m["auc"] <= 0.6),
    }
    return goals


# --------------------------------------------------------------------------------------------- paired tests


@dataclass(frozen=True)
class Scored:
    """One row's per-clip hits of one measure (``acc``, ``plr``, ``plr_worst``) and who scored them."""

    approach: str
    hits: Sequence[int]
    scorer: str = ""


def paired_test(measure: str, a: Scored, b: Scored) -> dict[str, object]:
    """McNemar's test (:func:`ppfer_core.stats.mcnemar`) of two rows on the same test clips, as one row of
    ``paired_tests.csv``: the rates, the clips only a / only b gets right, the p-value and the test used."""
    t = mcnemar(a.hits, b.hits)
    return {
        "measure": measure,
        "a": a.approach,
        "b": b.approach,
        "a_rate": round(100.0 * sum(a.hits) / len(a.hits), 3),
        "b_rate": round(100.0 * sum(b.hits) / len(b.hits), 3),
        "a_scorer": a.scorer,
        "b_scorer": b.scorer,
        "only_a": t.only_a,
        "only_b": t.only_b,
        "p_value": float(f"{t.p_value:.4g}"),  # 4 significant digits (small p-values stay readable)
        "test": "exact binomial" if t.exact else "chi-square (continuity corrected)",
        "n_test": len(a.hits),
    }


def paired_tests(
    reference: str, others: Sequence[str], rows: Mapping[str, Mapping[str, Scored]]
) -> pd.DataFrame:
    """Paired tests of ``reference`` against each of ``others`` on every measure; ``rows``: measure ->
    approach -> its :class:`Scored` hits (an error naming the approach when one is missing)."""
    out = []
    for other in others:
        for measure, by_approach in rows.items():
            for name in (reference, other):
                if name not in by_approach:
                    raise KeyError(
                        f"paired tests: no {measure} hits for {name!r} (Table 1 rows: {list(by_approach)})"
                    )
            out.append(paired_test(measure, by_approach[reference], by_approach[other]))
    return pd.DataFrame(out)
