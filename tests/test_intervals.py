"""95 % Wilson intervals of every PLR and ACC in Tables 1-4 and Figure 1's error bars (issue 12),
checked against bounds computed by hand: p = c/n, z = 1.96,
(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)."""

import pandas as pd
import pytest

from ppfer_core.report import interval_errors, plot_privacy_utility
from ppfer_core.tables import add_interval_columns, add_plr_acc_intervals, table1, table4

# (correct, n) -> hand-computed 95 % Wilson bounds in percent
HAND = {
    (20, 180): (7.3088, 16.5387),
    (121, 180): (60.0675, 73.6572),
    (0, 180): (0.0, 2.0895),
    (45, 90): (39.8837, 60.1163),
}

LEAKAGE = {
    "original": {"plr": 100 * 121 / 180, "correct": 121, "n": 180, "chance": 10.0},
    "ours": {"plr": 100 * 20 / 180, "correct": 20, "n": 180, "chance": 10.0},
}
UTILITY = {  # "ours" as an older metric file without "correct": counted from acc x n
    "original": {"acc": 50.0, "correct": 45, "n": 90, "per_class": {}},
    "ours": {"acc": 0.0, "n": 180, "per_class": {}},
}


def test_table1_interval_columns_match_hand_computed_wilson_bounds():
    t1 = add_plr_acc_intervals(
        table1([("NPP", "original"), ("Ours", "ours")], LEAKAGE, UTILITY), LEAKAGE, UTILITY
    )
    assert list(t1.columns[-4:]) == ["plr_lo", "plr_hi", "acc_lo", "acc_hi"]
    assert list(t1.columns[:4]) == ["approach", "plr", "acc", "chance"]  # added, not reordered
    npp, ours = t1.iloc[0], t1.iloc[1]
    assert (npp.plr_lo, npp.plr_hi) == pytest.approx(HAND[121, 180], abs=1e-3)
    assert (npp.acc_lo, npp.acc_hi) == pytest.approx(HAND[45, 90], abs=1e-3)
    assert (ours.plr_lo, ours.plr_hi) == pytest.approx(HAND[20, 180], abs=1e-3)
    assert (ours.acc_lo, ours.acc_hi) == pytest.approx(HAND[0, 180], abs=1e-3)


def test_table4_and_table3_get_interval_columns():
    tasks = [
        dict(
            task=5,
            transform=True,
            enhancers=True,
            controller=True,
            compensator=False,
            compensator_controller=False,
            rep="ours",
        )
    ]
    t4 = add_plr_acc_intervals(table4(tasks, LEAKAGE, UTILITY), LEAKAGE, UTILITY)
    assert (t4.loc[0, "plr_lo"], t4.loc[0, "plr_hi"]) == pytest.approx(HAND[20, 180], abs=1e-3)
    t3 = pd.DataFrame({"approach": ["Ours"], "plr": [11.111], "representation": ["ours"]})
    t3 = add_interval_columns(t3, "plr", [LEAKAGE["ours"]])
    assert (t3.loc[0, "plr_lo"], t3.loc[0, "plr_hi"]) == pytest.approx(HAND[20, 180], abs=1e-3)
    with pytest.raises(ValueError, match="2 metric files for 1 rows"):
        add_interval_columns(t3, "plr", [LEAKAGE["ours"]] * 2)


def test_figure1_draws_the_intervals_as_error_bars(tmp_path, monkeypatch):
    t1 = add_plr_acc_intervals(
        table1([("NPP", "original"), ("Ours", "ours")], LEAKAGE, UTILITY), LEAKAGE, UTILITY
    )
    row = next(t1.iloc[1:].itertuples(index=False))
    below, above = interval_errors(row, "plr")
    assert below[0] == pytest.approx(100 * 20 / 180 - HAND[20, 180][0], abs=2e-3)
    assert above[0] == pytest.approx(HAND[20, 180][1] - 100 * 20 / 180, abs=2e-3)
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
