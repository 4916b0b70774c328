import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from ppfer_core.training import Player, finish, make_loader, optimizer, train

DEVICE = torch.device("cpu")


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 5, generator=g)
    y = (x[:, 0] > 0).long()
    return TensorDataset(x, y)


def _player(model):
    def loss(batch):
        logits = model(batch[0])
        return nn.functional.cross_entropy(logits, batch[1]), {
            "acc": (logits.argmax(1) == batch[1]).float().mean().item()
        }

    return Player("ce", [model], optimizer(model.parameters(), "adam", 0.05), loss)


def _run(state_path, epochs, crash_after=None):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.2), nn.ReLU(), nn.Linear(8, 2))
    stop = None
    if crash_after is not None:

        def stop(row):
            if row["epoch"] == crash_after:
                raise KeyboardInterrupt("simulated preemption")

    loader = make_loader(_problem(), 16, True, 3, DEVICE)
    result = train(
        [_player(model)], loader, epochs, DEVICE, seed=3, state_path=state_path, settings={"a": 1}, stop=stop
    )
    return model, result


def test_loss_goes_down_and_history_is_logged():
    _, result = _run(None, 6)
    assert len(result.history) == 6
    assert result.history[-1]["ce_loss"] < result.history[0]["ce_loss"]


def test_same_seed_same_weights():
    a, _ = _run(None, 3)
    b, _ = _run(None, 3)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_preempted_training_resumes_and_matches_uninterrupted(tmp_path):
    state = tmp_path / "model.pt.state"
    reference, _ = _run(None, 5)
    with pytest.raises(KeyboardInterrupt):
        _run(state, 5, crash_after=3)
    # the state written before the crash is for epochs 1-2 (the crash is raised inside epoch 3's stop check)
    assert state.exists()
    resumed, result = _run(state, 5)
    assert result.resumed_from == 2
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4, 5]
    for pa, pb in zip(reference.parameters(), resumed.parameters()):
        assert torch.equal(pa, pb)
    finish(state)
    assert not state.exists()


def test_state_of_other_settings_is_ignored(tmp_path):
    state = tmp_path / "s.pt"
    _run(state, 2)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 2))
    loader = make_loader(_problem(), 16, True, 3, DEVICE)
    result = train([_player(model)], loader, 1, DEVICE, seed=3, state_path=state, settings={"a": 2})
    assert result.resumed_from == 0


def test_two_players_step_in_turn():
    torch.manual_seed(0)
    a, b = nn.Linear(5, 2), nn.Linear(5, 2)
    before = [p.clone() for p in (*a.parameters(), *b.parameters())]
    loader = make_loader(_problem(), 16, True, 0, DEVICE)
    result = train([_player(a), _player(b)], loader, 1, DEVICE, seed=0)
    after = list(a.parameters()) + list(b.parameters())
    assert all(not torch.equal(x, y) for x, y in zip(before, after))
    assert {"ce_loss", "acc"} <= set(result.history[0])


def test_early_stop_rule_ends_training():
    torch.manual_seed(0)
    model = nn.Linear(5, 2)
    loader = make_loader(_problem(), 16, True, 0, DEVICE)
    result = train(
        [_player(model)], loader, 10, DEVICE, seed=0, stop=lambda row: "enough" if row["epoch"] == 2 else None
    )
    assert len(result.history) == 2 and result.stopped == "enough"


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizer(nn.Linear(2, 2).parameters(), "rmsprop", 0.1)


def test_training_loader_drops_a_last_batch_of_one():
    """Batch-norm cannot train on a batch of one: a shuffled loader of 9 items in batches of 4 drops
    the ninth; an evaluation loader (not shuffled) keeps every item."""
    import torch
    from torch.utils.data import TensorDataset

    from ppfer_core.training import make_loader

    data = TensorDataset(torch.arange(9.0))
    cpu = torch.device("cpu")
    assert [len(b[0]) for b in make_loader(data, 4, True, 0, cpu)] == [4, 4]
    assert [len(b[0]) for b in make_loader(data, 4, False, 0, cpu)] == [4, 4, 1]
    assert [len(b[0]) for b in make_loader(data, 3, True, 0, cpu)] == [3, 3, 3]
    assert [len(b[0]) for b in make_loader(data, 4, True, 0, cpu, items_per_epoch=5)] == [4]


def test_train_settings_from_config_keeps_the_entry_for_fingerprints():
    from ppfer_core.training import TrainSettings, fingerprint

    entry = {
        "epochs": 2,
        "batch_size": 8,
        "lr": 0.01,
        "optimizer": "adamw",
        "weight_decay": 0.1,
        "privacy_weight": 1.0,
    }
    s = TrainSettings.from_config(entry)
    assert (s.epochs, s.batch_size, s.lr, s.optimizer, s.weight_decay, s.items_per_epoch) == (
        2,
        8,
        0.01,
        "adamw",
        0.1,
        None,
    )
    assert TrainSettings.from_config(s) is s
    assert fingerprint({"train": s.config()}) == fingerprint({"train": entry})
    direct = TrainSettings(epochs=1, batch_size=4, lr=0.1)
    assert direct.config() == {
        "epochs": 1,
        "batch_size": 4,
        "lr": 0.1,
        "optimizer": "adam",
        "weight_decay": 0.0,
        "items_per_epoch": None,
    }
    assert direct.make_optimizer(nn.Linear(2, 2).parameters()).param_groups[0]["weight_decay"] == 0.0
    decayed = TrainSettings.from_config({**direct.config(), "optimizer": "adamw", "weight_decay": 0.05})
    assert decayed.make_optimizer(nn.Linear(2, 2).parameters()).param_groups[0]["weight_decay"] == 0.05


