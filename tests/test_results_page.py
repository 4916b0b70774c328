"""bench/results_page.py: docs/results.md is generated from a run's files, and every number on it comes
from them (fixture tables, runtime.csv and a bench/dag_time.py --json file written here)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("results_page", ROOT / "bench" / "results_page.py")
results_page = importlib.util.module_from_spec(spec)
sys.modules["results_page"] = results_page  # dataclasses look their module up there
spec.loader.exec_module(results_page)

APPROACHES = ["No Privacy Preservation", "Gaussian Blur 1", "Ours"]


def interval(value: float) -> dict[str, float]:
    return {"lo": round(value - 3.21, 3), "hi": round(value + 4.32, 3)}


def fixture_tables() -> dict[str, pd.DataFrame]:
    """Small tables with the columns the workflow writes; every rate distinct, so a cell can be traced."""
    t1 = []
    for i, approach in enumerate(APPROACHES):
        plr, acc, worst = 11.111 + 7 * i, 61.234 + 5 * i, 71.717 + 3 * i
        t1.append(
            {"approach": approach, "plr": plr, "acc": acc, "chance": 5.556, "representation": f"rep{i}"}
            | {"setting": "", "plr_correct": 3 + i, "n_test": 216, "plr_adaptive": 33.3 + i}
            | {f"plr_{k}": v for k, v in interval(plr).items()}
            | {f"acc_{k}": v for k, v in interval(acc).items()}
            | {"plr_worst": worst, "worst_attacker": "plr_adaptive", "controller_low_acc": 97.654}
            | {f"plr_worst_{k}": v for k, v in interval(worst).items()}
        )
    t2 = [
        {"exp": e, "ANG": 12.5 + i, "DIS": 23.5, "FEA": 34.5, "HAP": 45.5, "NEU": 56.5, "SAD": 67.5}
        | {"Avg": 40.123 + i, "Avg_lo": 35.5 + i, "Avg_hi": 44.5 + i}
        for i, e in enumerate(["NPP", "Ours"])
    ]
    t3 = [
        {"approach": "Ours", "ssim": 0.5437, "psnr": 18.876, "plr": 38.889, "plr_adaptive": 99.074}
        | {"chance": 5.556, "representation": "ours", "setting": "", "plr_lo": 32.6, "plr_hi": 45.5}
    ]
    t4 = [
        {"task": task, "transform": task != "1", "enhancers": True, "plr": 9.259 + i, "acc": 73.611 - i}
        | {"representation": f"rep{task}", "plr_lo": 6.1, "plr_hi": 13.9 + i, "acc_lo": 67.4, "acc_hi": 79.0}
        | {"mse_target": "original frames" if task == "4" else ""}
        for i, task in enumerate(["1", "4", "full"])
    ]
    t5 = [
        {"approach": a, "rank1": 66.0 - 9 * i, "rank5": 89.236 - i, "chance": 0.347, "auc": 0.9931 - i / 10}
        | {"eer": 3.6 + i, "identity_rank1": 76.042 - i, "acc": 59.375 + i, "identity_chance": 16.667}
        | {"rank1_lo": 60.3 - i, "rank1_hi": 71.2 - i, "acc_lo": 53.6, "acc_hi": 64.9, "auc_vpl": 0.4913 + i}
        | {"representation": f"open-{i}", "n_test": 288}
        for i, a in enumerate(APPROACHES)
    ]
    t6 = [
        {"approach": a, "rep": f"rep{i}", "acc_central": 80.093 - i, "acc_central_lo": 74.3 - i}
        | {"acc_central_hi": 84.9 - i, "acc_fedavg": 77.315 - i, "acc_fedavg_lo": 71.3, "acc_fedavg_hi": 82.4}
        | {"gap_fedavg": 2.778 + i, "rounds": 12, "local_epochs": 2, "sites": 3, "model_bytes": 1650000}
        | {"only_central_fedavg": 5 + i, "only_fedavg": 2, "p_vs_central_fedavg": 0.0123 + i / 10}
        | {"bytes_per_round": 9900000 + 100000 * i, "site_acc_min": 70.833 + i, "site_acc_max": 87.5}
        for i, a in enumerate(APPROACHES)
    ]
    return {f"table{n}": pd.DataFrame(t) for n, t in enumerate([t1, t2, t3, t4, t5, t6], 1)}


def timing_json() -> dict:
    return {
        "config": "default",
        "cores": 2,
        "workdir": "/runs/x",
        "wall_s": 4014.25,
        "jobs": 167,
        "job_s_sum": 7988.5,
        "cpu_time_sum": 5487.75,
        "training_s": 4315.5,
        "training_epochs": 672,
        "per_rule_s": {"train_compensator": 1234.56, "utility": 563.21, "report": 12.34},
    }


def write_run(run: Path, tables: dict[str, pd.DataFrame], timing: dict) -> Path:
    (run / "results" / "tables").mkdir(parents=True, exist_ok=True)
    (run / "results" / "report").mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(run / "results" / "tables" / f"{name}.csv", index=False)
    runtime = [
        {"stage": "compensation", "rule": "train_compensator", "jobs": 7, "s": 1234.56, "cpu_time": 1004.25},
        {"stage": "evaluation", "rule": "utility", "jobs": 27, "s": 563.21, "cpu_time": 511.75},
    ]
    pd.DataFrame(runtime).to_csv(run / "results" / "report" / "runtime.csv", index=False)
    path = run / "timing.json"
    path.write_text(json.dumps(timing))
    return path


def page(tmp_path: Path, tables=None, timing=None, commit: str | None = "0123abc", extra=()) -> str:
    run = tmp_path / "run"
    path = write_run(run, tables or fixture_tables(), timing or timing_json())
    out = tmp_path / "docs" / "results.md"
    results_page.main(
        [
            "--run",
            str(run),
            "--timing",
            str(path),
            "--out",
            str(out),
            *(["--commit", commit] if commit else []),
            *extra,
        ]
    )
    return out.read_text()


def table_rows(text: str) -> list[str]:
    """Body rows of the markdown tables (no header, no separator)."""
    lines = text.splitlines()
    return [
        line
        for i, line in enumerate(lines)
        if line.startswith("| ") and i + 1 < len(lines) and not lines[i + 1].startswith("| ---")
        if not line.startswith("| ---")
    ]


NUMBER = re.compile(r"\d[\d,]*\.?\d*")


def renderings(values) -> set[str]:
    """Every way the page may print these values (strings: the numbers inside them)."""
    out = set()
    for v in values:
        if isinstance(v, str):
            out |= set(NUMBER.findall(v))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out |= {f"{v:.1f}", f"{v:.3f}", f"{v / 1e6:.1f}", f"{v:,.1f}"}
            if float(v).is_integer():
                out.add(str(int(v)))
    return out


def test_every_number_in_the_tables_comes_from_the_files(tmp_path):
    tables, timing = fixture_tables(), timing_json() | {"machine": "Test CPU, 2 cores"}
    text = page(tmp_path, tables, timing, commit="abcdef7")
    runtime = pd.read_csv(tmp_path / "run" / "results" / "report" / "runtime.csv")
    allowed = renderings(v for df in [*tables.values(), runtime] for v in df.to_numpy().ravel())
    allowed |= renderings([*timing.values(), *timing["per_rule_s"].values()])
    allowed |= {f"{timing['wall_s'] / 60:.1f}", f"{timing['job_s_sum'] / timing['wall_s']:.2f}"}
    allowed |= {f"{timing['job_s_sum'] - timing['training_s']:,.1f}"}
    allowed |= renderings(["abcdef7"])
    rows = table_rows(text)
    assert len(rows) > 20
    for row in rows:
        for token in NUMBER.findall(row):
            assert token.rstrip(".") in allowed, f"{token!r} in {row!r} is not from the files"


@pytest.mark.parametrize(
    "table,row,column,new",
    [
        ("table1", 2, "plr", 0.463),
        ("table1", 0, "acc_hi", 88.888),
        ("table1", 1, "plr_worst", 64.321),
        ("table1", 0, "controller_low_acc", 12.345),
        ("table2", 1, "SAD", 3.333),
        ("table3", 0, "ssim", 0.1234),
        ("table4", 1, "acc", 55.555),
        ("table5", 2, "auc", 0.6789),
        ("table6", 0, "acc_fedavg", 66.666),
        ("table6", 2, "bytes_per_round", 7700000),
    ],
)
def test_changing_a_value_in_a_table_changes_the_page(tmp_path, table, row, column, new):
    tables = fixture_tables()
    before = page(tmp_path / "a", tables)
    tables[table].loc[row, column] = new
    after = page(tmp_path / "b", tables)
    assert after != before
    shown = re.compile(rf"(?<![\d.]){re.escape(results_page.number(new, column))}(?![\d])")
    assert len(shown.findall(after)) > len(shown.findall(before))


def test_rates_carry_their_interval_and_each_table_its_notes(tmp_path):
    text = page(tmp_path)
    assert "| Ours | 25.1 (21.9–29.4) | 71.2 (68.0–75.6) |" in text  # plr, acc of Table 1's third row
    assert "plr_worst (95 % CI)" in text and "| 40.1 (35.5–44.5) |" in text
    for n in range(1, 7):
        assert f"`results/tables/table{n}.csv`" in text
    assert (
        "`plr_worst`: the attacker scoring with the highest re-identification rate on the validation" in text
    )  # Table 1's caption from report/table1.rst
    assert "`mse_target`: task 4's MSE target" in text and "`plr_worst`" in results_page.TABLE4_NOTE
    assert "plr_correct" not in text and "model_bytes" not in text


def test_table6_shows_its_paired_test_as_counts_and_a_p_value(tmp_path):
    text = page(tmp_path)
    header = next(line for line in text.splitlines() if "p_vs_central_fedavg" in line)
    assert "| only_central_fedavg | only_fedavg | p_vs_central_fedavg |" in header
    assert "| 77.3 (71.3–82.4) | 2.8 | 5 | 2 | 0.012 |" in text  # acc_fedavg (CI), gap, McNemar
    assert "| 6 | 2 | 0.112 |" in text


def test_run_facts_come_from_the_timing_file_and_the_commit_argument(tmp_path):
    text = page(tmp_path)
    assert "`0123abc` (given with --commit)" in text
    assert "4,014.2 s (66.9 min)" in text and "| jobs | 167 |" in text
    assert "| train_compensator | 7 | 1234.6 | 1004.2 |" in text
    assert "| report |  | 12.3 |  |" in text  # in the JSON's per-rule list, not in runtime.csv
    timing = timing_json() | {"wall_s": 999.5, "commit": "feedbeef", "machine": "Test CPU, 64 cores"}
    other = page(tmp_path / "b", timing=timing, commit=None)
    assert "999.5 s (16.7 min)" in other and "`feedbeef` (recorded in the timing JSON)" in other
    assert "| machine | Test CPU, 64 cores |" in other


def test_machine_is_read_from_cpuinfo_when_the_json_has_none(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Fancy CPU 9\n\nprocessor\t: 1\nmodel name\t: Fancy CPU 9\n"
    )
    assert results_page.read_machine({}, cpuinfo) == "Fancy CPU 9, 2 logical cores (read at page generation)"


def test_a_missing_table_or_bad_timing_file_fails_naming_it_and_writes_nothing(tmp_path):
    tables = fixture_tables()
    del tables["table5"]
    with pytest.raises(SystemExit, match="lacks table5.csv"):
        page(tmp_path, tables)
    assert not (tmp_path / "docs" / "results.md").exists()
    with pytest.raises(SystemExit, match="lacks wall_s"):
        page(tmp_path / "b", timing={k: v for k, v in timing_json().items() if k != "wall_s"})
    assert not (tmp_path / "b" / "docs").exists() or not any((tmp_path / "b" / "docs").iterdir())


def test_the_reinjection_table_is_shown_with_its_intervals_and_caption(tmp_path):
    row = {"approach": "Ours", "before": "G", "after": "ours", "plr_worst_before": 12.345}
    row |= {"plr_worst_before_lo": 8.1, "plr_worst_before_hi": 17.2, "attacker_before": "plr_adaptive"}
    row |= {"plr_worst_after": 56.789, "plr_worst_after_lo": 50.1, "plr_worst_after_hi": 63.4}
    row |= {"attacker_after": "plr_scratch", "p_value": 0.0001, "reading": "re-injects", "n_test": 216}
    text = page(tmp_path, tables={**fixture_tables(), "reinjection": pd.DataFrame([row])})
    assert "## Does F_fc re-inject identity?" in text and "`results/tables/reinjection.csv`" in text
    assert "| Ours | G | ours | 12.3 (8.1–17.2) | plr_adaptive | 56.8 (50.1–63.4) | plr_scratch |" in text
    assert "McNemar's test over the same test clips" in text  # its caption, report/reinjection.rst
    assert "| plr_scratch | 0.000 | re-injects |" in text  # p-values to 0.001, not to 0.1


def test_a_provenance_note_is_printed_before_the_tables_and_a_missing_one_is_refused(tmp_path):
    note = tmp_path / "note.md"
    note.write_text("Resumed at `feedbeef`: the clip attacker's records predate the float32 fix.\n")
    text = page(tmp_path, extra=["--note", str(note)])
    head, _, rest = text.partition("## How this run was made")
    assert rest and "Resumed at `feedbeef`" in rest.split("## ", 1)[0] and "Table 1" not in head
    with pytest.raises(SystemExit, match="no such file"):
        page(tmp_path / "b", extra=["--note", str(tmp_path / "absent.md")])


@pytest.mark.parametrize("column", ["k", "adversary_steps", "ensemble", "rounds"])
def test_sweep_counts_read_as_integers_and_rates_keep_their_decimal(column):
    assert results_page.number(4.0, column) == "4"
    assert results_page.number(4.0, "acc") == "4.0"
    assert results_page.number(0.3, "l1_weight") == "0.3"
