"""The run's final report: figures from the tables and clips, and the run time per rule from the
``benchmark:`` files. matplotlib with the Agg backend (no display needed)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ppfer_core import EMOTIONS

BENCHMARK_COLUMNS = ("s", "max_rss", "cpu_time")
"""Columns of a Snakemake benchmark file that the run-time summary reads (seconds, MB, seconds)."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------------------------- run time


WILDCARD = re.compile(r"\{(\w*)[^{}]*(?:\{[^{}]*\}[^{}]*)*\}")
"""A ``{wildcard}`` of a Snakemake file pattern, with or without a constraint (group 1: its name)."""


def pattern_regex(pattern: str) -> re.Pattern:
    """Regex of a Snakemake file pattern: every ``{wildcard}`` (with or without a constraint) matches
    any run of characters, the empty one included (a constraint may allow it: the bottleneck rules'
    ``{scope}`` is "" for the closed set), the rest literally; a wildcard named twice matches the same
    text twice, and each is a named group (:func:`pattern_wildcards`)."""
    regex, seen, pos = "", set(), 0
    for m in WILDCARD.finditer(pattern):
        name = m.group(1)
        group = f"(?P={name})" if name in seen else f"(?P<{name}>.*?)" if name else ".*?"
        regex += re.escape(pattern[pos : m.start()]) + group
        seen.add(name)
        pos = m.end()
    return re.compile(regex + re.escape(pattern[pos:]) + r"\Z")


def pattern_wildcards(pattern: str, path: str) -> dict[str, str] | None:
    """The wildcards of a file ``path`` made from ``pattern`` (None if it does not match)."""
    m = pattern_regex(pattern).match(path)
    return m.groupdict() if m else None


def rule_of(path: str | Path, root: str | Path = "benchmarks") -> str:
    """The rule of a benchmark file: the workflow names them ``{root}/{rule}/{wildcards...}.tsv`` (or
    ``{root}/{rule}.tsv`` for a rule without wildcards), so the first component under ``root``,
    without suffix."""
    path, root = Path(path), Path(root)
    parts = path.relative_to(root).parts if path.is_relative_to(root) else path.parts[1:]
    return Path(parts[0]).stem


def read_benchmark(path: str | Path) -> dict[str, float]:
    """One benchmark file's ``s``, ``max_rss`` (MB) and ``cpu_time`` (mean over repeats; NaN if absent)."""
    df = pd.read_csv(path, sep="\t", na_values=["-", "NA", ""])
    return {
        c: float(pd.to_numeric(df[c], errors="coerce").mean()) if c in df else float("nan")
        for c in BENCHMARK_COLUMNS
    }


def read_benchmarks(
    files: Sequence[str | Path], stages: Mapping[str, str] | None = None, root: str | Path = "benchmarks"
) -> pd.DataFrame:
    """One row per benchmark file under ``root``: file, rule (:func:`rule_of`), stage (e.g. the rule
    file it comes from), s, max_rss, cpu_time."""
    rows = []
    for f in files:
        rule = rule_of(f, root)
        rows.append(
            {"file": str(f), "rule": rule, "stage": (stages or {}).get(rule, ""), **read_benchmark(f)}
        )
    return pd.DataFrame(rows, columns=["file", "rule", "stage", *BENCHMARK_COLUMNS])


