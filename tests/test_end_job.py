"""ppfer_core.runtime.end_job, the last statement of every workflow script: the process ends with
status 0 after the exit hooks ran (the CPU line, logging, finalizers such as temporary directories),
without the interpreter's teardown; a failing script, a script run in-process and a script with a
running non-daemon thread end as Python ends them."""

from __future__ import annotations

import ast
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_finished_job_runs_its_exit_hooks_then_ends_with_status_0(tmp_path):
    log, out = tmp_path / "job.log", tmp_path / "out.npy"
    code = (
        "import atexit, pathlib, tempfile\n"
        "import numpy as np\n"
        "from ppfer_core.runtime import end_job, job_logger\n"
        f"log = job_logger({str(log)!r})\n"
        "tmp = tempfile.TemporaryDirectory()\n"
        f"pathlib.Path({str(tmp_path / 'tmpdir.txt')!r}).write_text(tmp.name)\n"
        "pathlib.Path(tmp.name, 'partial').write_text('x')\n"
        f"np.save({str(out)!r}, np.arange(5))\n"
        "atexit.register(lambda: log('hook ran'))\n"
        "print('printed', end='')\n"  # an unterminated line still in the stream's buffer
        "end_job()\n"
        f"pathlib.Path({str(tmp_path / 'after.txt')!r}).write_text('not reached')\n"
    )
    res = run(code)
    assert res.returncode == 0, res.stderr
    text = log.read_text()
    assert text.startswith("printed") and "hook ran" in text and "process CPU" in text.splitlines()[-1]
    assert not Path((tmp_path / "tmpdir.txt").read_text()).exists()  # the finalizer removed it
    assert list(__import__("numpy").load(out)) == [0, 1, 2, 3, 4]
    assert not (tmp_path / "after.txt").exists()


def test_a_job_that_raises_before_its_end_fails_as_python_does(tmp_path):
    res = run("from ppfer_core.runtime import end_job\nraise RuntimeError('bad clip')\nend_job()\n")
    assert res.returncode == 1 and "RuntimeError: bad clip" in res.stderr


def test_a_running_non_daemon_thread_is_joined_first(tmp_path):
    marker = tmp_path / "thread.txt"
    code = (
        "import pathlib, threading, time\n"
        "from ppfer_core.runtime import end_job\n"
        f"def work():\n    time.sleep(0.5)\n    pathlib.Path({str(marker)!r}).write_text('done')\n"
        "threading.Thread(target=work).start()\n"
        "end_job()\n"
        "print('returned')\n"
    )
    res = run(code)
    assert res.returncode == 0 and res.stdout.strip() == "returned" and marker.read_text() == "done"


def test_a_script_run_in_process_returns(tmp_path):
    """The tests run workflow scripts with runpy: end_job must not end the test process."""
    script = tmp_path / "script.py"
    script.write_text("from ppfer_core.runtime import end_job\nend_job()\nreached = True\n")
    assert runpy.run_path(str(script))["reached"] is True


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "workflow_scripts").glob("*.py")))
def test_every_workflow_script_ends_with_end_job(script):
    body = ast.parse((ROOT / "workflow_scripts" / script).read_text()).body
    assert ast.unparse(body[-1]) == "end_job()", f"{script}: its last statement is not end_job()"


def test_dataloader_workers_still_running_are_stopped(tmp_path):
    """A DataLoader iterator still alive at the end (the paper config has ``workers: 6``): its worker
    processes end with the job, none is left running."""
    import os
    import time

    pids = tmp_path / "pids.txt"
    code = (
        "import pathlib, torch\n"
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "from ppfer_core.runtime import end_job\n"
        "it = iter(DataLoader(TensorDataset(torch.arange(64.0)), batch_size=4, num_workers=2))\n"
        "next(it)\n"
        f"pathlib.Path({str(pids)!r}).write_text(' '.join(str(w.pid) for w in it._workers))\n"
        "end_job()\n"
    )
    res = run(code)
    assert res.returncode == 0, res.stderr
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) == 2

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"

    deadline = time.time() + 5
    while any(alive(p) for p in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in workers)
