"""Landmarks from pixels, never from ground truth at test time.

- Embedded corpus: :class:`LandmarkRegressor` (model registry family ``landmarks``, architecture
  ``landmark_cnn``), a small CNN trained on the train split's frames against the generator's 68-point
  landmarks (:func:`train_regressor`, on the project's resumable :func:`~ppfer_core.training.fit` loop)
  and applied to every split (:func:`predict_landmarks`). With ``motion`` it also sees each frame's
  difference from its clip's mean frame (expression is within-clip motion).
- Real faces: dlib's HOG detector + 68-point shape predictor from ``face-recognition-models``
  (:func:`dlib_landmarks`), the same iBUG 68-point convention.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ppfer_core.bottleneck.settings import RegressorSettings
from ppfer_core.bottleneck.shapes import N_POINTS
from ppfer_core.registry import create_model, register_model
from ppfer_core.training import Player, Run, TrainResult, TrainSettings, fit

HEADS = ("regression", "heatmap")
"""Heads of the landmark CNN: coordinate regression, or soft-argmax over per-point heatmaps."""


def _block(a: int, b: int, pool: bool) -> list[nn.Module]:
    """3x3 conv, batch norm, ReLU (and a 2x2 max-pool)."""
    layers: list[nn.Module] = [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
    return layers + [nn.MaxPool2d(2)] if pool else layers


class LandmarkRegressor(nn.Module):
    """Four conv blocks (3x3 conv, batch norm, ReLU) and a head giving the 68 points in frame-relative
        coordinates ((x, y) / size * 2 - 1). ``head="regression"``: every block max-pools, two linear
        layers regress the coordinates; ``head="heatmap"``: only the first two pool, a 1x1 conv gives one
        heatmap per point at a quarter of the frame side and the point is its soft-argmax (the expected
        position under the heatmap's softmax). ``motion``: three more input channels, the frame minus its
        clip's mean frame. ``upsample``: the input is first resized bilinearly by this factor (finer
    feature maps for sub-pixel points)."""

    def __init__(
        self, size: int, width: int = 32, motion: bool = False, head: str = "regression", upsample: int = 1
    ):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"landmark regressor: head must be one of {HEADS}, got {head!r}")
        chans = [6 if motion else 3, width, 2 * width, 3 * width, 4 * width]
        blocks: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
            blocks += _block(a, b, head == "regression" or i < 2)
        self.features = nn.Sequential(*blocks)
        if head == "heatmap":
            self.head = nn.Conv2d(chans[-1], N_POINTS, 1)
            side = size * upsample // 4
            grid = (torch.arange(side, dtype=torch.float32) + 0.5) / side * 2 - 1
            self.register_buffer("grid", grid, persistent=False)
        else:
            side = size * upsample // 16
            self.head = nn.Sequential(
                nn.Flatten(),
                nn.Linear(chans[-1] * side * side, 256),
                nn.ReLU(inplace=True),
                nn.Linear(256, 2 * N_POINTS),
            )
        self.size, self.width, self.motion, self.kind = size, width, motion, head
        self.upsample = upsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Frames [B, C, H, W] in [0, 1] (C = 6 with ``motion``: frame, then frame - clip mean + 0.5)
        -> relative points [B, 68, 2]."""
        if self.upsample > 1:
            x = nn.functional.interpolate(x, scale_factor=self.upsample, mode="bilinear", align_corners=False)
        out = self.head(self.features(x - 0.5))
        if self.kind == "regression":
            return out.view(-1, N_POINTS, 2)
        prob = out.flatten(2).softmax(-1).view(out.shape)  # [B, 68, h, w]
        px = (prob.sum(2) * self.grid).sum(-1)
        py = (prob.sum(3) * self.grid).sum(-1)
        return torch.stack([px, py], -1)


@register_model("landmarks")
def landmark_cnn(
    size: int, width: int = 32, motion: bool = False, head: str = "regression", upsample: int = 1
) -> LandmarkRegressor:
    """The landmark regressor for square ``size``-px frames (``size`` divisible by 16)."""
    if size % 16:
        raise ValueError(f"landmark_cnn: frame side must be divisible by 16, got {size}")
    if upsample < 1:
        raise ValueError(f"landmark_cnn: upsample must be >= 1, got {upsample}")
    return LandmarkRegressor(size, width, motion, head, upsample)


