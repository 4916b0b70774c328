"""Same corpus bytes for the same seed: digests of small generated corpora, pinned.

The expected digests were recorded with the original single-module ``ppfer_core/synthetic.py``
(before the issue-11 split into a subpackage); any change to the order or kind of random draws,
the geometry, the renderer or the writers changes them. If a change of the generator is
intended, re-record them (run this file with ``PPFER_PRINT_DIGESTS=1`` and ``-s``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ppfer_core import EMOTIONS
from ppfer_core import synthetic as sy

EXPECTED = {
    "cremad": "0ca32f6bf4dac0cee43822947346b36afa64095a0d5748ec37b7a1146b015976",
    "dfew": "c5bf46cfd09d3508c54304ad1f28f8704a24ea3a89952987d1afc7616b501e38",
    "clips": "14cd3c859e7d414ca4e7b70a0a6a628109701d542c9305d1a897d861c20aa959",
}


def _hash_array(h: hashlib._Hash, name: str, a: np.ndarray) -> None:
    """Feed a named array (dtype, shape, C-order bytes) into ``h``."""
    a = np.ascontiguousarray(a)
    h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
    h.update(a.tobytes())


def _hash_tree(root: Path, df: pd.DataFrame) -> str:
    """sha256 over sorted relative paths and bytes of every file under ``root`` (except
    ``landmarks.npz``, whose zip headers carry a timestamp: its arrays are hashed instead), plus
    the returned index as CSV."""
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        rel = p.relative_to(root).as_posix()
        h.update(rel.encode() + b"\0")
        if p.name == "landmarks.npz":
            with np.load(p) as marks:
                for k in sorted(marks.files):
                    _hash_array(h, k, marks[k])
        else:
            h.update(p.read_bytes())
    h.update(df.to_csv(index=False).encode())
    return h.hexdigest()


def _check(name: str, digest: str) -> None:
    if os.environ.get("PPFER_PRINT_DIGESTS"):
        print(f"{name}: {digest}")
    assert digest == EXPECTED[name], f"{name} corpus changed: {digest}"


def test_cremad_corpus_bytes_pinned(tmp_path):
    df = sy.generate_cremad(tmp_path, n_actors=2, clips_per_cell=1, n_frames=(5, 7), size=40, fps=25, seed=7)
    _check("cremad", _hash_tree(tmp_path, df))


def test_dfew_corpus_bytes_pinned(tmp_path):
    df = sy.generate_dfew(
        tmp_path, n_actors=2, clips_per_class=1, n_frames=(4, 6), size=40, seed=7, first_actor=5001
    )
    _check("dfew", _hash_tree(tmp_path, df))


def test_rendered_clips_pinned():
    """Many actors (so bald, long hair, beards, goatees and glasses all occur), two frames each,
    every emotion, both streams; plus every actor's traits."""
    h = hashlib.sha256()
    emos = (*EMOTIONS, "SUR")
    for i, actor in enumerate(range(1001, 1041)):
        wild = i % 2 == 1
        frames, lm = sy.render_clip(
            actor, emos[i % len(emos)], 0.3 + 0.02 * i, 2, 24, seed=5, clip_key=i, wild=wild
        )
        _hash_array(h, f"frames{actor}", frames)
        _hash_array(h, f"lm{actor}", lm)
        tr = sy.actor_traits(actor, 5)
        for j, v in enumerate(_trait_values(tr)):  # in drawing order, names not hashed
            _hash_array(h, f"{actor}.{j}", np.asarray(v, dtype=np.float64))
    _check("clips", h.hexdigest())


def _trait_values(tr) -> list[object]:
    """Every trait value in field order, whether traits are a dict or a dataclass."""
    if isinstance(tr, dict):
        return list(tr.values())
    return [getattr(tr, f.name) for f in dataclasses.fields(tr)]
