"""Job plumbing shared by the workflow scripts: logging to the rule's log file, JSON artifacts."""

from __future__ import annotations

import atexit
import gc
import inspect
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from ppfer_core.training import Run, TrainSettings


def job_logger(log_path: str | Path | None, name: str = "ppfer") -> Callable[[str], None]:
    """Send this job's messages, prints, warnings and progress bars to its log file; return a log function."""
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the job
        sys.stderr = sys.stdout = stream
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logging.captureWarnings(True)
    if log_path is not None and not _JOB_PROCESS:
        _start_job_process(name)
    return logger.info


_JOB_PROCESS: list = []  # set by the first job_logger with a log file: once per process, however often called


def _start_job_process(name: str) -> None:
    """Once per job process, its modules imported by now (torch, pandas, ppfer_core: objects that live as
    long as the process): register the exit record (:data:`PROCESS_CPU`) and freeze those objects out
    of the garbage collector's sight, so that every later full collection skips them (0.2-0.3 s of a
    short job: a job script replayed with and without, bench/README.md)."""
    _JOB_PROCESS.append(atexit.register(log_process_cpu, name))
    gc.freeze()


PROCESS_CPU = "process CPU"
"""The last line of every job's log starts with this: the job's CPU seconds (``os.times``: user +
system of the process and its waited-for children). Snakemake's ``benchmark:`` ``cpu_time`` is sampled
(every 0.5 s for the first 15 s, then every 30 s) and misses up to 30 s of each job's end; this line misses
only processes not waited for (Flower's Ray workers) and, in a job that does not end with :func:`end_job`,
the interpreter's teardown after the hook (~0.7-1.3 s with torch loaded). ``bench/dag_time.py`` takes
the larger of the two."""


def log_process_cpu(name: str = "ppfer") -> None:
    """Log this process's CPU seconds to the job's log (at exit: the job's CPU time up to its teardown)."""
    t = os.times()
    own, children = t.user + t.system, t.children_user + t.children_system
    logging.getLogger(name).info(
        f"{PROCESS_CPU} {own + children:.2f} s (own {own:.2f} s, children {children:.2f} s)"
    )


def end_job() -> None:
    """The last statement of every workflow script: the job ran to its end, so end its process now.

    Runs the exit hooks as the interpreter would (this job's CPU line, logging's flush, finalizers such
    as temporary directories, multiprocessing's and Ray's clean-up), flushes the standard streams and
    leaves with status 0 without the interpreter's teardown: freeing every module and a last full
    garbage collection over torch's objects: 1.3 CPU s for a job that trained, 0.6 s for one that only
    imported torch (``python bench/job_startup.py``, its exit rows). Nothing is lost: every output is
    written and closed by then. A job that raises never gets here and exits as Python does, with its
    traceback and status 1. It returns, and the interpreter ends the process as usual, when the caller
    is not the program's main module (a script run in-process, as the tests do with ``runpy``) or while
    a non-daemon thread still runs (it is joined first)."""
    main_module = sys.modules.get("__main__")
    if main_module is None or inspect.currentframe().f_back.f_globals is not vars(main_module):
        return
    main = threading.main_thread()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not main):
        return
    atexit._run_exitfuncs()
    for stream in {sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__}:
        if stream is not None and not stream.closed:
            stream.flush()
    os._exit(0)


def write_json(path: str | Path, obj: Any) -> None:
    """Write a metrics/settings object as indented JSON, creating the folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON artifact."""
    return json.loads(Path(path).read_text())


def setup_job(snakemake: Any) -> tuple[Callable[[str], None], torch.device]:
    """Common start of a training/inference job: log file, seeds, thread count, device. (The dtype of
    its trainings is :attr:`Job.cpu_dtype`.)"""
    import torch

    from ppfer_core.training import seed_everything, select_device

    log = job_logger(snakemake.log[0])
    cfg = snakemake.config
    seed_everything(job_seed(snakemake))
    torch.set_num_threads(max(1, int(snakemake.threads)))
    device = select_device(cfg["device"])
    log(f"job {snakemake.rule} {dict(snakemake.wildcards)} on {device} with {snakemake.threads} threads")
    return log, device


def state_path(output: str | Path) -> Path:
    """Where the resumable training state of a final weights file lives."""
    return Path(str(output) + ".state")


def job_seed(snakemake: Any) -> int:
    """The seed a rule passes through params (so that changing it reruns the rule), else config's."""
    return int(getattr(snakemake.params, "seed", snakemake.config["seed"]))


@dataclass
class Job:
    """One rule's run as its script sees it: log function, device, seed, DataLoader workers, the dtype
    its CPU trainings autocast to (config key ``cpu_dtype`` resolved on this machine) and the
    ``snakemake`` object (params, input, output, wildcards). Built once per script by :meth:`from_snakemake`."""

    log: Callable[[str], None]
    device: torch.device
    seed: int
    workers: int
    snakemake: Any = field(repr=False)
    cpu_dtype: torch.dtype | None = None  # None: float32

    @classmethod
    def from_snakemake(cls, snakemake: Any) -> Job:
        """Start the job (:func:`setup_job`: log file, seeds, threads, device) and collect its settings."""
        from ppfer_core.training import resolve_cpu_dtype, train_dtype

        log, device = setup_job(snakemake)
        cpu_dtype = resolve_cpu_dtype(snakemake.config["cpu_dtype"])
        log(f"trainings run in {train_dtype(device, cpu_dtype)} (cpu_dtype: {snakemake.config['cpu_dtype']})")
        return cls(log, device, job_seed(snakemake), snakemake.config["workers"], snakemake, cpu_dtype)

    @property
    def params(self) -> Any:
        """The rule's params."""
        return self.snakemake.params

    def train_settings(self, name: str = "train") -> TrainSettings:
        """The training settings the rule passes as params ``name`` (a ``train.*`` config entry)."""
        from ppfer_core.training import TrainSettings

        return TrainSettings.from_config(getattr(self.params, name))

    def run(self, desc: str, state: Path | None = None) -> Run:
        """This job's :class:`~ppfer_core.training.Run` of one training labelled ``desc`` (resumable from ``state``)."""
        import torch

        from ppfer_core.training import Run

        dtype = torch.float32 if self.cpu_dtype is None else self.cpu_dtype
        return Run(self.device, self.seed, state, self.log, desc, self.workers, dtype)

    @contextmanager
    def resumable(self, output: str | Path) -> Iterator[Path]:
        """The resumable-state path of a training whose result is ``output``; the state is removed
        when the block completes (write the final weights inside it), kept if it raises."""
        from ppfer_core.training import finish

        state = state_path(output)
        yield state
        finish(state)
