"""Statistics of the rates the tables report (PLR, ACC, rank-1, ...), torch-free.

- :func:`wilson_interval`: 95 % Wilson interval of ``correct / n`` (items taken as independent);
- :func:`actor_bootstrap`: a percentile interval clustered by actor (issue 26): actors are resampled
  with replacement and carry all their test clips with them, since the clips of one actor are not
  independent draws (:class:`ActorInterval`: the tables' settings of it);
- :func:`mcnemar`: a paired test of two rows scored on the same test clips (exact binomial when the
  discordant clips are few, else chi-square with continuity correction);
- :func:`select_on_validation`: the worst attacker per representation chosen on the validation slice
  of train, reported with its test figure (never the maximum over test);
- :func:`expression_chance`: the chance ACC of the expression classes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


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


def expression_chance(labels: Sequence[int] | np.ndarray) -> float:
    """Chance expression accuracy in percent: 100 / the number of expression classes in ``labels``
    (e.g. :func:`ppfer_core.arrays.emotion_labels` of the index's test split)."""
    classes = np.unique(np.asarray(labels))
    if len(classes) == 0:
        raise ValueError("expression_chance: no labels")
    return 100.0 / len(classes)


# --------------------------------------------------------------------------------------------- actor-clustered interval


@dataclass(frozen=True)
class Interval:
    """A rate and its interval, in percent."""

    value: float
    lo: float
    hi: float


def _hits(hits: Iterable[int | bool], name: str) -> np.ndarray:
    h = np.asarray(list(hits) if not isinstance(hits, np.ndarray) else hits)
    if h.ndim != 1 or len(h) == 0:
        raise ValueError(f"{name}: needs a non-empty 1-D array of per-clip hits, got shape {h.shape}")
    if not np.isin(h, (0, 1)).all():
        raise ValueError(f"{name}: per-clip hits must be 0/1 (or bool)")
    return h.astype(np.int64)


def actor_bootstrap(
    hits: Sequence[int | bool] | np.ndarray,
    actors: Sequence[object] | np.ndarray,
    n_boot: int = 10000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval:
    """Percentile interval of the rate of ``hits`` (1 per test clip correct) clustered by actor: each of
    ``n_boot`` seeded replicates draws as many actors as there are, with replacement, and pools all
    their clips (the rate is pooled hits / pooled clips); the interval is the replicates'
    ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles (numpy's linear interpolation), in percent."""
    h = _hits(hits, "actor_bootstrap")
    a = np.asarray(actors)
    if a.shape != h.shape:
        raise ValueError(f"actor_bootstrap: {len(a)} actors for {len(h)} clips")
    if not 0 < level < 1 or n_boot < 1:
        raise ValueError(f"actor_bootstrap needs 0 < level < 1 and n_boot >= 1, got {level}, {n_boot}")
    _, cluster = np.unique(a, return_inverse=True)
    k = int(cluster.max()) + 1
    sums = np.bincount(cluster, weights=h, minlength=k)
    counts = np.bincount(cluster, minlength=k).astype(np.float64)
    draw = np.random.default_rng(seed).integers(0, k, size=(n_boot, k))
    rates = sums[draw].sum(1) / counts[draw].sum(1)
    lo, hi = np.percentile(rates, [50.0 * (1 - level), 50.0 * (1 + level)])
    return Interval(100.0 * float(h.mean()), 100.0 * float(lo), 100.0 * float(hi))


# --------------------------------------------------------------------------------------------- paired test


@dataclass(frozen=True)
class McNemar:
    """McNemar's test of two rows on the same clips: ``only_a`` clips only row a gets right,
    ``only_b`` only row b; two-sided ``p_value``; ``exact``: binomial (else chi-square with
    continuity correction, ``statistic``)."""

    only_a: int
    only_b: int
    p_value: float
    exact: bool
    statistic: float | None = None


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of ``k`` successes in ``n`` fair coin flips: 2 P(X <= min(k, n-k)), capped at 1."""
    m = min(k, n - k)
    return min(1.0, 2.0 * sum(math.comb(n, i) for i in range(m + 1)) / 2.0**n)


def mcnemar(
    a_hits: Sequence[int | bool] | np.ndarray,
    b_hits: Sequence[int | bool] | np.ndarray,
    exact_below: int = 25,
) -> McNemar:
    """Paired test of rows a and b scored on the same test clips (per-clip hits in the same order):
    exact binomial on the discordant clips when there are fewer than ``exact_below`` of them,
    otherwise chi-square (1 degree of freedom) with continuity correction, (|b - c| - 1)^2 / (b + c)."""
    a, b = _hits(a_hits, "mcnemar a"), _hits(b_hits, "mcnemar b")
    if a.shape != b.shape:
        raise ValueError(f"mcnemar: rows scored on different clips ({len(a)} vs {len(b)})")
    only_a, only_b = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
    n = only_a + only_b
    if n == 0:
        return McNemar(only_a, only_b, 1.0, True)
    if n < exact_below:
        return McNemar(only_a, only_b, binomial_two_sided(only_a, n), True)
    stat = (abs(only_a - only_b) - 1.0) ** 2 / n
    return McNemar(only_a, only_b, math.erfc(math.sqrt(stat / 2.0)), False, stat)


# --------------------------------------------------------------------------------------------- worst attacker


@dataclass(frozen=True)
class AttackerRecord:
    """One attacker's (or scoring's) figures on one representation: clips re-identified on the
    validation slice of train and on test, and its training status (converged / budget / diverged)."""

    rep: str
    attacker: str
    val_correct: int
    val_n: int
    test_correct: int
    test_n: int
    status: str = "converged"

    @property
    def val_rate(self) -> Fraction:
        return Fraction(self.val_correct, self.val_n)

    @property
    def test_rate(self) -> float:
        return 100.0 * self.test_correct / self.test_n


def select_on_validation(
    records: Iterable[AttackerRecord], order: Sequence[str] | None = None
) -> dict[str, AttackerRecord]:
    """Per representation, the attacker with the highest validation rate (``val_correct / val_n``,
    compared exactly), to be reported with its *test* figure; the test figures play no part. Ties go to
    the attacker earliest in ``order`` (default: the order the records come in). Records without a
    validation slice (``val_n`` 0) are not eligible; a representation with none eligible is an error."""
    records = list(records)
    rank = {name: i for i, name in enumerate(order)} if order is not None else {}
    if order is None:
        for r in records:
            rank.setdefault(r.attacker, len(rank))
    unknown = sorted({r.attacker for r in records} - set(rank))
    if unknown:
        raise ValueError(
            f"select_on_validation: attackers {unknown} are not in the tie order {list(order or [])}"
        )
    chosen: dict[str, AttackerRecord] = {}
    for r in records:
        if r.val_n <= 0:
            continue
        best = chosen.get(r.rep)
        if best is None or (r.val_rate, -rank[r.attacker]) > (best.val_rate, -rank[best.attacker]):
            chosen[r.rep] = r
    missing = sorted({r.rep for r in records} - set(chosen))
    if missing:
        raise ValueError(
            f"select_on_validation: no attacker with a validation slice (val_n > 0) for {missing}"
        )
    return chosen


@dataclass(frozen=True)
class ActorInterval:
    """The tables' interval on a rate (issue 26): :func:`actor_bootstrap` over the test clips' actors
    with ``n_boot`` replicates drawn with ``seed`` at ``level``."""

    n_boot: int = 10000
    seed: int = 0
    level: float = 0.95

    def of(self, hits: Sequence[int | bool] | np.ndarray, actors: Sequence[object] | np.ndarray) -> Interval:
        return actor_bootstrap(hits, actors, self.n_boot, self.seed, self.level)
