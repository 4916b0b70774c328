"""Ingest: decode every listed clip, sample T frames, crop + resize, split, and write the arrays.

One code path for the embedded synthetic corpora and for real CREMA-D / DFEW: a corpus
adapter (:mod:`ppfer_core.datasets`) lists the clips, :func:`ingest_clips` (or its keyword form
:func:`ingest`) decodes them with :class:`IngestSettings`.

Outputs in ``out_dir`` (see docs/ARCHITECTURE.md):

- ``{split}.npy``            uint8 ``[N, T, H, W, 3]`` per split present (``train``, ``test``),
- ``index.parquet``          the columns of :data:`INDEX_SCHEMA` (clip_id ... frames_decoded, and
                             box_x0 .. box_y1: the region of the source frames that became the clip,
                             pixel edges), sorted by split, then row,
- ``rejected.parquet``       :data:`REJECTED_SCHEMA`: source, reason (always written, possibly empty),
- ``{split}_landmarks.npy``  float32 ``[N, T, K, 2]`` when a landmarks npz is given.

Memory stays flat in the corpus size: clips are decoded one by one into a staging memmap
(``[n_clips, T, H, W, 3]`` on disk in ``out_dir``), whose rows are then copied in chunks
into the per-split files; the staging file is deleted at the end (so the disk briefly holds
the clips twice).

Modules: :mod:`~ppfer_core.ingest.decode` (sampling, reading frames), :mod:`~ppfer_core.ingest.geometry`
(crop + resize of frames and points, the pixel-centre convention), :mod:`~ppfer_core.ingest.splits`
(:func:`assign_split`), :mod:`~ppfer_core.ingest.clips` (one clip: :class:`ClipResult` or
:class:`Rejected`), :mod:`~ppfer_core.ingest.store` (schemas, .npy and parquet files),
:mod:`~ppfer_core.ingest.run` (the run).
"""

from ppfer_core.ingest.clips import ClipJob, ClipResult, Rejected, process_clip
from ppfer_core.ingest.decode import (
    BadInput,
    frame_sort_key,
    list_frame_files,
    read_frames,
    sample_indices,
)
from ppfer_core.ingest.geometry import CROPS, crop_box, fit_frame, fit_points
from ppfer_core.ingest.run import (
    build_index,
    ingest,
    ingest_clips,
    resolve_splits,
    write_splits,
)
from ppfer_core.ingest.settings import ON_ERROR, IngestError, IngestSettings
from ppfer_core.ingest.splits import assign_split
from ppfer_core.ingest.store import (
    INDEX_COLUMNS,
    INDEX_SCHEMA,
    REJECTED_COLUMNS,
    REJECTED_SCHEMA,
)

__all__ = [
    "CROPS",
    "INDEX_COLUMNS",
    "INDEX_SCHEMA",
    "ON_ERROR",
    "REJECTED_COLUMNS",
    "REJECTED_SCHEMA",
    "BadInput",
    "ClipJob",
    "ClipResult",
    "IngestError",
    "IngestSettings",
    "Rejected",
    "assign_split",
    "build_index",
    "crop_box",
    "fit_frame",
    "fit_points",
    "frame_sort_key",
    "ingest",
    "ingest_clips",
    "list_frame_files",
    "process_clip",
    "read_frames",
    "resolve_splits",
    "sample_indices",
    "write_splits",
]
