"""Confidence intervals of the rates the tables report (PLR, ACC, rank-1, ...)."""

from __future__ import annotations

import math


def wilson_interval(correct: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion ``correct / n``, in percent (low, high).

    The interval of a rate measured on ``n`` test items; unlike the normal approximation it
    stays inside [0, 100] and is sensible at 0 % and 100 %."""
    if n <= 0:
        raise ValueError(f"wilson_interval needs n > 0, got {n}")
    if not 0 <= correct <= n:
        raise ValueError(f"wilson_interval needs 0 <= correct <= n, got {correct} of {n}")
    p = correct / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if correct == 0 else 100.0 * (centre - half)
    hi = 100.0 if correct == n else 100.0 * (centre + half)
    return lo, hi
