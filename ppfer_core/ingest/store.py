"""Ingest's files: the index and rejected tables (one schema each, :data:`INDEX_SCHEMA`,
:data:`REJECTED_SCHEMA`) and the .npy clip arrays, written a chunk at a time so that memory stays
flat in the corpus size."""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np
import pandas as pd

from ppfer_core.npyfiles import npy_output

INDEX_SCHEMA: tuple[tuple[str, str], ...] = (
    ("clip_id", "string"),
    ("actor", "string"),  # None for DFEW
    ("emotion", "string"),  # ppfer_core.EMOTIONS code
    ("label", "int64"),  # position of emotion in ppfer_core.EMOTIONS
    ("sentence", "string"),
    ("level", "string"),
    ("split", "string"),  # "train" | "test"
    ("row", "int64"),  # position in {split}.npy
    ("source", "string"),  # the video file or frame folder
    ("frames_decoded", "int64"),
    ("box_x0", "float64"),  # region of the source frames kept (centre crop or face box), pixel edges
    ("box_y0", "float64"),
    ("box_x1", "float64"),
    ("box_y1", "float64"),
)
"""Columns of ``index.parquet`` in order, with their Arrow types (sorted by split, then row)."""
INDEX_COLUMNS = tuple(name for name, _ in INDEX_SCHEMA)
REJECTED_SCHEMA: tuple[tuple[str, str], ...] = (("source", "string"), ("reason", "string"))
"""Columns of ``rejected.parquet``: one row per input that could not be ingested."""
REJECTED_COLUMNS = tuple(name for name, _ in REJECTED_SCHEMA)
BOX_COLUMNS = ("box_x0", "box_y0", "box_x1", "box_y1")
CHUNK_BYTES = 32 << 20  # bytes of clips written between two releases of the memory-mapped pages


def open_npy(path: Path, dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A new .npy at ``path`` opened for writing (a memmap, or a loaded empty array for 0 rows)."""
    if shape[0] == 0:  # np.memmap cannot map an empty file
        np.save(path, np.zeros(shape, dtype=dtype))
        return np.load(path)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def release(arr: np.ndarray | None) -> None:
    """Write a memmap's dirty pages to its file and drop its pages from this process's resident set
    (they stay in the page cache), so that ingest's peak RSS does not grow with the corpus."""
    if isinstance(arr, np.memmap):
        arr.flush()
        mm = getattr(arr, "_mmap", None)
        if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            mm.madvise(mmap.MADV_DONTNEED)


def copy_rows(src: np.ndarray, rows: np.ndarray, dst_path: Path) -> None:
    """Copy ``src[rows]`` into a new .npy at ``dst_path`` a chunk at a time (under a temporary name
    until complete: :func:`~ppfer_core.npyfiles.npy_output`)."""
    row_bytes = max(1, int(np.prod(src.shape[1:])) * src.dtype.itemsize)
    step = max(1, CHUNK_BYTES // row_bytes)
    with npy_output(dst_path, (len(rows),) + src.shape[1:], src.dtype) as dst:
        for a in range(0, len(rows), step):
            for j, r in enumerate(rows[a : a + step], start=a):  # row by row: no chunk-sized copy in memory
                dst[j] = src[r]
            release(dst)
            release(src)


def _write_table(columns: dict, schema: tuple[tuple[str, str], ...], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [(name, pa.type_for_alias(typ)) for name, typ in schema]
    table = pa.table(
        {name: pa.array(columns[name], type=typ) for name, typ in fields}, schema=pa.schema(fields)
    )
    pq.write_table(table, path)


def write_index(df: pd.DataFrame, path: Path) -> None:
    """Write the index (the :data:`INDEX_SCHEMA` columns of ``df``; NaN/None become nulls)."""
    cols = {name: [None if pd.isna(v) else v for v in df[name].tolist()] for name in INDEX_COLUMNS}
    _write_table(cols, INDEX_SCHEMA, path)


def write_rejected(rejected: list[tuple[str, str]], path: Path) -> None:
    """Write the (source, reason) pairs of the rejected inputs."""
    cols = {"source": [s for s, _ in rejected], "reason": [r for _, r in rejected]}
    _write_table(cols, REJECTED_SCHEMA, path)


def unlink(path: Path) -> None:
    """Delete ``path`` if it exists."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
