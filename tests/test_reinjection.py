"""results/tables/reinjection.csv (issue 26): whether F_fc re-injects identity, from the attack suite's
metric files of a Table 1 method's enhanced frames before F_fc (G, G-robust) and of its output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ppfer_core.design import Reinjection
from ppfer_core.stats import ActorInterval, mcnemar
from ppfer_core.suite import read_suite, reinjection_table, suite_files

N = 20
ACTORS = [f"a{i // 5}" for i in range(N)]  # 4 actors of 5 test clips each


def _hits(k: int, start: int = 0) -> list[int]:
    return [1 if start <= i < start + k else 0 for i in range(N)]


def _record(hits: list[int], val_correct: int, status: str = "converged") -> dict:
    """One attacker's record (one frame and voting alike), as the attack jobs write it."""
    return {
        "correct": sum(hits),
        "correct_vote": sum(hits),
        "n": N,
        "hits": hits,
        "hits_vote": hits,
        "val_correct": val_correct,
        "val_correct_vote": val_correct,
        "val_n": 10,
        "train_acc": 0.9,
        "status": status,
    }


def _write_suite(tmp_path: Path, reps: dict[str, dict[str, dict]]) -> dict[str, list[str]]:
    """The suite's metric files of ``reps`` (rep -> attacker name -> record) under tmp_path, by kind."""
    files: dict[str, list[str]] = {kind: [] for kind in suite_files()}
    for rep, by in reps.items():
        content = {
            "frames": {"validator": by["validator"], "scratch": by["scratch"]},
            "adaptive": by["adaptive"],
            "clip": by["clip"],
        }
        for kind in content:  # no coded rep here: no codes file (issue 27)
            path = tmp_path / kind / f"{rep}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(content[kind]))
            files[kind].append(str(path))
    return files


@pytest.fixture
def table(tmp_path):
    low = _record(_hits(1), 1)
    reps = {
        # G: the adaptive attacker is best on validation (4 of 20 on test); V_pl's 19 of 20 on test
        # cannot be chosen (not selectable), and the clip attacker's higher test rate is not looked at
        "G": {
            "validator": _record(_hits(19), 9),
            "adaptive": _record(_hits(4), 6),
            "scratch": low,
            "clip": _record(_hits(8), 2),
        },
        # ours: the scratch CNN is best on validation and re-identifies 14 clips, the 4 of G's among them
        "ours": {"validator": low, "adaptive": low, "scratch": _record(_hits(14), 7, "budget"), "clip": low},
        # G-robust and ours-robust: the same 6 clips
        "G-robust": {"validator": low, "adaptive": low, "scratch": low, "clip": _record(_hits(6, 10), 5)},
        "ours-robust": {"validator": low, "adaptive": _record(_hits(6, 10), 5), "scratch": low, "clip": low},
    }
    files = _write_suite(tmp_path, reps)
    pairs = [
        Reinjection("Ours", "G", "ours"),
        Reinjection("Ours (robust)", "G-robust", "ours-robust"),
        Reinjection("reversed", "ours", "G"),  # F_fc that removed identity
    ]
    return reinjection_table(pairs, read_suite(files), ACTORS).set_index("approach")


def test_plr_worst_before_and_after_f_fc_with_their_attackers_chosen_on_validation(table):
    ours = table.loc["Ours"]
    assert (ours["before"], ours["after"]) == ("G", "ours")
    assert ours["plr_worst_before"] == 20.0 and ours["attacker_before"] == "plr_adaptive"
    assert ours["plr_worst_after"] == 70.0 and ours["attacker_after"] == "plr_scratch"
    assert (ours["status_before"], ours["status_after"]) == ("converged", "budget")
    assert ours["difference"] == 50.0
    for side, hits in (("before", _hits(4)), ("after", _hits(14))):
        ci = ActorInterval().of(hits, ACTORS)  # clustered by actor, as Table 1's plr_worst
        assert (ours[f"plr_worst_{side}_lo"], ours[f"plr_worst_{side}_hi"]) == (
            round(ci.lo, 3),
            round(ci.hi, 3),
        )


def test_mcnemar_over_the_same_test_clips_reads_reinjection(table):
    ours, robust = table.loc["Ours"], table.loc["Ours (robust)"]
    t = mcnemar(_hits(4), _hits(14))
    assert (ours["only_before"], ours["only_after"]) == (0, 10) == (t.only_a, t.only_b)
    assert ours["p_value"] == float(f"{t.p_value:.4g}") < 0.05 and ours["test"] == "exact binomial"
    assert ours["reading"] == "re-injects" and ours["n_test"] == N
    assert robust["plr_worst_before"] == robust["plr_worst_after"] == 30.0
    assert (robust["attacker_before"], robust["attacker_after"]) == ("plr_clip", "plr_adaptive")
    assert robust["p_value"] == 1.0 and robust["reading"] == "no difference"
    assert table.loc["reversed", "difference"] == -50.0 and table.loc["reversed", "reading"] == "removes"
