"""Torch datasets over the memory-mapped artifacts (clips, wavelet bands) and labels from the index."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import ConcatDataset, Dataset
from tqdm import tqdm

from ppfer_core import wavelet
from ppfer_core.npyfiles import npy_output  # noqa: F401  (re-exported: the scripts' output helper)
from ppfer_core.training import autocast


def load_clips(path: str | Path) -> np.ndarray:
    """Memory-map a uint8 clip array [N, T, H, W, 3]."""
    return np.load(path, mmap_mode="r")


def split_index(index_path: str | Path, split: str) -> pd.DataFrame:
    """Rows of one split, ordered by their position in the split's array."""
    index = pd.read_parquet(index_path)
    return index[index["split"] == split].sort_values("row").reset_index(drop=True)


def identity_labels(index: pd.DataFrame, split: str) -> tuple[np.ndarray, list[str]]:
    """Identity class of every clip of a split (position of its actor among all actors of the corpus) and the actor list."""
    actors = sorted(index["actor"].astype(str).unique())
    rows = index[index["split"] == split].sort_values("row")
    lookup = {a: i for i, a in enumerate(actors)}
    return rows["actor"].astype(str).map(lookup).to_numpy(np.int64), actors


def emotion_labels(index: pd.DataFrame, split: str) -> np.ndarray:
    """Emotion class (position in ppfer_core.EMOTIONS) of every clip of a split."""
    return index[index["split"] == split].sort_values("row")["label"].to_numpy(np.int64)


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 [..., H, W, 3] -> float [..., 3, H, W] in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(255.0)
    return t.movedim(-1, -3)


