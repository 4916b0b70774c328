"""Write docs/results.md from a finished run: its tables, its commit, the machine and its run time.

Every number on the page is read from files at generation time, never typed in:

- ``DIR/results/tables/table{1..6}.csv`` (and ``blur_sweep.csv``, ``reinjection.csv``,
  ``bottleneck_sweep.csv``, ``robust_sweep.csv`` when present): Tables 1-6 as markdown,
  each rate with its 95 % interval (``X_lo`` / ``X_hi`` columns) written beside it, the p-values of
  the paired tests (``p_value``, Table 6's ``p_vs_central_*``) to 0.001;
- ``DIR/results/report/runtime.csv`` (jobs and CPU seconds per rule, when present);
- the JSON of ``python bench/dag_time.py --json FILE``: wall time, jobs, summed job and CPU time,
  time in training epochs, the per-rule wall times (``per_rule_s``) and cores;
- the commit: ``--commit``, else the JSON's ``commit``, else ``git rev-parse HEAD`` of this checkout
  (the page says which); the machine: the JSON's ``machine``, else ``/proc/cpuinfo`` at generation.

The column notes under each table are the captions of the run's report (``report/table*.rst``).

    python bench/results_page.py --run DIR --timing FILE.json --out docs/results.md [--commit SHA]

Standard library and pandas only (no torch): it runs anywhere the tables can be read.
"""

from __future__ import annotations

import argparse
import json
import math
import numbers
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

TABLES = {
    "table1": "Table 1: privacy and utility per approach (PLR, ACC, %) with the attack suite",
    "table2": "Table 2: video FER accuracy per expression class (%)",
    "table3": "Table 3: threat model (recovery attack) per method",
    "table4": "Table 4: ablation",
    "table5": "Table 5: open set (unseen identities, label-free)",
    "table6": "Table 6: federated F_u (Flower) against centralised",
}
OPTIONAL_TABLES = {
    "blur_sweep": "Gaussian blur sweep (the rows Table 1's blur approaches are picked from)",
    "reinjection": "Does F_fc re-inject identity? plr_worst before and after the feature compensator",
    "bottleneck_sweep": "Ours (bottleneck) over k, the basis size (config/bottleneck_sweep.yaml)",
    "robust_sweep": "Ours (robust) over its adversaries' strength and the L1 anchor (config/robust_sweep.yaml)",
}

TABLE4_NOTE = (
    "Table 4: one row per ablation task (`config/design.yaml`, `table4`): which components the task "
    "keeps (`transform`: the wavelet split; `enhancers`; `controller`: the identity controllers; "
    "`compensator` and `compensator_controller`: F_fc and C_fc), the representation it produces, and its "
    "PLR and ACC (%) as in Table 1, and the attack suite's columns as in Table 1 (`plr_worst`: the attacker "
    "chosen on the validation slice of train, scored on test; `worst_status`: converged, budget or diverged); "
    "`mse_target`: task 4's MSE target (the original frames; MSE to G is the identity map, not an "
    "experiment). `full` is the whole method (Ours)."
)
RUNTIME_NOTE = (
    "Per rule: jobs, summed job wall time `s` and CPU time `cpu_time` (seconds) from the jobs' `benchmark:` "
    "files. Jobs run side by side, so the sum exceeds the run's wall time."
)

# Columns shown once above a table when they hold one value in every row (else they stay columns): chance
# levels, test-set sizes, federated settings, and the controllers' own accuracies (Table 1).
CONSTANT_COLUMNS = re.compile(
    r"chance|identity_chance|n_test|rounds|local_epochs|sites|identity_classifier_acc|validator_acc|.*controller.*_acc"
)
COUNTS = re.compile(
    r"k|n_test|rounds|local_epochs|sites|task|jobs|epochs|adversary_steps|ensemble|only_.*"
)  # k: basis size; adversary_steps, ensemble: the robust sweep's; only_*: discordant clips
# Columns left out of the page (counts behind the rates; the CSV keeps them).
HIDDEN = re.compile(r".*_correct|model_bytes")
THREE_DECIMALS = re.compile(r"(auc|ssim)(_.*)?|p_value|p_vs_.*")  # McNemar p-values


@dataclass(frozen=True)
class Timing:
    """What the page says about the run itself."""

    config: str
    commit: str
    commit_source: str
    machine: str
    cores: int
    wall_s: float
    jobs: int
    job_s_sum: float
    cpu_time_sum: float
    estimated_wall_s: float  # dag_time's list-scheduled wall from per-job cpu_time (nan when absent)
    training_s: float
    training_epochs: int
    per_rule: pd.DataFrame  # rule, jobs, s, cpu_time


