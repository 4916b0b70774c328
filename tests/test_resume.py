"""A training killed with SIGKILL (a preempted SLURM job) resumes from its per-epoch state when
rerun and ends with exactly the weights of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch

EPOCHS = 8

SCRIPT = textwrap.dedent(
    f"""
    import sys, time
    from pathlib import Path

    import torch
    from torch import nn
    from torch.utils.data import TensorDataset

    from ppfer_core.training import Player, finish, make_loader, optimizer, save_weights, train

    out, state = Path(sys.argv[1]), Path(sys.argv[2])
    device = torch.device("cpu")
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(96, 6, generator=g)
    data = TensorDataset(x, (x[:, 0] + x[:, 1] > 0).long())
    model = nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 2))
    opt = optimizer(model.parameters(), "adam", 0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max={EPOCHS})

    def loss(batch):
        time.sleep(0.04)  # slow enough to be killed mid-training
        logits = model(batch[0])
        return nn.functional.cross_entropy(logits, batch[1]), {{}}

    result = train([Player("ce", [model], opt, loss, sched)], make_loader(data, 16, True, 5, device), {EPOCHS},
                   device, seed=5, state_path=state, settings={{"test": "resume"}}, log=print, desc="resume")
    save_weights(model, out)
    finish(state)
    print("RESUMED_FROM", result.resumed_from, "EPOCHS", [r["epoch"] for r in result.history], flush=True)
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(script: Path, out: Path, state: Path) -> str:
    done = subprocess.run(
        [sys.executable, str(script), str(out), str(state)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_sigkilled_training_resumes_to_identical_weights(tmp_path):
    script = tmp_path / "train_job.py"
    script.write_text(SCRIPT)

    reference = _run(script, tmp_path / "reference.pt", tmp_path / "reference.pt.state")
    assert "RESUMED_FROM 0" in reference

    out, state = tmp_path / "model.pt", tmp_path / "model.pt.state"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out), str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    saved_epoch = None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if state.exists():
                saved_epoch = torch.load(state, weights_only=True)["epoch"]  # written atomically
                if saved_epoch >= 1:
                    break
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the job ended before it could be killed"
    assert saved_epoch is not None and 1 <= saved_epoch < EPOCHS - 1
    assert not out.exists()  # killed before its final weights
    killed_at = torch.load(state, weights_only=True)["epoch"]  # the last state written before the kill

    resumed = _run(script, out, state)
    assert f"resumed from {state} at epoch {killed_at + 1}/{EPOCHS}" in resumed
    assert f"RESUMED_FROM {killed_at + 1} EPOCHS {list(range(1, EPOCHS + 1))}" in resumed
    assert not state.exists()  # removed once the final weights are written

    a, b = torch.load(tmp_path / "reference.pt", weights_only=True), torch.load(out, weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