def runtime_summary(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule: stage, jobs, summed wall time ``s`` and ``cpu_time`` (seconds), ``max_rss`` summed over
    the rule's jobs and its peak (MB); slowest rule first."""
    if jobs.empty:
        return pd.DataFrame(
            columns=["stage", "rule", "jobs", "s", "cpu_time", "max_rss_sum", "max_rss_peak", "share"]
        )
    g = jobs.groupby("rule", sort=False)
    out = pd.DataFrame(
        {
            "stage": g["stage"].first(),
            "jobs": g.size(),
            "s": g["s"].sum(),
            "cpu_time": g["cpu_time"].sum(min_count=1),
            "max_rss_sum": g["max_rss"].sum(min_count=1),
            "max_rss_peak": g["max_rss"].max(),
        }
    ).reset_index()
    out["share"] = out["s"] / out["s"].sum()
    out = out.sort_values(["s", "rule"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return out[["stage", "rule", "jobs", "s", "cpu_time", "max_rss_sum", "max_rss_peak", "share"]].round(3)


def plot_runtime(summary: pd.DataFrame, path: str | Path) -> None:
    """Horizontal bars of each rule's summed wall time, coloured by stage, peak memory as a label."""
    plt = _pyplot()
    df = summary.iloc[::-1]
    stages = list(dict.fromkeys(summary["stage"]))
    cmap = plt.get_cmap("tab10")
    colours = [cmap(stages.index(s) % 10) for s in df["stage"]]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(df) + 1.5))
    ax.barh(df["rule"], df["s"], color=colours)
    for y, (s, rss, n) in enumerate(zip(df["s"], df["max_rss_peak"], df["jobs"])):
        ax.text(s, y, f" {n} job{'s' if n != 1 else ''}, peak {rss:.0f} MB", va="center", fontsize=7)
    handles = [plt.Rectangle((0, 0), 1, 1, color=cmap(i % 10)) for i in range(len(stages))]
    ax.legend(
        handles, [s or "?" for s in stages], fontsize=7, loc="lower right", title="stage", title_fontsize=7
    )
    ax.set_xlabel("wall time summed over the rule's jobs (s)")
    ax.set_title(f"run time per rule: {summary['s'].sum():.0f} s in {int(summary['jobs'].sum())} jobs")
    ax.set_xlim(0, max(float(summary["s"].max()), 1e-9) * 1.45)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --------------------------------------------------------------------------------------------- figures from tables


ATTACKED_COLUMN = "plr_worst"
"""Table 1's worst-case PLR over the attack suite (issue 14): Figure 1's hollow markers."""


def plot_privacy_utility(
    table1: pd.DataFrame, path: str | Path, expression_chance: float = 100.0 / len(EMOTIONS)
) -> None:
    """The paper's Figure 1: every Table 1 approach as a point (PLR, ACC); chance of each as a dashed line.
    With a ``plr_worst`` column (else ``plr_adaptive``), that attacker's PLR is drawn as a hollow marker linked to it;
    with ``plr_lo, plr_hi, acc_lo, acc_hi`` columns, each point has its 95 % intervals as error bars."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5))
    cmap = plt.get_cmap("tab10")
    for i, row in enumerate(table1.itertuples(index=False)):
        c = cmap(i % 10)
        ax.scatter(row.plr, row.acc, color=c, s=50, zorder=3, label=row.approach)
        _error_bars(ax, row, c)
        right = row.plr > 80  # label points near the right edge on their left
        ax.annotate(
            row.approach,
            (row.plr, row.acc),
            textcoords="offset points",
            xytext=(-5 if right else 5, 4),
            ha="right" if right else "left",
            fontsize=8,
        )
        attacked = (
            getattr(row, ATTACKED_COLUMN, np.nan)
            if ATTACKED_COLUMN in table1
            else getattr(row, "plr_adaptive", np.nan)
        )
        if pd.notna(attacked):
            ax.plot([row.plr, attacked], [row.acc, row.acc], color=c, lw=0.8, ls=":", zorder=2)
            ax.scatter(attacked, row.acc, facecolors="none", edgecolors=[c], s=50, zorder=3)
    chance = float(table1["chance"].iloc[0])
    ax.axvline(chance, color="grey", ls="--", lw=1, label=f"identity chance ({chance:.1f}%)")
    ax.axhline(
        expression_chance, color="grey", ls="-.", lw=1, label=f"expression chance ({expression_chance:.1f}%)"
    )
    ax.set_xlabel("privacy leakage ratio PLR (%)  ← better")
    ax.set_ylabel("video FER accuracy ACC (%)  better →")
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    title = "privacy vs utility per approach (Table 1)"
    if "plr_lo" in table1:
        title += ", bars: 95 % Wilson intervals over the test clips"
    if ATTACKED_COLUMN in table1:
        title += "\nhollow: worst-case PLR over the attack suite (plr_worst)"
    elif "plr_adaptive" in table1:
        title += "\nhollow: PLR of the adaptive attacker"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))  # outside: no point hidden
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def interval_errors(row, column: str) -> list[list[float]] | None:
    """Matplotlib's asymmetric error [[below], [above]] of a table row's ``column`` from its
    ``{column}_lo`` / ``{column}_hi`` interval columns, or None when the row has none."""
    lo, hi = getattr(row, f"{column}_lo", np.nan), getattr(row, f"{column}_hi", np.nan)
    if pd.isna(lo) or pd.isna(hi):
        return None
    value = getattr(row, column)
    return [[max(value - lo, 0.0)], [max(hi - value, 0.0)]]


def _error_bars(ax, row, color) -> None:
    """The 95 % intervals of one Figure 1 point (PLR horizontally, ACC vertically), when the table has them."""
    xerr, yerr = interval_errors(row, "plr"), interval_errors(row, "acc")
    if xerr is not None or yerr is not None:
        ax.errorbar(
            row.plr,
            row.acc,
            xerr=xerr,
            yerr=yerr,
            fmt="none",
            ecolor=color,
            elinewidth=1,
            capsize=3,
            zorder=2,
        )


def plot_per_class(table2: pd.DataFrame, path: str | Path) -> None:
    """Table 2 as grouped bars: accuracy per expression class (and Avg) of each row."""
    plt = _pyplot()
    classes = [c for c in table2.columns if c != "exp"]
    x = np.arange(len(classes))
    width = 0.8 / max(len(table2), 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, row in enumerate(table2.itertuples(index=False)):
        values = [getattr(row, c) for c in classes]
        ax.bar(x + (i - (len(table2) - 1) / 2) * width, values, width, label=row.exp)
    ax.set_xticks(x, classes)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_title("per-class video FER accuracy (Table 2)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def pick_evenly(n: int, k: int) -> np.ndarray:
    """``k`` distinct indices spread evenly over ``range(n)`` (all of them if ``k >= n``)."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))


def frame_grid(
    rows: Sequence[tuple[str, np.ndarray]], clips: Sequence[int], frames: Sequence[int], path: str | Path
) -> None:
    """A grid of frames: one row per representation (label, uint8 clips ``[N, T, H, W, 3]``), one
    column per (clip, frame); the same clips and frames in every row."""
    plt = _pyplot()
    h, w = rows[0][1].shape[2:4]
    ncols = len(clips) * len(frames)
    scale = max(0.6, 48 / max(h, w))
    label_in = 1.8  # inches kept for the row labels
    width_in = ncols * w * scale / 48 + label_in
    fig, axes = plt.subplots(
        len(rows), ncols, figsize=(width_in, len(rows) * h * scale / 48 + 0.4), squeeze=False
    )
    for r, (label, arr) in enumerate(rows):
        for c, (clip, frame) in enumerate((c, f) for c in clips for f in frames):
            ax = axes[r, c]
            ax.imshow(np.asarray(arr[clip, frame]), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"clip {clip}, t={frame}", fontsize=6)
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    fig.subplots_adjust(left=label_in / width_in, right=0.99, top=0.97, bottom=0.01, wspace=0.03, hspace=0.05)
    fig.savefig(path, dpi=100)
    plt.close(fig)