# --------------------------------------------------------------------------------------------- reading


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"--timing {path}: no such file (write it with bench/dag_time.py --json FILE)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise SystemExit(f"--timing {path}: not JSON ({e})") from None
    missing = [k for k in ("wall_s", "jobs", "job_s_sum", "cores") if k not in data]
    if missing:
        raise SystemExit(f"--timing {path}: lacks {', '.join(missing)} (not a bench/dag_time.py --json file)")
    return data


def read_commit(arg: str | None, data: dict) -> tuple[str, str]:
    """(commit, where it came from)."""
    if arg:
        return arg, "given with --commit"
    if data.get("commit"):
        return str(data["commit"]), "recorded in the timing JSON"
    res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(
            "no commit: pass --commit SHA (the timing JSON records none, and git rev-parse failed)"
        )
    print("results_page: no --commit given; using this checkout's HEAD", file=sys.stderr)
    return res.stdout.strip(), "HEAD of the checkout that generated this page (no --commit given)"


def read_machine(data: dict, cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    if data.get("machine"):
        return str(data["machine"])
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M) if cpuinfo.exists() else []
    model = models[0].strip() if models else "unknown CPU"
    return f"{model}, {len(models) or os.cpu_count()} logical cores (read at page generation)"


def read_per_rule(run: Path, data: dict) -> pd.DataFrame:
    """rule, jobs, s, cpu_time: the report's runtime.csv, with the JSON's per-rule wall times when given."""
    csv = run / "results" / "report" / "runtime.csv"
    table = pd.read_csv(csv)[["rule", "jobs", "s", "cpu_time"]] if csv.is_file() else None
    per_rule = data.get("per_rule_s")
    if per_rule:
        json_rows = pd.DataFrame({"rule": list(per_rule), "s": list(per_rule.values())})
        extra = table.drop(columns="s") if table is not None else pd.DataFrame(columns=["rule"])
        table = json_rows.merge(extra, on="rule", how="left")[["rule", "jobs", "s", "cpu_time"]]
    if table is None:
        raise SystemExit(f"no per-rule times: neither {csv} nor per_rule_s in the timing JSON")
    return table.sort_values("s", ascending=False, kind="stable").reset_index(drop=True)


def read_timing(run: Path, path: Path, commit: str | None) -> Timing:
    data = read_json(path)
    sha, source = read_commit(commit, data)
    return Timing(
        config=str(data.get("config") or "default"),
        commit=sha,
        commit_source=source,
        machine=read_machine(data),
        cores=int(data["cores"]),
        wall_s=float(data["wall_s"]),
        jobs=int(data["jobs"]),
        job_s_sum=float(data["job_s_sum"]),
        cpu_time_sum=float(data.get("cpu_time_sum", math.nan)),
        estimated_wall_s=float((data.get("estimated_wall_s") or {}).get("cpu_time", math.nan)),
        training_s=float(data.get("training_s", math.nan)),
        training_epochs=int(data.get("training_epochs", 0)),
        per_rule=read_per_rule(run, data),
    )


def read_tables(run: Path) -> dict[str, pd.DataFrame]:
    folder = run / "results" / "tables"
    missing = [f"{name}.csv" for name in TABLES if not (folder / f"{name}.csv").is_file()]
    if missing:
        raise SystemExit(f"--run {run}: {folder} lacks {', '.join(missing)} (is the run finished?)")
    names = [*TABLES, *(n for n in OPTIONAL_TABLES if (folder / f"{n}.csv").is_file())]
    return {name: pd.read_csv(folder / f"{name}.csv") for name in names}


def table_note(name: str) -> str:
    """The column notes: the report's caption of the table (rst markup made markdown)."""
    if name == "table4":
        return TABLE4_NOTE
    caption = ROOT / "report" / f"{name}.rst"
    if not caption.is_file():
        return ""
    return " ".join(caption.read_text().replace("``", "`").split())


# --------------------------------------------------------------------------------------------- formatting


def number(value: object, column: str) -> str:
    """A cell as the page shows it: rates to 0.1, AUC, SSIM and p-values to 0.001, counts as integers."""
    if str(value) in ("True", "False"):
        return "✓" if str(value) == "True" else "–"
    if not isinstance(value, numbers.Real):
        return str(value)
    if math.isnan(value):
        return ""
    if column.startswith("bytes"):
        return f"{value / 1e6:.1f} MB"
    if THREE_DECIMALS.fullmatch(column):
        return f"{value:.3f}"
    if float(value).is_integer() and COUNTS.fullmatch(column):
        return str(int(value))
    return f"{value:.1f}"


