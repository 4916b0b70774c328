"""Wilson intervals against hand-computed bounds."""

import pytest

from ppfer_core.stats import wilson_interval


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
