"""The attack suite's worst case, torch-free (the table rules import it without torch or timm):
each attacker's leakage per representation (:class:`Leak`), the highest of them with its Wilson
interval (:func:`worst_case`), and the suite's columns appended to Tables 1 and 3."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ppfer_core.stats import wilson_interval


@dataclass(frozen=True)
class Leak:
    """One attacker's leakage on one representation: column name, correct test clips, test clips."""

    column: str
    correct: int
    n: int

    @property
    def rate(self) -> float:
        return 100.0 * self.correct / self.n


def suite_leaks(
    validator: Mapping, adaptive: Mapping, scratch: Mapping, clip: Mapping, recovered: Mapping | None
) -> list[Leak]:
    """Every attacker's leakage of one representation, from its metric files (``recovered``: V_pl on
    the recovery attack's output, scored by the attack_frames job; None where nothing is recovered)."""
    leaks = [
        Leak("plr", validator["correct"], validator["n"]),
        Leak("plr_vote", validator["correct_vote"], validator["n"]),
    ]
    for name, m in (("adaptive", adaptive), ("scratch", scratch)):
        leaks += [
            Leak(f"plr_{name}", m["correct"], m["n"]),
            Leak(f"plr_{name}_vote", m["correct_vote"], m["n"]),
        ]
    leaks.append(Leak("plr_clip", clip["correct"], clip["n"]))
    if recovered is not None:
        leaks += [
            Leak("plr_recovered", recovered["correct"], recovered["n"]),
            Leak("plr_recovered_vote", recovered["correct_vote"], recovered["n"]),
        ]
    return leaks


def worst_case(leaks: list[Leak]) -> dict[str, Any]:
    """Each attacker's PLR column, and ``plr_worst`` (the highest, first in suite order on a tie)
    with its Wilson 95 % interval and the attacker column it came from (``worst_attacker``)."""
    worst = max(leaks, key=lambda leak: leak.rate)
    lo, hi = wilson_interval(worst.correct, worst.n)
    return {
        **{leak.column: round(leak.rate, 3) for leak in leaks},
        "plr_worst": round(worst.rate, 3),
        "plr_worst_lo": round(lo, 3),
        "plr_worst_hi": round(hi, 3),
        "worst_attacker": worst.column,
    }


SUITE_COLUMNS = (
    "plr_vote",
    "plr_adaptive_vote",
    "plr_scratch",
    "plr_scratch_vote",
    "plr_clip",
    "plr_recovered",
    "plr_recovered_vote",
    "plr_worst",
    "plr_worst_lo",
    "plr_worst_hi",
    "worst_attacker",
)
"""Columns the suite adds to Tables 1 and 3 (``plr`` and ``plr_adaptive`` are there already)."""


def suite_table(reps: list[str], metrics: Mapping[str, Mapping[str, Mapping]]) -> dict[str, dict[str, Any]]:
    """Per representation, the suite's columns (:func:`worst_case`) and each trained attacker's final
    train accuracy (``train_acc_{attacker}``), from ``metrics[kind][rep]`` with kinds ``leakage``
    (V_pl), ``frames`` (attack_frames job), ``adaptive``, ``clip``."""
    out = {}
    for rep in reps:
        frames = metrics["frames"][rep]
        leaks = suite_leaks(
            frames["validator"],
            metrics["adaptive"][rep],
            frames["scratch"],
            metrics["clip"][rep],
            frames.get("recovered"),
        )
        row = worst_case(leaks)
        for name, m in (
            ("adaptive", metrics["adaptive"][rep]),
            ("scratch", frames["scratch"]),
            ("clip", metrics["clip"][rep]),
        ):
            row[f"train_acc_{name}"] = round(100.0 * m["train_acc"], 3)
        out[rep] = row
    return out


def read_suite(frames: list[str], clips: list[str], adaptive: list[str]) -> dict[str, dict[str, Mapping]]:
    """The suite's metric files (attack_frames, attack_clips, adaptive_leakage jobs) by kind and representation."""
    from ppfer_core.runtime import read_json

    def by_rep(files: list[str]) -> dict[str, Mapping]:
        return {Path(f).stem: read_json(f) for f in files}

    return {"frames": by_rep(frames), "clip": by_rep(clips), "adaptive": by_rep(adaptive)}


def append_suite_columns(table: Any, metrics: Mapping[str, Mapping[str, Mapping]]) -> Any:
    """A table (pandas, with a ``representation`` column) with the suite's columns appended per row."""
    import pandas as pd

    suite = suite_table(list(dict.fromkeys(table["representation"])), metrics)
    extra = pd.DataFrame([suite[rep] for rep in table["representation"]], index=table.index)
    return pd.concat([table, extra[[c for c in extra.columns if c not in table.columns]]], axis=1)