def with_intervals(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Header and cells; a column X with X_lo and X_hi is shown as one cell "X (lo–hi)"."""
    columns = [c for c in df.columns if not HIDDEN.fullmatch(c)]
    bounded = {c for c in columns if f"{c}_lo" in df and f"{c}_hi" in df}
    shown = [c for c in columns if not any(c == f"{b}_{e}" for b in bounded for e in ("lo", "hi"))]
    header = [f"{c} (95 % CI)" if c in bounded else c for c in shown]
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in shown:
            cell = number(r[c], c)
            if c in bounded and cell:
                cell += f" ({number(r[f'{c}_lo'], c)}–{number(r[f'{c}_hi'], c)})"
            cells.append(cell)
        rows.append(cells)
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def table_section(name: str, title: str, df: pd.DataFrame) -> list[str]:
    constant = [
        c
        for c in df.columns
        if CONSTANT_COLUMNS.fullmatch(c) and len(df) and df[c].nunique(dropna=False) == 1
    ]
    facts = ", ".join(f"`{c}` {number(df[c].iloc[0], c)}" for c in constant)
    header, rows = with_intervals(df.drop(columns=constant))
    out = [
        f"## {title}",
        "",
        f"`results/tables/{name}.csv`" + (f"; in every row: {facts}" if facts else ""),
        "",
    ]
    out += markdown_table(header, rows)
    note = table_note(name)
    return out + ([""] + [f"*{note}*"] if note else []) + [""]


def run_section(t: Timing) -> list[str]:
    outside = t.job_s_sum - t.training_s
    rows = [
        ["commit", f"`{t.commit}` ({t.commit_source})"],
        ["machine", t.machine],
        ["cores given to Snakemake", str(t.cores)],
        ["wall time", f"{t.wall_s:,.1f} s ({t.wall_s / 60:.1f} min)"],
        ["jobs", str(t.jobs)],
        ["summed job wall time", f"{t.job_s_sum:,.1f} s (parallelism {t.job_s_sum / t.wall_s:.2f})"],
        ["summed job CPU time", f"{t.cpu_time_sum:,.1f} s"],
        *(
            []
            if math.isnan(t.estimated_wall_s)
            else [
                [
                    f"wall on {t.cores} quiet cores, estimated from per-job CPU time",
                    f"{t.estimated_wall_s:,.1f} s ({t.estimated_wall_s / 60:.1f} min; holds on a shared machine)",
                ]
            ]
        ),
        [
            "in training epochs",
            f"{t.training_s:,.1f} s ({t.training_epochs} epochs; outside them {outside:,.1f} s)",
        ],
    ]
    out = ["## The run", ""] + markdown_table(["", ""], rows) + ["", "### Time per rule", ""]
    per_rule = [
        [r.rule, number(r.jobs, "jobs"), number(r.s, "s"), number(r.cpu_time, "s")]
        for r in t.per_rule.itertuples()
    ]
    return out + markdown_table(["rule", "jobs", "s", "cpu_time"], per_rule) + ["", f"*{RUNTIME_NOTE}*", ""]


def render(
    tables: dict[str, pd.DataFrame], timing: Timing, run: Path, timing_path: Path, note: Path | None = None
) -> str:
    """The page; ``note``: a markdown file of the run's provenance (e.g. a run resumed on later code),
    printed under its own heading before the tables."""
    titles = {**TABLES, **OPTIONAL_TABLES}
    lines = [
        f"# Results of the {timing.config} run",
        "",
        "<!-- Generated by bench/results_page.py; do not edit by hand. -->",
        "",
        "Generated from a finished run's files by one command (every number below is read from them):",
        "",
        "```bash",
        f"python bench/results_page.py --run {run} --timing {timing_path} --out docs/results.md"
        + (f" --note {note}" if note else ""),
        "```",
        "",
        "The run itself: `python bench/dag_time.py --workdir DIR --clean --json FILE` (see `bench/README.md`). "
        "Rates are percent; `(lo–hi)` is the 95 % interval: a bootstrap over the test clips' actors for PLR and ACC (Tables 1–4, 6), Wilson over the clips for Table 5's retrieval rates.",
        "",
    ]
    if note is not None:
        lines += ["## How this run was made", "", note.read_text().strip(), ""]
    lines += run_section(timing)
    for name, df in tables.items():
        lines += table_section(name, titles[name], df)
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------------------------- command


def write_atomic(path: Path, text: str) -> None:
    """Write under a temporary name and rename, so a failure never leaves a partial page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="the run's working directory (holds results/)")
    ap.add_argument("--timing", type=Path, required=True, help="JSON of bench/dag_time.py --json")
    ap.add_argument("--out", type=Path, required=True, help="the page to write (docs/results.md)")
    ap.add_argument("--commit", default=None, help="commit the run was made from (git rev-parse HEAD)")
    ap.add_argument(
        "--note", type=Path, default=None, help="markdown: how the run was made (resumed, mixed code)"
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    tables = read_tables(args.run)
    timing = read_timing(args.run, args.timing, args.commit)
    if args.note is not None and not args.note.is_file():
        raise SystemExit(f"--note {args.note}: no such file")
    write_atomic(args.out, render(tables, timing, args.run, args.timing, args.note))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
