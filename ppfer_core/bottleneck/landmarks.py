"""Landmarks from pixels, never from ground truth at test time.

- Embedded corpus: :class:`LandmarkRegressor`, a small CNN trained on the train split's frames
  against the generator's 68-point landmarks (:func:`train_regressor`) and applied to every split
  (:func:`predict_landmarks`).
- Real faces: dlib's HOG detector + 68-point shape predictor from ``face-recognition-models``
  (:func:`dlib_landmarks`), the same iBUG 68-point convention.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ppfer_core.bottleneck.settings import RegressorSettings
from ppfer_core.bottleneck.shapes import N_POINTS


class LandmarkRegressor(nn.Module):
    """Four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max-pool) and a two-layer head regressing
    the 68 points in frame-relative coordinates ((x, y) / size * 2 - 1)."""

    def __init__(self, size: int, width: int = 32):
        super().__init__()
        chans = [3, width, 2 * width, 3 * width, 4 * width]
        blocks: list[nn.Module] = []
        for a, b in zip(chans[:-1], chans[1:]):
            blocks += [
                nn.Conv2d(a, b, 3, padding=1),
                nn.BatchNorm2d(b),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
        self.features = nn.Sequential(*blocks)
        side = size // 16
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(chans[-1] * side * side, 256),
            nn.ReLU(inplace=True),
            nn.Linear(256, 2 * N_POINTS),
        )
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Frames [B, 3, H, W] in [0, 1] -> relative points [B, 68, 2]."""
        return self.head(self.features(x - 0.5)).view(-1, N_POINTS, 2)


def _to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 [B, H, W, 3] -> float [B, 3, H, W] in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


def _shift(
    frames: np.ndarray, pts: np.ndarray, r: np.random.Generator, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random translation by up to ``m`` px (edges replicated), landmarks moved with the frame."""
    if m <= 0:
        return frames, pts
    out, moved = np.empty_like(frames), pts.copy()
    h, w = frames.shape[1:3]
    for i in range(len(frames)):
        dx, dy = r.integers(-m, m + 1, 2)
        ys = np.clip(np.arange(h) - dy, 0, h - 1)
        xs = np.clip(np.arange(w) - dx, 0, w - 1)
        out[i] = frames[i][ys][:, xs]
        moved[i] += (dx, dy)
    return out, moved


def train_regressor(
    frames: np.ndarray,
    landmarks: np.ndarray,
    s: RegressorSettings,
    seed: int,
    log: Callable[[str], None] = print,
) -> LandmarkRegressor:
    """Train on clips [N, T, H, W, 3] against their landmarks [N, T, 68, 2] (px; frames with NaN are
    left out): Adam, L1 on relative coordinates, cosine-decayed learning rate, random shifts."""
    if frames.shape[2] != frames.shape[3] or frames.shape[2] % 16:
        raise ValueError(
            f"landmark regressor: square frames with a side divisible by 16, got {frames.shape[2:4]}"
        )
    size = frames.shape[2]
    ok = np.isfinite(landmarks).all((-1, -2))
    x_all = frames[ok]
    y_all = landmarks[ok].astype(np.float32)
    if len(x_all) == 0:
        raise ValueError("landmark regressor: no train frame with complete landmarks")
    torch.manual_seed(seed)
    r = np.random.default_rng(seed)
    net = LandmarkRegressor(size, s.width)
    opt = torch.optim.Adam(net.parameters(), lr=s.lr)
    steps = s.epochs * int(np.ceil(len(x_all) / s.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    for epoch in range(s.epochs):
        net.train()
        order, total = r.permutation(len(x_all)), 0.0
        for b in range(0, len(order), s.batch_size):
            idx = np.sort(order[b : b + s.batch_size])
            xb, yb = _shift(x_all[idx], y_all[idx], r, s.shift)
            loss = (net(_to_tensor(xb)) - torch.from_numpy(yb / size * 2 - 1)).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        log(f"landmark regressor epoch {epoch + 1}/{s.epochs}: L1 {total / len(x_all) * size / 2:.3f} px")
    return net.eval()


@torch.no_grad()
def predict_landmarks(net: LandmarkRegressor, clips: np.ndarray, batch: int = 256) -> np.ndarray:
    """Landmarks [N, T, 68, 2] (px, float32) of clips [N, T, H, W, 3]."""
    n, t = clips.shape[:2]
    flat = clips.reshape(n * t, *clips.shape[2:])
    out = np.empty((n * t, N_POINTS, 2), dtype=np.float32)
    net.eval()
    for b in range(0, len(flat), batch):
        rel = net(_to_tensor(np.asarray(flat[b : b + batch]))).numpy()
        out[b : b + batch] = (rel + 1) / 2 * net.size
    return out.reshape(n, t, N_POINTS, 2)


def save_regressor(net: LandmarkRegressor, path: str) -> None:
    """Weights and the two constructor arguments."""
    torch.save({"size": net.size, "width": net.features[0].out_channels, "state": net.state_dict()}, path)


def load_regressor(path: str) -> LandmarkRegressor:
    """A regressor written by :func:`save_regressor`, in eval mode."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    net = LandmarkRegressor(int(blob["size"]), int(blob["width"]))
    net.load_state_dict(blob["state"])
    return net.eval()


def dlib_landmarks(frames: np.ndarray, upsample: int = 1) -> np.ndarray:
    """Real faces: dlib's 68 landmarks [T, 68, 2] of each frame's best face (a frame without one
    reuses the previous frame's landmarks; NaN before any), same convention as the corpus."""
    from ppfer_core.baselines import DlibLandmarks

    return DlibLandmarks(upsample)(frames)
