"""The attack suite's registry and worst case, torch-free (standard library at import: the workflow
plans its attack jobs from :data:`ATTACKERS` when Snakemake parses the rules, and the table rules
import it without torch or timm): every attacker (:class:`Attacker`), its leakage per representation
(:class:`Leak`), the highest of them with its Wilson interval (:func:`worst_case`), and the suite's
columns appended to Tables 1 and 3."""

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


@dataclass(frozen=True)
class Attacker:
    """One attacker of the suite: one metrics record per representation.

    ``rule`` writes ``metrics`` (a path pattern with ``{rep}``; one job per representation), the
    metric file family ``kind`` (the name of the table rules' input holding these files). The
    attacker's record is that file, or its entry ``record`` when one job scores several attackers.
    ``column`` / ``vote_column``: its PLR columns (one random frame per clip / voting over the frames;
    None where it has no vote); ``train_acc``: the record has the attacker's final train accuracy
    (column ``train_acc_{name}``); ``optional``: only some representations have its record (those the
    recovery attack ran on)."""

    name: str
    rule: str
    kind: str
    metrics: str
    column: str
    vote_column: str | None = None
    record: str | None = None
    train_acc: bool = False
    optional: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if self.vote_column is None else (self.column, self.vote_column)


FRAMES = "results/metrics/attacks/frames/{rep}.json"  # the attack_frames job's file: three attackers
ATTACKERS = (
    # V_pl, the paper's validator, scored on one random frame per clip and by voting
    Attacker("validator", "attack_frames", "frames", FRAMES, "plr", "plr_vote", record="validator"),
    # SPAct's adaptive attacker: an identity classifier fine-tuned on the representation
    Attacker(
        "adaptive",
        "adaptive_leakage",
        "adaptive",
        "results/metrics/adaptive/{rep}.json",
        "plr_adaptive",
        "plr_adaptive_vote",
        train_acc=True,
    ),
    # a 4-layer CNN trained from scratch on the representation
    Attacker(
        "scratch", "attack_frames", "frames", FRAMES, "plr_scratch", "plr_scratch_vote", "scratch", True
    ),
    # a video identity classifier (one prediction per clip)
    Attacker(
        "clip", "attack_clips", "clip", "results/metrics/attacks/clips/{rep}.json", "plr_clip", train_acc=True
    ),
    # V_pl on the recovery attack's output (Table 3's threat model)
    Attacker(
        "recovered",
        "attack_frames",
        "frames",
        FRAMES,
        "plr_recovered",
        "plr_recovered_vote",
        record="recovered",
        optional=True,
    ),
)
"""The attack suite, in suite order (the first highest attacker is the worst on a tie). A new
attacker: an entry here, the rule that writes its metrics (with its config block), nothing else."""


def suite_files(attackers: tuple[Attacker, ...] = ATTACKERS) -> dict[str, str]:
    """The suite's metric file families: kind -> path pattern (``{rep}``), in suite order; one kind
    is one rule's file (an error if two attackers of a kind name different files)."""
    files: dict[str, str] = {}
    for a in attackers:
        if files.setdefault(a.kind, a.metrics) != a.metrics:
            raise ValueError(
                f"attackers of kind {a.kind!r} name two metric files: {files[a.kind]}, {a.metrics}"
            )
    return files


def suite_columns(attackers: tuple[Attacker, ...] = ATTACKERS) -> tuple[str, ...]:
    """Columns the suite adds to a table: every attacker's PLR columns, ``plr_worst`` with its
    interval and attacker, and ``train_acc_{name}`` of every trained attacker."""
    return (
        *(c for a in attackers for c in a.columns),
        "plr_worst",
        "plr_worst_lo",
        "plr_worst_hi",
        "worst_attacker",
        *(f"train_acc_{a.name}" for a in attackers if a.train_acc),
    )


def attacker_record(
    attacker: Attacker, metrics: Mapping[str, Mapping[str, Mapping]], rep: str
) -> Mapping | None:
    """An attacker's metrics record of one representation (None for an optional attacker without one)."""
    file = metrics[attacker.kind][rep]
    record = file if attacker.record is None else file.get(attacker.record)
    if record is None and not attacker.optional:
        raise KeyError(f"{attacker.metrics.format(rep=rep)} has no record {attacker.record!r}")
    return record


def suite_leaks(
    metrics: Mapping[str, Mapping[str, Mapping]], rep: str, attackers: tuple[Attacker, ...] = ATTACKERS
) -> list[Leak]:
    """Every attacker's leakage of one representation from ``metrics[kind][rep]`` (:func:`read_suite`)."""
    leaks = []
    for a in attackers:
        m = attacker_record(a, metrics, rep)
        if m is not None:
            leaks.append(Leak(a.column, m["correct"], m["n"]))
            if a.vote_column is not None:
                leaks.append(Leak(a.vote_column, m["correct_vote"], m["n"]))
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


SUITE_COLUMNS = suite_columns()
"""Columns the suite adds to Tables 1 and 3, generated from :data:`ATTACKERS`."""


def suite_table(
    reps: list[str], metrics: Mapping[str, Mapping[str, Mapping]], attackers: tuple[Attacker, ...] = ATTACKERS
) -> dict[str, dict[str, Any]]:
    """Per representation, the suite's columns (:func:`worst_case`) and each trained attacker's final
    train accuracy (``train_acc_{name}``), from ``metrics[kind][rep]`` (:func:`read_suite`)."""
    out = {}
    for rep in reps:
        row = worst_case(suite_leaks(metrics, rep, attackers))
        for a in attackers:
            if a.train_acc:
                row[f"train_acc_{a.name}"] = round(100.0 * attacker_record(a, metrics, rep)["train_acc"], 3)
        out[rep] = row
    return out


def read_suite(files: Mapping[str, list[str]]) -> dict[str, dict[str, Mapping]]:
    """The suite's metric files by kind and representation; ``files``: kind -> its files (a rule's
    inputs named by kind, as :func:`suite_files` names them)."""
    from ppfer_core.runtime import read_json

    return {kind: {Path(f).stem: read_json(f) for f in files[kind]} for kind in suite_files()}


def append_suite_columns(table: Any, metrics: Mapping[str, Mapping[str, Mapping]]) -> Any:
    """A table (pandas, with a ``representation`` column) with the suite's columns appended per row."""
    import pandas as pd

    suite = suite_table(list(dict.fromkeys(table["representation"])), metrics)
    extra = pd.DataFrame([suite[rep] for rep in table["representation"]], index=table.index)
    return pd.concat([table, extra[[c for c in extra.columns if c not in table.columns]]], axis=1)
