"""Flower's deployment engine on loopback: a SuperLink and two SuperNodes (each pointed at its own
site folder through --node-config), the app in flower-app/ submitted with `flwr run`; the test
checks the run's metrics and stops exactly the processes it started (and their children), also on
failure. Measured 243 s on the 2-core machine under load ~18 (each message starts a fresh ClientApp
process that imports torch: 2 per site for the one round); budget 3 min on a quiet machine."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("flwr", reason="flwr (Flower) is not installed: pip install -e . installs it")

from ppfer_core.federated.partition import export_sites, partition_by_actor  # noqa: E402
from tests.test_federated import toy_index  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 90) -> None:
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def descendants(pids: list[int]) -> list[int]:
    """The given processes and all their live descendants (from /proc), parents first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo += children.get(pid, [])
    return out


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM the started processes and their descendants, SIGKILL whatever is left after 15 s."""
    pids = descendants([p.pid for p in procs if p.poll() is None])
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    end = time.time() + 15
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=max(0.1, end - time.time()))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def test_superlink_and_two_supernodes_run_the_app_with_flwr_run(tmp_path):
    index = toy_index(actors=4, per_actor=6, test_per_actor=3)
    rng = np.random.default_rng(0)
    clips = {
        s: rng.integers(0, 256, ((index["split"] == s).sum(), 4, 16, 16, 3), dtype=np.uint8)
        for s in ("train", "test")
    }
    export_sites(clips, index, partition_by_actor(index, 2, seed=0), tmp_path / "sites")
    home, out, link = tmp_path / "flwr-home", tmp_path / "out", free_port()
    home.mkdir()
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "loopback"\n\n[superlink.loopback]\naddress = "127.0.0.1:{link}"\ninsecure = true\n'
    )
    env = {
        **os.environ,
        "FLWR_HOME": str(home),
        "FLWR_TELEMETRY_ENABLED": "0",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        procs.append(
            subprocess.Popen([str(BIN / args[0]), *args[1:]], env=env, stdout=log, stderr=subprocess.STDOUT)
        )
        return procs[-1]

    try:
        superlink = start(
            "superlink",
            "flower-superlink",
            "--insecure",
            "--host",
            "127.0.0.1",
            "--port",
            str(link),
            "--disable-runtime-dependency-installation",
        )
        wait_for_port(link, superlink)
        for site in (1, 2):
            port = free_port()
            node = start(
                f"supernode{site}",
                "flower-supernode",
                "--insecure",
                "--superlink",
                f"127.0.0.1:{link}",
                "--port",
                str(port),
                "--node-config",
                f'data-path="{tmp_path / "sites" / f"site-{site}"}"',
            )
            wait_for_port(port, node)
        overrides = f'out-dir="{out}" rounds=1 local-epochs=1 width=4 sites=2 train-batch-size=6 device="cpu"'
        res = subprocess.run(
            [
                str(BIN / "flwr"),
                "run",
                str(ROOT / "flower-app"),
                "loopback",
                "--run-config",
                overrides,
                "--format",
                "json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stdout + res.stderr
        assert json.loads(res.stdout[res.stdout.index("{") :])["success"]
        end = time.time() + 240
        while not (out / "metrics.json").exists() and time.time() < end:
            assert all(p.poll() is None for p in procs), "a Flower process died; see its log in " + str(
                tmp_path
            )
            time.sleep(1)
        assert (out / "metrics.json").exists(), "the run wrote no metrics within 4 min; logs in " + str(
            tmp_path
        )
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["n"] == int((index["split"] == "test").sum()) and metrics["sites"] == 2
        assert set(metrics["per_site_acc"]) == {"1", "2"} and (out / "model.pt").stat().st_size > 0
        assert pd.read_csv(out / "rounds.csv")["round"].tolist() == [1]
    finally:
        stop(procs)
    assert all(p.poll() is not None for p in procs)
