"""openset.negatives chosen on a validation slice (issue 26): the choice rule, and that the selection
reads the open-train clips only."""

import numpy as np
import pytest

from ppfer_core.open_training import CandidateFigures, choose_negatives, groups_for, resolve_negatives


def figures(id_rank1: float, id_auc: float, expression: float) -> CandidateFigures:
    return CandidateFigures(id_rank1, 25.0, id_auc, expression, 80.0)


def test_the_private_candidate_that_keeps_most_expression_is_chosen():
    chosen, why = choose_negatives(
        {"all": figures(30.0, 0.55, 60.0), "same_emotion": figures(40.0, 0.58, 60.0)}
    )
    assert chosen == "all" and why.startswith("private")  # both private, equal expression: the first
    chosen, _ = choose_negatives(
        {"all": figures(30.0, 0.55, 50.0), "same_emotion": figures(40.0, 0.58, 60.0)}
    )
    assert chosen == "same_emotion"
    # privacy first: more expression does not buy a candidate that fails the goals on validation
    chosen, _ = choose_negatives({"all": figures(30.0, 0.55, 40.0), "same_emotion": figures(60.0, 0.5, 70.0)})
    assert chosen == "all"
    chosen, why = choose_negatives(
        {"all": figures(80.0, 0.7, 70.0), "same_emotion": figures(80.0, 0.65, 10.0)}
    )
    assert chosen == "same_emotion" and why.startswith("no candidate private")
    assert figures(30.0, 0.55, 40.0).as_dict()["expression_share"] == 0.5


def test_the_trainings_use_the_recorded_choice():
    assert resolve_negatives("select", {"chosen": "same_emotion"}) == "same_emotion"
    assert resolve_negatives("all", None) == "all"
    with pytest.raises(ValueError, match="negatives.json"):
        resolve_negatives("select", None)
    with pytest.raises(ValueError, match="openset.negatives must be one of"):
        resolve_negatives("some", None)
    emotions = np.array([0, 1, 1])
    assert groups_for("all", emotions) is None and groups_for("same_emotion", emotions) is emotions
    with pytest.raises(ValueError, match="emotions"):
        groups_for("same_emotion", None)
