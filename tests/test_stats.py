"""Wilson intervals, actor-clustered bootstrap intervals, McNemar's paired test and the worst attacker
chosen on validation, against hand-computed values."""

import numpy as np
import pytest

from ppfer_core.stats import (
    AttackerRecord,
    actor_bootstrap,
    expression_chance,
    mcnemar,
    select_on_validation,
    wilson_interval,
)


def test_wilson_hand_computed():
    # p = 0.5, n = 100: centre 0.5, half = 1.96 * sqrt(0.0025 + 0.96/40000) / 1.0384 = 0.0960
    lo, hi = wilson_interval(50, 100)
    assert lo == pytest.approx(40.383, abs=1e-3) and hi == pytest.approx(59.617, abs=1e-3)
    # 0 of 10: lower bound 0, upper z^2/(n+z^2) = 3.8415/13.8415
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(27.753, abs=1e-3)
    lo, hi = wilson_interval(10, 10)
    assert hi == 100.0 and lo == pytest.approx(72.247, abs=1e-3)


def test_wilson_rejects_bad_counts():
    with pytest.raises(ValueError, match="n > 0"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="correct <= n"):
        wilson_interval(5, 4)


# --------------------------------------------------------------------------------------------- issue 26


def test_actor_bootstrap_hand_computed_percentiles():
    # 4 actors with 0, 1, 1 and 2 of their 2 clips right (50 % overall): a replicate draws 4 actors, each
    # adding 0 / 1 / 2 hits with probability 1/4, 1/2, 1/4. P(0 of 8 hits) = 1/256 = 0.4 % and
    # P(<= 1 hit) = (1 + 4 * 2) / 256 = 3.5 %: the 2.5 % point is 1/8 = 12.5 %, by symmetry the 97.5 % 87.5 %
    hits = [0, 0, 1, 0, 0, 1, 1, 1]
    actors = [0, 0, 1, 1, 2, 2, 3, 3]
    iv = actor_bootstrap(hits, actors, n_boot=40000, seed=1)
    assert iv.value == 50.0
    assert iv.lo == pytest.approx(12.5) and iv.hi == pytest.approx(87.5)


def test_actor_bootstrap_resamples_actors_not_clips():
    # every actor all right or all wrong: the clips are not independent, and the clustered interval is
    # much wider than the Wilson interval that treats 200 clips as independent
    rng = np.random.default_rng(0)
    right = rng.random(20) < 0.5
    hits = np.repeat(right, 10).astype(int)
    actors = np.repeat(np.arange(20), 10)
    iv = actor_bootstrap(hits, actors, seed=0)
    lo, hi = wilson_interval(int(hits.sum()), len(hits))
    assert iv.hi - iv.lo > 1.8 * (hi - lo)
    # one actor's clips all carry the same rate: no spread when every actor has the same rate
    flat = actor_bootstrap([1, 0, 1, 0], ["a", "a", "b", "b"], seed=0)
    assert (flat.value, flat.lo, flat.hi) == (50.0, 50.0, 50.0)
    # seeded
    assert actor_bootstrap(hits, actors, seed=3) == actor_bootstrap(hits, actors, seed=3)


def test_actor_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="actors for"):
        actor_bootstrap([1, 0], [0])
    with pytest.raises(ValueError, match="0/1"):
        actor_bootstrap([2, 0], [0, 1])
    with pytest.raises(ValueError, match="non-empty"):
        actor_bootstrap([], [])


def test_mcnemar_exact_and_chi_square_hand_computed():
    # 1 clip only a gets right, 5 only b: exact, p = 2 (C(6,0) + C(6,1)) / 2^6 = 14 / 64
    a = [1] + [0] * 5 + [1] * 10 + [0] * 4
    b = [0] + [1] * 5 + [1] * 10 + [0] * 4
    t = mcnemar(a, b)
    assert (t.only_a, t.only_b, t.exact) == (1, 5, True) and t.p_value == pytest.approx(14 / 64)
    # 30 vs 10 discordant: chi-square with continuity correction (|30 - 10| - 1)^2 / 40 = 9.025, p = 0.002663
    a = [1] * 30 + [0] * 10 + [1] * 50
    b = [0] * 30 + [1] * 10 + [1] * 50
    t = mcnemar(a, b)
    assert not t.exact and t.statistic == pytest.approx(9.025)
    assert t.p_value == pytest.approx(0.0026631, abs=1e-6)
    # balanced or identical rows: no evidence of a difference
    assert mcnemar([1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]).p_value == 1.0
    assert mcnemar([1, 0], [1, 0]).p_value == 1.0
    with pytest.raises(ValueError, match="different clips"):
        mcnemar([1, 0], [1])


def test_select_on_validation_never_looks_at_test():
    recs = [
        # rep x: the clip attacker is best on test, the scratch CNN on validation -> scratch, with its test figure
        AttackerRecord("x", "validator", 10, 60, 100, 216),
        AttackerRecord("x", "scratch", 40, 60, 120, 216),
        AttackerRecord("x", "clip", 39, 60, 200, 216),
        AttackerRecord("x", "recovered", 0, 0, 216, 216),  # no validation slice: not eligible
        # rep y: a tie on validation (30/60 = 15/30) goes to the earlier attacker in the order
        AttackerRecord("y", "clip", 15, 30, 50, 216),
        AttackerRecord("y", "scratch", 30, 60, 10, 216),
    ]
    chosen = select_on_validation(recs, order=["validator", "scratch", "clip", "recovered"])
    assert chosen["x"].attacker == "scratch" and chosen["x"].test_rate == pytest.approx(100 * 120 / 216)
    assert chosen["y"].attacker == "scratch"
    # default order: the records' own order (clip comes first for the y tie once it is listed first)
    assert select_on_validation(recs[4:])["y"].attacker == "clip"
    with pytest.raises(ValueError, match="not in the tie order"):
        select_on_validation(recs, order=["scratch"])
    with pytest.raises(ValueError, match="no attacker with a validation slice"):
        select_on_validation([AttackerRecord("z", "recovered", 0, 0, 1, 2)])


def test_expression_chance_is_one_over_the_classes():
    assert expression_chance([0, 1, 2, 3, 4, 5, 5, 5]) == pytest.approx(100 / 6)
    assert expression_chance(np.array([3, 3, 4])) == 50.0
    with pytest.raises(ValueError, match="no labels"):
        expression_chance([])
