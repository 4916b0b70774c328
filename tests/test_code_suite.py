"""The code attackers as records of the attack suite (issue 27, ppfer_core.bottleneck.suite_attacks):
the suite's validation slice, per-test-clip hits, a status, and the identity they find."""

import numpy as np
import pytest
import torch

from ppfer_core.attacks import Convergence, validation_split
from ppfer_core.bottleneck.suite_attacks import (
    CODE_ATTACKERS,
    CodeAttackSettings,
    Sequences,
    attack_sequences,
    best_on_validation,
)
from ppfer_core.suite import ATTACKERS, Leak, suite_leaks
from ppfer_core.training import Run

SETTINGS = {
    "logreg_max_iter": 300,
    "mlp_hidden": 16,
    "mlp_max_iter": 300,
    "mlp_alpha": 0.001,
    "gru_hidden": 16,
    "gru_train": {"epochs": 30, "batch_size": 16, "lr": 0.01, "optimizer": "adam"},
}
CONV = Convergence(patience=4, val_fraction=0.2, lr_patience=2)


def _sequences(signal: float, seed: int, n_ids: int = 4, per_id: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """[n, 6, 5] code sequences: noise plus ``signal`` x a per-identity offset (the same in every split)."""
    ids = np.repeat(np.arange(n_ids), per_id)
    offsets = np.random.default_rng(7).normal(0, 1, (n_ids, 1, 5))
    return np.random.default_rng(seed).normal(0, 1, (len(ids), 6, 5)) + signal * offsets[ids], ids


def _run(seed: int = 0) -> Run:
    return Run(torch.device("cpu"), seed, None, lambda _: None, "test_gru", 0, torch.float32)


@pytest.fixture(scope="module")
def records():
    torch.set_num_threads(1)
    out = {}
    for signal in (0.0, 3.0):
        (xtr, ytr), (xte, yte) = _sequences(signal, 0), _sequences(signal, 1)
        data = Sequences.of(xtr, ytr, xte, yte, CONV, 0)
        out[signal] = attack_sequences(data, CodeAttackSettings.from_config(SETTINGS), CONV, _run())
    return out


def test_records_have_the_suites_validation_slice_hits_and_status(records):
    _, ytr = _sequences(0.0, 0)
    _, val_rows = validation_split(ytr, CONV.val_fraction, 0)  # the pixel attackers' slice
    for r in records[3.0].values():
        assert r["val_n"] == len(val_rows) == 12 and len(r["hits"]) == r["n"] == 60
        assert sum(r["hits"]) == r["correct"] and r["status"] in ("converged", "budget")
        assert 0.0 <= r["train_acc"] <= 1.0
    assert list(records[3.0]) == list(CODE_ATTACKERS)
    # as suite records: one leak per attacker, selectable, no vote column
    file = {**records[3.0], "landmarks": best_on_validation(records[0.0])}
    leaks = suite_leaks({"codes": {"b": file}}, "b", tuple(a for a in ATTACKERS if a.kind == "codes"))
    assert [x.column for x in leaks] == ["plr_code_logreg", "plr_code_mlp", "plr_code_gru", "plr_landmarks"]
    assert all(isinstance(x, Leak) for x in leaks) and [x.counted for x in leaks] == [True, True, True, False]


def test_the_attackers_find_identity_in_codes_that_carry_it_and_not_otherwise(records):
    for name in CODE_ATTACKERS:
        assert records[3.0][name]["plr"] > 90, name
        assert records[0.0][name]["plr"] < 2 * 100 / 4, name


def test_best_on_validation_names_its_attacker_and_breaks_ties_by_order():
    r = {
        name: {"val_correct": v, "plr": p}
        for name, v, p in (("logreg", 3, 10.0), ("mlp", 5, 1.0), ("gru", 5, 99.0))
    }
    assert best_on_validation(r) == {"attacker": "mlp", "val_correct": 5, "plr": 1.0}


def test_the_gru_starts_from_the_runs_seed_whatever_ran_before():
    (xtr, ytr), (xte, yte) = _sequences(1.0, 0), _sequences(1.0, 1)
    data = Sequences.of(xtr, ytr, xte, yte, CONV, 0)
    s = CodeAttackSettings.from_config({**SETTINGS, "gru_train": {**SETTINGS["gru_train"], "epochs": 2}})
    first = attack_sequences(data, s, CONV, _run())["gru"]["hits"]
    torch.rand(1000)  # another state of the global generator
    assert attack_sequences(data, s, CONV, _run())["gru"]["hits"] == first


def test_settings_name_a_missing_or_unknown_key():
    with pytest.raises(KeyError, match="threat.attacks.codes lacks gru_hidden"):
        CodeAttackSettings.from_config({k: v for k, v in SETTINGS.items() if k != "gru_hidden"})
    with pytest.raises(KeyError, match="unknown keys bogus"):
        CodeAttackSettings.from_config({**SETTINGS, "bogus": 1})
