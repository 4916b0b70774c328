"""Assembly of the paper's tables from metric files (numbers are never typed in, only read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ppfer_core import EMOTIONS

Metrics = Mapping[str, Mapping]


def table1(
    rows: Sequence[tuple[str, str]], leakage: Metrics, utility: Metrics, settings: Mapping[str, str] | None = None
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
        out.append({"exp": name, **{e: round(per_class[e], 3) for e in EMOTIONS}, "Avg": round(utility[rep]["acc"], 3)})
    return pd.DataFrame(out)
