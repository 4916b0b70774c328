"""The attack jobs' records (ppfer_core.attack_jobs, and the one leakage scoring
ppfer_core.evaluation.leakage_record): one process per attacked representation writes the same
records as one process per attacker did (issue 30). A few seconds on one thread."""

import numpy as np
import pandas as pd
import pytest
import torch
from test_attacks import QUIET, identity_clips
from test_threat import one_thread  # noqa: F401  (autouse: tiny models, one thread)

from ppfer_core.attack_jobs import (
    AdaptiveSettings,
    AttackData,
    ClipSettings,
    adaptive_record,
    clip_record,
    frames_record,
    recovered_records,
)
from ppfer_core.attacks import frame_logits, score_frames
from ppfer_core.evaluation import LeakageScorers, leakage_record, load_scorer, privacy_leakage
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job
from ppfer_core.training import save_weights, seed_everything

CPU = torch.device("cpu")
MODEL = {"arch": "small_cnn", "weights": None}
CONVERGENCE = {
    "target_train_acc": 1.01,
    "patience": 3,
    "val_fraction": 0.25,
    "shift": 2,
    "lr_factor": 0.5,
    "lr_patience": 1,
    "frames": "one",
}
TRAIN = {"epochs": 2, "batch_size": 4, "lr": 0.01, "optimizer": "adam"}


@pytest.fixture
def rep(tmp_path):
    """A representation's clips, the corpus index (3 actors) and a validator's weights file."""
    y_train, y_test = np.repeat(np.arange(3), 4), np.repeat(np.arange(3), 2)
    actors = np.array(["a1", "a2", "a3"])
    index = pd.DataFrame(
        {
            "actor": [*actors[y_train], *actors[y_test]],
            "split": ["train"] * len(y_train) + ["test"] * len(y_test),
            "row": [*range(len(y_train)), *range(len(y_test))],
        }
    )
    index.to_parquet(tmp_path / "index.parquet")
    np.save(tmp_path / "train.npy", identity_clips(y_train, 0, t=2))
    np.save(tmp_path / "test.npy", identity_clips(y_test, 1, t=2))
    torch.manual_seed(5)
    save_weights(create_model("image", MODEL["arch"], num_classes=3), tmp_path / "validator.pt")
    torch.manual_seed(1)
    save_weights(create_model("image", MODEL["arch"], num_classes=3), tmp_path / "vpl.pt")
    return tmp_path


def without_seconds(record):
    """A record without its wall times (the histories' ``seconds``)."""
    if isinstance(record, dict):
        return {k: without_seconds(v) for k, v in record.items() if k != "seconds"}
    if isinstance(record, list):
        return [without_seconds(v) for v in record]
    return record


def test_a_record_does_not_depend_on_the_records_the_job_wrote_before(rep):
    """Each trained attacker starts from the job's seed: the scratch CNN's record is the same whether
    the job first wrote the leakage and adaptive records (attack_suite) or nothing (its own job)."""
    data = AttackData.load("x", rep / "train.npy", rep / "test.npy", rep / "index.parquet")
    job = Job(QUIET, CPU, 7, 0, None)
    validator = rep / "validator.pt"

    def frames(state):  # a state file of its own: the second run must train, not resume the first
        return frames_record(job, data, MODEL, validator, {"width": 4, "train": TRAIN}, CONVERGENCE, state, 0)

    seed_everything(job.seed)
    alone = frames(rep / "alone.state")
    scorers = LeakageScorers(load_scorer(MODEL, 3, validator), load_scorer(MODEL, 3, validator))
    leakage_record(job, "x", scorers, data.test, rep / "index.parquet", 0)
    adaptive = adaptive_record(
        job, data, AdaptiveSettings("validator", TRAIN, CONVERGENCE), MODEL, validator, rep / "a", 0
    )
    after = frames(rep / "after.state")
    assert without_seconds(after) == without_seconds(alone)
    assert after["scratch"]["epochs"] >= 1 and set(after) == {"rep", "validator", "scratch"}
    assert adaptive["init"] == "validator" and adaptive["rep"] == "x" and adaptive["n"] == 6


def test_the_video_attackers_record_is_the_same_in_the_suite_job_as_alone(rep):
    """Issue 30: the video attacker runs in the attack_suite job after the frame attackers; it starts
    from the job's seed, so its record is the one its own job (attack_clips, before) wrote."""
    data = AttackData.load("x", rep / "train.npy", rep / "test.npy", rep / "index.parquet")
    job = Job(QUIET, CPU, 3, 0, None)
    settings = ClipSettings("r3d_small", 4, 1, TRAIN, CONVERGENCE)
    seed_everything(job.seed)
    alone = clip_record(job, data, settings, rep / "alone.state")
    frames_record(job, data, MODEL, rep / "vpl.pt", {"width": 4, "train": TRAIN}, CONVERGENCE, rep / "f", 0)
    after = clip_record(job, data, settings, rep / "after.state")
    assert without_seconds(after) == without_seconds(alone)
    assert after["rep"] == "x" and after["arch"] == "r3d_small" and after["n"] == 6
    assert after["status"] in ("converged", "budget") and len(after["hits"]) == 6


def test_leakage_record_is_the_validators_plr_of_the_clips_it_is_given(rep):
    """The one leakage scoring (rules leakage and attack_suite): V_pl's PLR of the given test clips."""
    job = Job(QUIET, CPU, 0, 0, None)
    test = np.load(rep / "test.npy")
    validator = load_scorer(MODEL, 3, rep / "validator.pt")
    vpl = load_scorer(MODEL, 3, rep / "vpl.pt")
    record = leakage_record(
        job, "recovered-x", LeakageScorers(validator, vpl), test, rep / "index.parquet", 3
    )
    y = np.repeat(np.arange(3), 2)
    expected = privacy_leakage(validator, test, y, 3, 3, CPU)
    assert record == {
        "rep": "recovered-x",
        **expected,
        "scorer": "validator",
        "vpl": privacy_leakage(vpl, test, y, 3, 3, CPU),
    }


def test_the_recover_jobs_records_are_the_leakage_of_recovered_rep_and_vpl_on_its_frames(rep):
    """Issue 30: rule recover scores the frames it recovers: the leakage record of recovered-{rep} (the
    independent validator, V_pl beside it) and the suite's attacker ``recovered``, V_pl on the same
    seeded frame per clip and by voting, as the attack_suite job scored them before."""
    job = Job(QUIET, CPU, 0, 0, None)
    recovered = np.load(rep / "test.npy")
    readers = {"validator_model": MODEL, "model": MODEL, "seed": 3}
    leakage, attack = recovered_records(
        job, "x", recovered, rep / "index.parquet", readers, rep / "validator.pt", rep / "vpl.pt"
    )
    validator = load_scorer(MODEL, 3, rep / "validator.pt")
    vpl = load_scorer(MODEL, 3, rep / "vpl.pt")
    expected = leakage_record(
        job, "recovered-x", LeakageScorers(validator, vpl), recovered, rep / "index.parquet", 3
    )
    assert leakage == expected
    y = np.repeat(np.arange(3), 2)
    assert attack == {"rep": "x", **score_frames(frame_logits(vpl, recovered, CPU), y, 3)}
    assert attack["plr"] == leakage["vpl"]["plr"] and len(attack["hits_vote"]) == 6