def _inputs(frames: np.ndarray, means: np.ndarray | None) -> torch.Tensor:
    """uint8 frames [B, H, W, 3] (and float clip means) -> float [B, C, H, W] network input."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    if means is None:
        return x
    m = torch.from_numpy(np.ascontiguousarray(means, dtype=np.float32)).permute(0, 3, 1, 2) / 255.0
    return torch.cat([x, x - m + 0.5], 1)


class _LandmarkFrames(Dataset):
    """Frames of complete-landmark train frames: (input [C, H, W], relative points [68, 2])."""

    def __init__(self, clips: np.ndarray, landmarks: np.ndarray, motion: bool):
        ok = np.isfinite(landmarks).all((-1, -2))
        self.clip, self.frame = np.nonzero(ok)
        if len(self.clip) == 0:
            raise ValueError("landmark regressor: no train frame with complete landmarks")
        self.clips, self.size = clips, clips.shape[2]
        self.means = clips.mean(1, dtype=np.float32) if motion else None
        self.points = landmarks.astype(np.float32)

    def __len__(self) -> int:
        return len(self.clip)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        c, t = self.clip[i], self.frame[i]
        mean = None if self.means is None else self.means[c][None]
        x = _inputs(self.clips[c, t][None], mean)[0]
        return x, torch.from_numpy(self.points[c, t] / self.size * 2 - 1)


def train_clips_and_landmarks(clips_path, landmarks_path) -> tuple[np.ndarray, np.ndarray]:
    """A split's clips [N, T, H, W, C] and their landmarks [N, T, 68, 2], loaded for training a
    landmark or code estimator; ValueError naming the landmark file when the two do not match."""
    from ppfer_core.arrays import load_clips

    clips, truth = np.asarray(load_clips(clips_path)), np.load(landmarks_path)
    if truth.shape[:2] != clips.shape[:2]:
        raise ValueError(f"{landmarks_path}: shape {truth.shape} does not match the clips {clips.shape}")
    return clips, truth


def shift_batch(x: torch.Tensor, y: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random translation of each item by up to ``m`` px (edges replicated; torch's global RNG, which
    the training loop seeds per epoch), relative landmarks [B, 68, 2] moved with the frame."""
    if m <= 0:
        return x, y
    b, _, h, w = x.shape
    d = torch.randint(-m, m + 1, (b, 2)).to(x.device)
    ys = (torch.arange(h, device=x.device)[None] - d[:, 1:2]).clamp(0, h - 1)
    xs = (torch.arange(w, device=x.device)[None] - d[:, 0:1]).clamp(0, w - 1)
    idx = torch.arange(b, device=x.device)[:, None, None]
    out = x[idx, :, ys[:, :, None], xs[:, None, :]].permute(0, 3, 1, 2)
    step = torch.tensor([2.0 / w, 2.0 / h], device=x.device)
    return out.contiguous(), y + d[:, None, :].float() * step


def train_regressor(
    frames: np.ndarray, landmarks: np.ndarray, s: RegressorSettings, run: Run
) -> tuple[LandmarkRegressor, TrainResult]:
    """Train on clips [N, T, H, W, 3] against their landmarks [N, T, 68, 2] (px; frames with NaN are
    left out) on the resumable :func:`~ppfer_core.training.fit` loop (``run.state_path``): Adam, L1 on
    relative coordinates, cosine-decayed learning rate per epoch, random shifts."""
    if frames.shape[2] != frames.shape[3] or frames.shape[2] % 16:
        raise ValueError(
            f"landmark regressor: square frames with a side divisible by 16, got {frames.shape[2:4]}"
        )
    if frames.shape[:2] != landmarks.shape[:2]:
        raise ValueError(f"landmark regressor: landmarks {landmarks.shape} do not match clips {frames.shape}")
    data = _LandmarkFrames(frames, landmarks, s.motion)
    torch.manual_seed(run.seed)
    net = create_model(
        "landmarks",
        "landmark_cnn",
        size=frames.shape[2],
        width=s.width,
        motion=s.motion,
        head=s.head,
        upsample=s.upsample,
    )
    ts = TrainSettings(s.epochs, s.batch_size, s.lr, "adam")
    opt = ts.make_optimizer(net.parameters())
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=s.epochs)
    half = frames.shape[2] / 2

    def loss(batch):
        x, y = shift_batch(batch[0], batch[1], s.shift)
        l1 = (net(x) - y.to(x.device)).abs().mean()
        return l1, {"l1_px": float(l1.detach()) * half}

    fp = {"regressor": vars(s), "n": len(data), "shape": list(frames.shape)}
    result = fit([Player("landmarks", [net], opt, loss, sched)], data, ts, run, fp)
    return net.eval(), result


@torch.no_grad()
def predict_landmarks(net: LandmarkRegressor, clips: np.ndarray, batch: int = 256) -> np.ndarray:
    """Landmarks [N, T, 68, 2] (px, float32) of clips [N, T, H, W, 3]."""
    n, t = clips.shape[:2]
    out = np.empty((n * t, N_POINTS, 2), dtype=np.float32)
    net.eval()
    per = max(1, batch // t)
    for c in range(0, n, per):
        part = np.asarray(clips[c : c + per])
        flat = part.reshape(-1, *part.shape[2:])
        means = np.repeat(part.mean(1, dtype=np.float32), t, 0) if net.motion else None
        rel = net(_inputs(flat, means)).numpy()
        out[c * t : c * t + len(flat)] = (rel + 1) / 2 * net.size
    return out.reshape(n, t, N_POINTS, 2)


def save_regressor(net: LandmarkRegressor, path: str) -> None:
    """Weights and the constructor arguments."""
    blob = {
        "size": net.size,
        "width": net.width,
        "motion": net.motion,
        "head": net.kind,
        "upsample": net.upsample,
    }
    blob["state"] = net.state_dict()
    tmp = f"{path}.tmp"
    torch.save(blob, tmp)
    os.replace(tmp, path)  # never a partial output file


def load_regressor(path: str) -> LandmarkRegressor:
    """A regressor written by :func:`save_regressor`, in eval mode."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    net = create_model(
        "landmarks",
        "landmark_cnn",
        size=int(blob["size"]),
        width=int(blob["width"]),
        motion=bool(blob.get("motion", False)),
        head=str(blob.get("head", "regression")),
        upsample=int(blob.get("upsample", 1)),
    )
    net.load_state_dict(blob["state"])
    return net.eval()


def dlib_landmarks(frames: np.ndarray, upsample: int = 1) -> np.ndarray:
    """Real faces: dlib's 68 landmarks [T, 68, 2] of each frame's best face (a frame without one
    reuses the previous frame's landmarks; NaN before any), same convention as the corpus."""
    from ppfer_core.baselines import DlibLandmarks

    return DlibLandmarks(upsample)(frames)
