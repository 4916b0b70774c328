"""The closed-set split: clip-level, stratified within each actor x emotion cell (:func:`assign_split`)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd


def _cells(index: pd.DataFrame) -> list[pd.DataFrame]:
    """The actor x emotion cells of ``index`` (sorted), each sorted by clip_id (else position): one
    frame per cell whose index labels are those of ``index``. A missing actor counts as ``""``."""
    n = len(index)
    actor = index["actor"].astype(object).where(index["actor"].notna(), "")
    emotion = index["emotion"].astype(str)
    order_key = (
        index["clip_id"].astype(str) if "clip_id" in index.columns else pd.Series(range(n), index=index.index)
    )
    frame = pd.DataFrame(
        {"actor": actor.astype(str), "emotion": emotion, "key": order_key.values}, index=index.index
    )
    frame["pos"] = np.arange(n)
    return [g.sort_values(["key", "pos"]) for _, g in frame.groupby(["actor", "emotion"], sort=True)]


def _test_counts(
    sizes: np.ndarray, n_test: int, lo: np.ndarray, hi: np.ndarray, tie: np.ndarray
) -> np.ndarray:
    """Test clips per cell: ``n_test`` shared in proportion to ``sizes`` by largest remainder within
    ``[lo, hi]`` per cell, ties broken by ``tie`` (``lo.sum() <= n_test <= hi.sum()``)."""
    quota = sizes * n_test / sizes.sum()
    k = np.clip(np.floor(quota + 1e-9).astype(np.int64), lo, hi)
    rem = n_test - int(k.sum())
    while rem != 0:
        frac = quota - k
        if rem > 0:
            cand = np.flatnonzero(k < hi)
            cand = cand[np.lexsort((tie[cand], -frac[cand]))][:rem]
            k[cand] += 1
            rem -= len(cand)
        else:
            cand = np.flatnonzero(k > lo)
            cand = cand[np.lexsort((tie[cand], frac[cand]))][:-rem]
            k[cand] -= 1
            rem += len(cand)
    return k


def assign_split(index: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    """Clip-level closed-set split, stratified within each actor x emotion cell.

    ``n_test = floor(test_fraction * N)`` clips go to ``"test"``, shared over the cells in
    proportion to their size by largest remainder (ties broken by a seeded draw), with every
    cell of >= 2 clips keeping at least one clip in each split (so every such actor is in
    both). When the cells are too small for both (e.g. 3 clips per cell and 0.3: floor gives
    0.9 per cell, the constraint needs 1), the constraint wins: n_test is moved to the nearest
    feasible count and a warning says so. Which clips of a cell are test is a seeded random choice.
    The result depends on the clips (``actor``, ``emotion`` and, if present, ``clip_id`` columns)
    and the seed, not on the row order. Rows without an actor (DFEW) are stratified by emotion only.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    n = len(index)
    out = pd.Series("train", index=index.index, name="split", dtype=object)
    if n == 0:
        return out
    n_test = int(math.floor(test_fraction * n + 1e-9))
    cells = _cells(index)
    sizes = np.array([len(g) for g in cells])
    lo = np.where(sizes >= 2, 1, 0)
    hi = np.where(sizes >= 2, sizes - 1, sizes)
    if not lo.sum() <= n_test <= hi.sum():
        clamped = int(np.clip(n_test, lo.sum(), hi.sum()))
        warnings.warn(
            f"assign_split: {n_test} test clips (floor({test_fraction} x {n})) cannot keep every actor x emotion "
            f"cell of >= 2 clips in both splits (possible: {lo.sum()}..{hi.sum()}); using {clamped}",
            stacklevel=2,
        )
        n_test = clamped
    rng = np.random.default_rng(seed)
    k = _test_counts(sizes, n_test, lo, hi, tie=rng.random(len(cells)))
    for g, k_c in zip(cells, k):
        if k_c:
            chosen = rng.permutation(len(g))[:k_c]
            out.loc[g.index[chosen]] = "test"
    return out
