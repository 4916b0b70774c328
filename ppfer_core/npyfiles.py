"""The one way a job writes a ``.npy`` output: memory-mapped under a temporary name, renamed when
complete (no partial file is ever left at the output path). Free of torch, so that light jobs (ingest)
can use it without importing it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def npy_output(path: str | Path, shape: tuple[int, ...], dtype: type = np.uint8) -> Iterator[np.ndarray]:
    """A .npy output of the given shape to fill in the block: memory-mapped under a temporary name in
    the same folder, flushed and renamed to ``path`` when the block completes, removed if it raises,
    so that ``path`` never holds a partial array. An empty array (``shape[0] == 0``) is held in memory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if shape[0] == 0:  # np.memmap cannot map an empty file
            out = np.zeros(shape, dtype=dtype)
        else:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
        yield out
        if isinstance(out, np.memmap):
            out.flush()
        else:
            np.save(tmp, out)
            os.replace(f"{tmp}.npy", tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
