"""Sites as a partition of the corpus: every actor of the train split belongs to exactly one
site, so a site holds only its own people (the natural non-IID case of federated learning).
A site's data is a folder of its own (``train.npy``, ``test.npy`` and their labels), the one
thing a Flower SuperNode at that site is pointed at."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ppfer_core import EMOTIONS


def partition_by_actor(index: pd.DataFrame, sites: int, seed: int) -> pd.DataFrame:
    """Assign every actor of the train split to one of ``sites`` sites (1..N): actors shuffled by
    ``seed``, then dealt round-robin, so site sizes differ by at most one actor."""
    actors = sorted(index.loc[index["split"] == "train", "actor"].astype(str).unique())
    if sites < 1:
        raise ValueError(f"federated.sites must be at least 1, got {sites}")
    if sites > len(actors):
        raise ValueError(f"federated.sites = {sites} exceeds the {len(actors)} actors of the train split")
    order = np.random.default_rng(seed).permutation(len(actors))
    site = np.empty(len(actors), dtype=np.int64)
    site[order] = np.arange(len(actors)) % sites + 1
    return pd.DataFrame({"actor": actors, "site": site}).sort_values(["site", "actor"]).reset_index(drop=True)


def check_partition(index: pd.DataFrame, partition: pd.DataFrame) -> None:
    """The partition covers every train actor exactly once (disjoint and complete), else ValueError."""
    train_actors = set(index.loc[index["split"] == "train", "actor"].astype(str))
    listed = partition["actor"].astype(str)
    dupes = sorted(listed[listed.duplicated()].unique())
    if dupes:
        raise ValueError(f"partition lists actors at more than one site: {dupes}")
    missing, extra = sorted(train_actors - set(listed)), sorted(set(listed) - train_actors)
    if missing or extra:
        raise ValueError(
            f"partition does not match the train split: missing actors {missing}, unknown actors {extra}"
        )


def site_rows(index: pd.DataFrame, partition: pd.DataFrame, site: int, split: str) -> np.ndarray:
    """Rows (positions in the split's clip array) of the clips of ``site``'s actors, in order."""
    actors = set(partition.loc[partition["site"] == site, "actor"].astype(str))
    part = index[(index["split"] == split) & index["actor"].astype(str).isin(actors)]
    return np.sort(part["row"].to_numpy(np.int64))


def site_summary(index: pd.DataFrame, partition: pd.DataFrame) -> pd.DataFrame:
    """Per site: its actors and its train / test clips per emotion."""
    rows = []
    for site, group in partition.groupby("site", sort=True):
        actors = set(group["actor"].astype(str))
        mine = index[index["actor"].astype(str).isin(actors)]
        row = {"site": int(site), "actors": " ".join(sorted(actors)), "n_actors": len(actors)}
        for split in ("train", "test"):
            counts = mine.loc[mine["split"] == split, "emotion"].astype(str).value_counts()
            row[f"{split}_clips"] = int(counts.sum())
            row.update({f"{split}_{e}": int(counts.get(e, 0)) for e in EMOTIONS})
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class SiteData:
    """One site's clips [N, T, H, W, 3] (uint8, memory-mapped) and emotion labels."""

    site: int
    train: np.ndarray
    train_labels: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray


def write_site_folder(
    folder: str | Path, site: int, splits: dict[str, tuple[np.ndarray, np.ndarray]]
) -> Path:
    """Write a site's folder: ``{split}.npy`` clips and ``{split}_labels.npy`` for train and test,
    and ``site.json``; files appear atomically (written under a temporary name, then renamed)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, (clips, labels) in splits.items():
        for name, arr in ((f"{split}.npy", clips), (f"{split}_labels.npy", labels)):
            tmp = folder / f".{name}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(arr))
            os.replace(tmp, folder / name)
    (folder / "site.json").write_text(
        json.dumps({"site": site, **{s: len(v[1]) for s, v in splits.items()}}) + "\n"
    )
    return folder


def export_sites(
    clips: dict[str, np.ndarray], index: pd.DataFrame, partition: pd.DataFrame, root: str | Path
) -> list[Path]:
    """Write one folder per site (``root/site-{k}``) with the clips of its actors from the train and
    test arrays in ``clips`` (split -> array, rows as in the index)."""
    folders = []
    for site in sorted(partition["site"].unique()):
        splits = {}
        for split, arr in clips.items():
            rows = site_rows(index, partition, int(site), split)
            labels = index[index["split"] == split].set_index("row").loc[rows, "label"].to_numpy(np.int64)
            splits[split] = (arr[rows], labels)
        folders.append(write_site_folder(Path(root) / f"site-{int(site)}", int(site), splits))
    return folders


def load_site(folder: str | Path) -> SiteData:
    """Read a site folder written by :func:`write_site_folder` (clips memory-mapped)."""
    folder = Path(folder)
    meta = folder / "site.json"
    if not meta.exists():
        raise FileNotFoundError(f"{folder} is not a site folder (no site.json); see flower-app/README.md")
    site = int(json.loads(meta.read_text())["site"])
    arrays = {}
    for name in ("train", "train_labels", "test", "test_labels"):
        path = folder / f"{name}.npy"
        if not path.exists():
            raise FileNotFoundError(f"site folder {folder} lacks {path.name}")
        arrays[name] = np.load(path, mmap_mode="r" if name in ("train", "test") else None)
    return SiteData(site=site, **arrays)