class FrameDataset(Dataset):
    """Frames of clips [N, T, H, W, 3] with a per-clip label: every frame (``per_clip=None``)
    or, each time a clip is drawn, ``per_clip`` random frames of it (one item per clip)."""

    def __init__(self, clips: np.ndarray, labels: np.ndarray, per_clip: int | None = None):
        self.clips, self.labels, self.per_clip = clips, torch.as_tensor(labels), per_clip
        self.t = clips.shape[1]

    def __len__(self) -> int:
        return len(self.clips) if self.per_clip else len(self.clips) * self.t

    def frame(self, i: int) -> tuple[np.ndarray, torch.Tensor]:
        """Item ``i`` as a uint8 frame [H, W, 3] and its label."""
        if self.per_clip:
            f = int(torch.randint(self.t, ()).item())
            return self.clips[i, f], self.labels[i]
        return self.clips[i // self.t, i % self.t], self.labels[i // self.t]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.frame(i)
        return frames_to_tensor(x), y


class ClipDataset(Dataset):
    """Whole clips as video tensors [3, T, H, W] with their labels (utility model input).
    ``augment`` applies a random horizontal flip and a random shift of up to ``shift`` pixels."""

    def __init__(self, clips: np.ndarray, labels: np.ndarray, augment: bool = False, shift: int = 4):
        self.clips, self.labels, self.augment, self.shift = clips, torch.as_tensor(labels), augment, shift

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.clips[i]
        if self.augment:
            x = random_flip_shift(x, self.shift)
        return frames_to_tensor(x).movedim(0, 1), self.labels[i]


def random_flip_shift(x: np.ndarray, shift: int) -> np.ndarray:
    """Flip uint8 frames [..., H, W, 3] horizontally with probability 1/2 and shift them by up to
    ``shift`` px, edge padded. Done by gathering rows and columns on the uint8 array before the
    float conversion: the same values as flipping, replicate-padding and cropping the float
    tensor, at a fraction of the cost."""
    h, w = x.shape[-3:-1]
    rows, cols = np.arange(h), np.arange(w)
    flip = bool(torch.rand(()) < 0.5)
    if shift > 0:
        dy, dx = (int(v) for v in torch.randint(-shift, shift + 1, (2,)))
        rows, cols = np.clip(rows + dy, 0, h - 1), np.clip(cols + dx, 0, w - 1)
    if flip:
        cols = w - 1 - cols
    return np.take(np.take(x, rows, axis=-3), cols, axis=-2)


class FlipShiftFrames(FrameDataset):
    """Frames of clips with the clip's label (as :class:`FrameDataset`), randomly flipped and shifted by up
    to ``shift`` px (attacker and C_fc training)."""

    def __init__(self, clips: np.ndarray, labels: np.ndarray, shift: int, per_clip: int | None = None):
        super().__init__(clips, labels, per_clip)
        self.shift = shift

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.frame(i)
        return frames_to_tensor(random_flip_shift(x, self.shift)), y


class BandDataset(Dataset):
    """Wavelet band images mapped to [0, 1]-like range with the clip label: the low band
    [N, T, 3, h, w] gives one image per frame, a high band [N, T, 3, 3, h, w] three (H, V, D)."""

    def __init__(self, band: np.ndarray, labels: np.ndarray, kind: str, level_k: int):
        self.band, self.labels, self.kind, self.level_k = band, torch.as_tensor(labels), kind, level_k
        self.per_clip = band.shape[1] * (3 if kind == "high" else 1)
        self.flat = band.reshape(-1, *band.shape[-3:])

    def __len__(self) -> int:
        return len(self.flat)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(np.ascontiguousarray(self.flat[i]))
        return band_to_image(x, self.kind, self.level_k), self.labels[i // self.per_clip]


def band_to_image(x: torch.Tensor, kind: str, level_k: int) -> torch.Tensor:
    """Coefficients -> model image space (see :mod:`ppfer_core.wavelet`)."""
    return wavelet.low_to_image(x, level_k) if kind == "low" else wavelet.high_to_image(x, level_k)


def image_to_band(x: torch.Tensor, kind: str, level_k: int) -> torch.Tensor:
    """Model image space -> coefficients."""
    return wavelet.image_to_low(x, level_k) if kind == "low" else wavelet.image_to_high(x, level_k)


def batches(n: int, batch: int, desc: str | None = None) -> Iterator[slice]:
    """Consecutive slices ``[start, start + batch)`` of ``range(n)``, in order (the last one shorter):
    the one batch loop of inference and array conversions. With ``desc``, a tqdm progress bar on
    stderr (the job's log)."""
    starts = range(0, n, batch)
    for start in (
        starts if desc is None else tqdm(starts, desc=desc, file=sys.stderr, leave=False, mininterval=5)
    ):
        yield slice(start, start + batch)


@torch.no_grad()
def batched(
    fn: Callable[[torch.Tensor], torch.Tensor],
    frames: np.ndarray,
    batch: int,
    device: torch.device,
    desc: str | None = None,
    cpu_dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Outputs of a model function on every uint8 frame ``[M, H, W, 3]`` (as float ``[B, 3, H, W]`` in
    [0, 1] on ``device``, under :func:`~ppfer_core.training.autocast` with ``cpu_dtype``), batch by batch
    in order, concatenated on the CPU."""
    out = []
    for sl in batches(len(frames), batch, desc):
        x = frames_to_tensor(frames[sl]).to(device)
        with autocast(device, cpu_dtype):
            out.append(fn(x).cpu())
    return torch.cat(out)


def map_frames(
    fn: Callable[[torch.Tensor], torch.Tensor],
    clips: np.ndarray,
    out: np.ndarray,
    batch: int = 64,
) -> np.ndarray:
    """Apply an image-to-image function (float [B, 3, H, W] in [0, 1] -> same) to every frame of
    uint8 clips, writing uint8 frames into ``out`` (e.g. a memory map) batch by batch."""
    n, t = clips.shape[:2]
    src = clips.reshape(n * t, *clips.shape[2:])
    dst = out.reshape(n * t, *out.shape[2:])
    with torch.no_grad():
        for sl in batches(n * t, batch):
            dst[sl] = wavelet.to_uint8(fn(frames_to_tensor(src[sl]))).movedim(-3, -1).cpu().numpy()
    return out


class PairedFrameDataset(Dataset):
    """Every frame of clips ``src`` with its clip label and the same frame of ``dst``
    (compensator with an MSE target, recovery attack): items (src, label, dst); with ``per_clip``,
    one item per clip, a random frame of it (torch's generator) each time the clip is drawn."""

    def __init__(self, src: np.ndarray, labels: np.ndarray, dst: np.ndarray, per_clip: bool = False):
        if src.shape[:2] != dst.shape[:2]:
            raise ValueError(f"paired clips differ in shape: {src.shape} vs {dst.shape}")
        self.src, self.dst, self.labels, self.t = src, dst, torch.as_tensor(labels), src.shape[1]
        self.per_clip = per_clip

    def __len__(self) -> int:
        return len(self.src) if self.per_clip else len(self.src) * self.t

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c, f = (i, int(torch.randint(self.t, ()).item())) if self.per_clip else divmod(i, self.t)
        return frames_to_tensor(self.src[c, f]), self.labels[c], frames_to_tensor(self.dst[c, f])


def band_dataset(low: str | None, highs: list[str], labels: np.ndarray) -> Dataset:
    """Images of one frequency stream of a split: the low band file (level L = len(highs)),
    or, with ``low=None``, the subbands of every high band file high_1..high_L."""
    if low is not None:
        return BandDataset(np.load(low, mmap_mode="r"), labels, "low", len(highs))
    return ConcatDataset(
        [BandDataset(np.load(f, mmap_mode="r"), labels, "high", k) for k, f in enumerate(highs, start=1)]
    )


def write_representation(
    fn: Callable[[torch.Tensor], torch.Tensor],
    device: torch.device,
    sources: list[np.ndarray],
    outputs: list[str],
) -> None:
    """Apply an image-to-image model to every frame of each source clip array (e.g. the train and
    test splits) and write the uint8 results as the representation's .npy files."""
    for src, dst in zip(sources, outputs, strict=True):
        with npy_output(dst, src.shape) as out:
            map_frames(lambda x: fn(x.to(device)).float(), src, out)
