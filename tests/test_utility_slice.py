"""F_u's validation slice (issue 26): Gaussian Blur 2 is matched on F_u's accuracy on a slice of the
*train* split, stratified by expression, seeded, the same clips for every representation, and disjoint
from the clips the validation sibling trains on."""

import numpy as np
import pytest
import torch

import ppfer_core.utility as utility
from ppfer_core.training import Run
from ppfer_core.utility import UtilitySlice, validation_record

LABELS = np.repeat(np.arange(6), 108)[
    np.random.default_rng(3).permutation(648)
]  # the default corpus' train split


def test_the_slice_is_stratified_disjoint_and_seeded():
    fit_rows, val_rows = UtilitySlice(0.2, 0).rows(LABELS)
    assert len(np.intersect1d(fit_rows, val_rows)) == 0
    assert np.array_equal(np.sort(np.concatenate([fit_rows, val_rows])), np.arange(648))
    assert np.bincount(LABELS[val_rows]).tolist() == [21] * 6  # 20 % of each expression's 108, rounded down
    again = UtilitySlice(0.2, 0).rows(LABELS)[1]
    assert np.array_equal(val_rows, again)
    assert not np.array_equal(val_rows, UtilitySlice(0.2, 1).rows(LABELS)[1])


def test_the_slice_holding_out_nothing_names_the_key():
    with pytest.raises(ValueError, match=r"utility.val_fraction 0.2 holds out no train clip"):
        UtilitySlice(0.2, 0).rows(np.repeat(np.arange(6), 4))  # tiny: 4 clips per expression
    with pytest.raises(ValueError, match="utility.val_fraction must be in"):
        UtilitySlice(1.0, 0)


def _clips(labels: np.ndarray, rep_shift: int) -> np.ndarray:
    """Clips [N, 2, 8, 8, 3] whose expression is their brightness; pixel (0, 0) of frame 0 holds the
    row number (to see which rows a training saw); ``rep_shift`` makes another representation."""
    clips = np.empty((len(labels), 2, 8, 8, 3), np.uint8)
    clips[:] = (40 * labels + rep_shift)[:, None, None, None, None]
    clips[:, 0, 0, 0, 0] = np.arange(len(labels))
    return clips


@pytest.mark.parametrize("rep_shift", [0, 7])
def test_the_sibling_trains_outside_the_slice_and_is_scored_on_it(monkeypatch, rep_shift):
    """Every representation (two here) trains on the same rows outside the slice and is scored on the
    slice's rows: the slice comes from the expressions and the seed only, not from the clips."""
    labels = np.repeat(np.arange(3), 10)
    split = UtilitySlice(0.2, 0)
    fit_rows, val_rows = split.rows(labels)
    seen: dict[str, list[int]] = {}
    real_fit, real_score = utility.fit_classifier, utility.score_clips

    def fit_spy(model, dataset, settings, run):
        seen["fit"] = sorted(int(dataset[i][0][0, 0, 0, 0] * 255 + 0.5) for i in range(len(dataset)))
        return real_fit(model, dataset, settings, run)

    def score_spy(model, dataset, device):
        seen["val"] = sorted(int(dataset[i][0][0, 0, 0, 0] * 255 + 0.5) for i in range(len(dataset)))
        return real_score(model, dataset, device)

    monkeypatch.setattr(utility, "fit_classifier", fit_spy)
    monkeypatch.setattr(utility, "score_clips", score_spy)
    build = lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(3))  # noqa: E731
    settings = {"epochs": 1, "batch_size": 8, "lr": 0.01, "optimizer": "adam"}
    run = Run(torch.device("cpu"), 0, None, lambda s: None, "utility_val_test")
    rec = validation_record(build, _clips(labels, rep_shift), labels, split, settings, run, augment=False)
    assert seen == {"fit": fit_rows.tolist(), "val": val_rows.tolist()}
    assert rec["val_n"] == len(val_rows) == 6 and rec["val_train_clips"] == 24
    assert rec["val_rows"] == val_rows.tolist() and rec["val_fraction"] == 0.2
    assert 0 <= rec["val_correct"] <= 6 and rec["val_acc"] == pytest.approx(100 * rec["val_correct"] / 6)