def test_job_from_snakemake_and_resumable_state(tmp_path):
    from types import SimpleNamespace

    from ppfer_core.runtime import Job

    sm = SimpleNamespace(
        log=[str(tmp_path / "job.log")],
        config={"seed": 3, "device": "cpu", "cpu_dtype": "float32", "workers": 2},
        params=SimpleNamespace(seed=5, train={"epochs": 1, "batch_size": 2, "lr": 0.1, "optimizer": "sgd"}),
        threads=1,
        rule="r",
        wildcards={},
    )
    import logging
    import sys

    out, err = sys.stdout, sys.stderr
    try:
        job = Job.from_snakemake(sm)
    finally:
        sys.stdout, sys.stderr = out, err
        logging.captureWarnings(False)
    assert (job.seed, job.workers, job.device.type) == (5, 2, "cpu")
    assert job.train_settings().optimizer == "sgd"
    run = job.run("fit", tmp_path / "s")
    assert (run.device, run.seed, run.state_path, run.desc, run.workers) == (
        job.device,
        5,
        tmp_path / "s",
        "fit",
        2,
    )
    with job.resumable(tmp_path / "model.pt") as state:
        assert state == tmp_path / "model.pt.state"
        state.write_text("x")
    assert not state.exists()
    with pytest.raises(RuntimeError), job.resumable(tmp_path / "other.pt") as state:
        state.write_text("x")
        raise RuntimeError("preempted")
    assert state.exists()


def test_batches_and_batched_keep_order():
    from ppfer_core.arrays import batched, batches, frames_to_tensor

    assert [(s.start, s.stop) for s in batches(7, 3)] == [(0, 3), (3, 6), (6, 9)]
    frames = np.random.default_rng(0).integers(0, 256, (7, 4, 4, 3), dtype=np.uint8)
    out = batched(lambda x: x.mean((1, 2, 3)), frames, 3, DEVICE)
    assert torch.equal(out, frames_to_tensor(frames).mean((1, 2, 3)))


def test_npy_output_renames_on_completion_and_leaves_nothing_on_error(tmp_path):
    from ppfer_core.arrays import npy_output

    with npy_output(tmp_path / "a" / "x.npy", (2, 3)) as out:
        out[:] = 7
        assert not (tmp_path / "a" / "x.npy").exists()
    assert (np.load(tmp_path / "a" / "x.npy") == 7).all()
    with pytest.raises(RuntimeError), npy_output(tmp_path / "y.npy", (2, 3)) as out:
        raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    with npy_output(tmp_path / "empty.npy", (0, 3), np.float32):
        pass
    assert np.load(tmp_path / "empty.npy").shape == (0, 3)


def _flip_shift_float(x: torch.Tensor, shift: int) -> torch.Tensor:
    """Reference: flip then replicate-pad and crop the float tensor [..., 3, H, W] (the old path)."""
    if torch.rand(()) < 0.5:
        x = x.flip(-1)
    dy, dx = (int(v) for v in torch.randint(-shift, shift + 1, (2,)))
    h, w = x.shape[-2:]
    padded = torch.nn.functional.pad(x.flatten(0, -3)[None], (shift,) * 4, mode="replicate")[0]
    return padded[:, shift + dy : shift + dy + h, shift + dx : shift + dx + w].reshape(x.shape)


def test_flip_shift_on_uint8_matches_padding_and_cropping_the_float_frames():
    from ppfer_core.arrays import ClipDataset, frames_to_tensor, random_flip_shift

    clips = np.random.default_rng(0).integers(0, 256, (3, 4, 9, 11, 3), dtype=np.uint8)
    for seed in range(24):
        for x in (clips[0], clips[1, 2]):  # a clip [T, H, W, 3] and a frame [H, W, 3]
            torch.manual_seed(seed)
            got = frames_to_tensor(random_flip_shift(x, 3))
            torch.manual_seed(seed)
            assert torch.equal(got, _flip_shift_float(frames_to_tensor(x), 3))
    torch.manual_seed(5)
    item, label = ClipDataset(clips, np.arange(3), augment=True, shift=3)[1]
    torch.manual_seed(5)
    assert item.shape == (3, 4, 9, 11) and int(label) == 1
    assert torch.equal(item, _flip_shift_float(frames_to_tensor(clips[1]), 3).movedim(0, 1))
