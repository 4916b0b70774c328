"""95 % intervals of every PLR and ACC in Tables 1-4 and Figure 1's error bars (issues 12 and 26):
a bootstrap over the test clips' actors (every clip of a drawn actor comes along), checked against
:func:`ppfer_core.stats.actor_bootstrap` and against what clustering must do: an actor-homogeneous
split (each actor all right or all wrong) gets a wider interval than the clip-independent Wilson one."""

import pandas as pd
import pytest

from ppfer_core.report import interval_errors, plot_privacy_utility
from ppfer_core.stats import actor_bootstrap, mcnemar, wilson_interval
from ppfer_core.tables import (
    Scored,
    acc_chance,
    add_interval_columns,
    add_plr_acc_intervals,
    paired_tests,
    table1,
    table4,
)

ACTORS = [f"actor{i % 6}" for i in range(60)]  # 60 test clips of 6 actors, interleaved
BY_ACTOR = [1 if i % 6 < 2 else 0 for i in range(60)]  # actors 0 and 1 always right: 20 of 60
MIXED = [1 if (i // 6) % 5 < 2 else 0 for i in range(60)]  # every actor right on 4 of its 10 clips
LEAKAGE = {
    "original": {
        "plr": 100 / 3,
        "correct": 20,
        "n": 60,
        "chance": 10.0,
        "hits": BY_ACTOR,
        "vpl": {"plr": 40.0, "hits": MIXED},
    },
    "ours": {
        "plr": 40.0,
        "correct": 24,
        "n": 60,
        "chance": 10.0,
        "hits": MIXED,
        "vpl": {"plr": 100 / 3, "hits": BY_ACTOR},
    },
}
UTILITY = {
    "original": {"acc": 40.0, "correct": 24, "n": 60, "per_class": {}, "hits": MIXED},
    "ours": {"acc": 0.0, "correct": 0, "n": 60, "per_class": {}, "hits": [0] * 60},
}


def _table1() -> pd.DataFrame:
    t = table1([("NPP", "original"), ("Ours", "ours")], LEAKAGE, UTILITY)
    return add_plr_acc_intervals(t, LEAKAGE, UTILITY, ACTORS)


def test_table1_intervals_are_clustered_by_actor():
    t1 = _table1()
    assert list(t1.columns[-6:]) == ["plr_lo", "plr_hi", "plr_vpl_lo", "plr_vpl_hi", "acc_lo", "acc_hi"]
    assert list(t1.columns[:5]) == ["approach", "plr", "plr_vpl", "acc", "chance"]  # added, not reordered
    npp, ours = t1.iloc[0], t1.iloc[1]
    expect = actor_bootstrap(BY_ACTOR, ACTORS)
    assert (npp.plr_lo, npp.plr_hi) == (round(expect.lo, 3), round(expect.hi, 3))
    wilson = wilson_interval(20, 60)
    # same rate, same n: the actor-homogeneous hits get a far wider interval than Wilson's ...
    assert npp.plr_hi - npp.plr_lo > 1.5 * (wilson[1] - wilson[0])
    # ... and hits spread evenly over the actors (each actor 4 of 10) leave no spread between actors
    assert (ours.plr_lo, ours.plr_hi) == (40.0, 40.0)
    assert (ours.plr_vpl_lo, ours.plr_vpl_hi) == (npp.plr_lo, npp.plr_hi)  # V_pl's hits: the same bootstrap
    assert (ours.acc_lo, ours.acc_hi) == (0.0, 0.0)


def test_interval_needs_per_clip_hits_and_one_file_per_row():
    t3 = pd.DataFrame({"approach": ["Ours"], "plr": [40.0], "representation": ["ours"]})
    t3 = add_interval_columns(t3, "plr", [LEAKAGE["ours"]], ACTORS)
    ci = actor_bootstrap(MIXED, ACTORS)
    assert (t3.loc[0, "plr_lo"], t3.loc[0, "plr_hi"]) == (round(ci.lo, 3), round(ci.hi, 3))
    with pytest.raises(ValueError, match="2 metric files for 1 rows"):
        add_interval_columns(t3, "plr", [LEAKAGE["ours"]] * 2, ACTORS)
    old = {k: v for k, v in LEAKAGE["ours"].items() if k != "hits"}
    with pytest.raises(KeyError, match="hits"):
        add_interval_columns(t3, "plr", [old], ACTORS)
    with pytest.raises(ValueError, match="59 actors for 60 clips"):
        add_interval_columns(t3, "plr", [LEAKAGE["ours"]], ACTORS[:-1])


def test_table4_gets_interval_columns():
    task = dict(task=5, transform=True, enhancers=True, controller=True, compensator=False)
    t4 = table4([{**task, "compensator_controller": False, "rep": "original"}], LEAKAGE, UTILITY)
    t4 = add_plr_acc_intervals(t4, LEAKAGE, UTILITY, ACTORS)
    ci = actor_bootstrap(BY_ACTOR, ACTORS)
    assert (t4.loc[0, "plr_lo"], t4.loc[0, "plr_hi"]) == (round(ci.lo, 3), round(ci.hi, 3))


def test_acc_chance_is_one_over_the_test_emotions():
    index = pd.DataFrame(
        {"split": ["train"] * 7 + ["test"] * 4, "label": [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 2], "row": range(11)}
    )
    assert acc_chance(index) == round(100 / 3, 3)  # the test split's 3 emotions, not train's 7


def test_figure1_draws_the_intervals_as_error_bars(tmp_path, monkeypatch):
    t1 = _table1()
    row = next(t1.iloc[1:].itertuples(index=False))
    below, above = interval_errors(row, "plr")
    assert below[0] == pytest.approx(row.plr - row.plr_lo, abs=2e-3)
    assert above[0] == pytest.approx(row.plr_hi - row.plr, abs=2e-3)
    import matplotlib.axes

    calls = []
    real = matplotlib.axes.Axes.errorbar
    monkeypatch.setattr(
        matplotlib.axes.Axes, "errorbar", lambda self, *a, **k: calls.append(k) or real(self, *a, **k)
    )
    plot_privacy_utility(t1, tmp_path / "fig.png")
    assert len(calls) == 2 and all(c["xerr"] is not None and c["yerr"] is not None for c in calls)
    assert (tmp_path / "fig.png").stat().st_size > 0
    calls.clear()
    plot_privacy_utility(t1.drop(columns=["plr_lo", "plr_hi", "acc_lo", "acc_hi"]), tmp_path / "plain.png")
    assert not calls


def test_paired_tests_compare_the_reference_with_each_row_on_the_same_clips():
    ours, blur, robust = [1] * 30 + [0] * 30, [1] * 10 + [0] * 50, [0] * 30 + [1] * 30
    rows = {
        "acc": {n: Scored(n, h, "F_u") for n, h in (("Ours", ours), ("Blur", blur), ("Robust", robust))},
        "plr_worst": {"Ours": Scored("Ours", blur, "plr_clip"), "Blur": Scored("Blur", blur, "plr_scratch")},
    }
    with pytest.raises(KeyError, match="no plr_worst hits for 'Robust'"):
        paired_tests("Ours", ["Blur", "Robust"], rows)
    t = paired_tests("Ours", ["Blur"], rows).set_index("measure")
    acc, worst = t.loc["acc"], t.loc["plr_worst"]
    assert (acc.only_a, acc.only_b, acc.a_rate, acc.b_rate) == (20, 0, 50.0, 16.667)
    assert acc.test == "exact binomial" and acc.p_value == pytest.approx(2 / 2**20, rel=1e-3)
    assert (worst.only_a, worst.only_b, worst.p_value) == (0, 0, 1.0)
    assert (worst.a_scorer, worst.b_scorer) == ("plr_clip", "plr_scratch")
    r = paired_tests("Ours", ["Robust"], {"acc": rows["acc"]}).iloc[0]
    assert (r.only_a, r.only_b, r.test) == (30, 30, "chi-square (continuity corrected)")
    assert r.p_value == pytest.approx(mcnemar(ours, robust).p_value, rel=1e-3)
