"""The expression code from pixels directly: estimate the k-dim code, not the 68 points.

The basis (:mod:`~ppfer_core.bottleneck.basis`) is fitted label-free on the train split's true
landmarks. :class:`CodeEstimator` (model registry family ``expression_code``, architecture
``code_cnn``) maps a frame to two k-dim codes, trained on the train split against targets computed
from its true landmarks (:func:`code_targets`):

- the **within-clip** code ``B^T (x_t - mean_t x)``: the aligned shape of the frame minus its clip's
  mean aligned shape on the basis. Within a clip the person is constant, so this is what the code
  keeps; its input (``inputs: motion``) is the frame and the frame minus its clip's mean frame, a
  difference from which most of the face's identity texture has cancelled;
- the **expressiveness** code ``B0^T (x_t - mu)`` on the first-round basis, used only to pick each
  clip's least expressive frames (its neutral reference).

At any split :func:`estimate_codes` turns the estimates into the relative code in code space: the
within-clip codes minus their mean over the clip's ``neutral_fraction`` least expressive frames, as
:func:`~ppfer_core.bottleneck.basis.neutral_reference` does for shapes (with optional amplitude
normalisation). No landmark of the clips it encodes is read.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ppfer_core.bottleneck.basis import ExpressionBasis, align, clip_rms
from ppfer_core.bottleneck.landmarks import shift_batch
from ppfer_core.bottleneck.settings import INPUTS, EstimatorSettings
from ppfer_core.registry import create_model, register_model
from ppfer_core.training import Player, Run, TrainResult, TrainSettings, fit

_AMP_FLOOR = 0.25  # as basis.encode: a clip's code RMS is divided by at least this share of the population's
_CHANNELS = {"motion": 6, "difference": 3}


def _block(a: int, b: int) -> list[nn.Module]:
    """3x3 conv, batch norm, ReLU, 2x2 max-pool."""
    return [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(inplace=True), nn.MaxPool2d(2)]


class CodeEstimator(nn.Module):
    """Four conv blocks (widths w, 2w, 3w, 4w; each pools 2x) and two linear layers giving ``2k``
    outputs: the within-clip code, then the expressiveness code, both in basis units. ``inputs``:
    ``motion`` (frame and frame - clip mean + 0.5, 6 channels) or ``difference`` (the latter only). ``scale`` [2k] (a buffer, saved with the weights) converts the network's unit-variance
    outputs to codes."""

    def __init__(self, size: int, k: int, width: int = 16, inputs: str = "motion"):
        super().__init__()
        if inputs not in INPUTS:
            raise ValueError(f"code estimator: inputs must be one of {INPUTS}, got {inputs!r}")
        chans = [_CHANNELS[inputs], width, 2 * width, 3 * width, 4 * width]
        self.features = nn.Sequential(*[m for a, b in zip(chans[:-1], chans[1:]) for m in _block(a, b)])
        side = size // 16
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(chans[-1] * side * side, 128),
            nn.ReLU(inplace=True),
            nn.Linear(128, 2 * k),
        )
        self.register_buffer("scale", torch.ones(2 * k))
        self.size, self.k, self.width, self.inputs = size, k, width, inputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs [B, C, H, W] (:func:`network_inputs`) -> standardised codes [B, 2k]."""
        return self.head(self.features(x - 0.5))


@register_model("expression_code")
def code_cnn(size: int, k: int, width: int = 16, inputs: str = "motion") -> CodeEstimator:
    """The code estimator for square ``size``-px frames (``size`` divisible by 16) and a k-dim basis."""
    if size % 16:
        raise ValueError(f"code_cnn: frame side must be divisible by 16, got {size}")
    return CodeEstimator(size, k, width, inputs)


def network_inputs(frames: np.ndarray, means: np.ndarray, inputs: str) -> torch.Tensor:
    """uint8 frames [B, H, W, 3] and their clips' float mean frames [B, H, W, 3] -> [B, C, H, W] in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
    m = torch.from_numpy(np.ascontiguousarray(means, dtype=np.float32)).permute(0, 3, 1, 2) / 255.0
    diff = x - m + 0.5
    if inputs == "difference":
        return diff
    return torch.cat([x, diff], 1)


def code_targets(landmarks: np.ndarray, basis: ExpressionBasis) -> np.ndarray:
    """Targets [N, T, 2k] of clips' landmarks [N, T, 68, 2]: within-clip codes (aligned shape minus
    the clip's mean aligned shape, on ``basis.basis``), then expressiveness codes (aligned shape minus
    the mean face, on ``basis.b0``). NaN where a frame's landmarks are incomplete."""
    x = align(landmarks, basis.canonical)
    ok = np.isfinite(x).all(-1, keepdims=True)
    mean = np.nanmean(np.where(ok, x, np.nan), axis=1, keepdims=True)
    return np.concatenate([(x - mean) @ basis.basis, (x - basis.mu) @ basis.b0], -1)


class _CodeFrames(Dataset):
    """Frames with complete targets: (network input [C, H, W], standardised target [2k])."""

    def __init__(self, clips: np.ndarray, targets: np.ndarray, inputs: str, scale: np.ndarray):
        self.clip, self.frame = np.nonzero(np.isfinite(targets).all(-1))
        if len(self.clip) == 0:
            raise ValueError("code estimator: no train frame with complete landmarks")
        self.clips, self.inputs = clips, inputs
        self.means = clips.mean(1, dtype=np.float32)
        self.targets = (targets / scale).astype(np.float32)

    def __len__(self) -> int:
        return len(self.clip)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        c, t = self.clip[i], self.frame[i]
        x = network_inputs(self.clips[c, t][None], self.means[c][None], self.inputs)[0]
        return x, torch.from_numpy(self.targets[c, t])


def target_scale(targets: np.ndarray) -> np.ndarray:
    """Per-dimension standard deviation [2k] of code targets [N, T, 2k] over the complete frames (plus
    1e-8): what the network's unit-variance outputs are multiplied by."""
    return np.nanstd(targets.reshape(-1, targets.shape[-1]), axis=0) + 1e-8


def code_frames(
    frames: np.ndarray, landmarks: np.ndarray, basis: ExpressionBasis, inputs: str, scale: np.ndarray
) -> _CodeFrames:
    """The training frames of clips [N, T, H, W, 3] with the codes of their landmarks [N, T, 68, 2]
    (:func:`code_targets`) divided by ``scale``; frames with NaN landmarks left out."""
    if frames.shape[2] != frames.shape[3] or frames.shape[2] % 16:
        raise ValueError(
            f"code estimator: square frames with a side divisible by 16, got {frames.shape[2:4]}"
        )
    if frames.shape[:2] != landmarks.shape[:2]:
        raise ValueError(f"code estimator: landmarks {landmarks.shape} do not match clips {frames.shape}")
    return _CodeFrames(frames, code_targets(landmarks, basis), inputs, scale)


def new_estimator(size: int, k: int, s: EstimatorSettings, scale: np.ndarray, seed: int) -> CodeEstimator:
    """A freshly initialised estimator (torch seeded with ``seed`` first) with its output ``scale``."""
    torch.manual_seed(seed)
    net = create_model("expression_code", "code_cnn", size=size, k=k, width=s.width, inputs=s.inputs)
    net.scale.copy_(torch.from_numpy(np.asarray(scale, dtype=np.float32)))
    return net


def fit_estimator(
    net: CodeEstimator, data: _CodeFrames, s: EstimatorSettings, run: Run, epochs: int, lr: float, fp: dict
) -> TrainResult:
    """Train ``net`` on ``data`` for ``epochs`` on the resumable :func:`~ppfer_core.training.fit` loop
    (``run.state_path``, ``fp`` its fingerprint): Adam at ``lr`` cosine-decayed per epoch, mean squared
    error on the standardised targets (the expressiveness half weighted ``s.neutral_weight``), random
    shifts of the whole input."""
    k = net.k
    ts = TrainSettings(epochs, s.batch_size, lr, "adam")
    opt = ts.make_optimizer(net.parameters())
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    weight = torch.cat([torch.ones(k), torch.full((k,), s.neutral_weight)])

    def loss(batch):
        x, _ = shift_batch(batch[0], torch.zeros(len(batch[0]), 1, 2), s.shift)
        err = (net(x) - batch[1].to(x.device)) ** 2
        within, total = err[:, :k].mean(), (err * weight.to(x.device)).mean()
        return total, {"within_mse": float(within.detach())}

    return fit([Player("code", [net], opt, loss, sched)], data, ts, run, fp)


def train_code_estimator(
    frames: np.ndarray, landmarks: np.ndarray, basis: ExpressionBasis, s: EstimatorSettings, run: Run
) -> tuple[CodeEstimator, TrainResult]:
    """Train on clips [N, T, H, W, 3] against the codes of their landmarks [N, T, 68, 2] (frames with
    NaN left out) for ``s.epochs`` (:func:`fit_estimator`), the targets standardised by their own
    spread (:func:`target_scale`)."""
    scale = target_scale(code_targets(landmarks, basis))
    data = code_frames(frames, landmarks, basis, s.inputs, scale)
    net = new_estimator(frames.shape[2], basis.settings.k, s, scale, run.seed)
    fp = {
        "estimator": vars(s), "k": basis.settings.k, "n": len(data), "shape": list(frames.shape),
        "scale": scale.tolist(),
    }  # fmt: skip
    result = fit_estimator(net, data, s, run, s.epochs, s.lr, fp)
    return net.eval(), result


@torch.no_grad()
def predict_codes(net: CodeEstimator, clips: np.ndarray, batch: int = 256) -> np.ndarray:
    """Estimated codes [N, T, 2k] (float32, basis units: within-clip, then expressiveness) of clips
    [N, T, H, W, 3]."""
    n, t = clips.shape[:2]
    out = np.empty((n * t, 2 * net.k), dtype=np.float32)
    net.eval()
    per = max(1, batch // t)
    for c in range(0, n, per):
        part = np.asarray(clips[c : c + per])
        flat = part.reshape(-1, *part.shape[2:])
        means = np.repeat(part.mean(1, dtype=np.float32), t, 0)
        x = network_inputs(flat, means, net.inputs)
        out[c * t : c * t + len(flat)] = (net(x) * net.scale).numpy()
    return out.reshape(n, t, 2 * net.k)


def relative_codes(estimates: np.ndarray, basis: ExpressionBasis) -> np.ndarray:
    """Codes [N, T, k] of estimates [N, T, 2k] (:func:`predict_codes`, or :func:`code_targets` for
    the truth): ``relative``: the within-clip codes minus their mean over each clip's
    ``neutral_fraction`` least expressive frames (smallest expressiveness energy, at least one);
    ``absolute``: the expressiveness half cannot serve (it is on ``b0``), so ValueError. Amplitude
    normalisation as :func:`~ppfer_core.bottleneck.basis.encode`."""
    s = basis.settings
    if s.reference != "relative":
        raise ValueError("code estimator: only bottleneck.reference 'relative' is estimated from pixels")
    k = s.k
    within, energy = estimates[..., :k], (estimates[..., k:] ** 2).sum(-1)
    keep = max(1, int(round(s.neutral_fraction * estimates.shape[1])))
    order = np.argsort(energy, axis=1)[:, :keep]
    ref = np.take_along_axis(within, order[..., None], axis=1).mean(1, keepdims=True)
    codes = within - ref
    if s.amplitude_norm:
        rms = np.nan_to_num(clip_rms(codes))
        codes = codes * (basis.code_rms / np.maximum(rms, _AMP_FLOOR * basis.code_rms))[:, None, None]
    return np.nan_to_num(codes).astype(np.float32)


def write_codes(net: CodeEstimator, basis: ExpressionBasis, clips_path, estimates_path, codes_path) -> int:
    """Apply the estimator to the clips at ``clips_path``: the per-frame estimates
    (:func:`predict_codes`) to ``estimates_path`` and their relative codes (:func:`relative_codes`) to
    ``codes_path``, each written whole or not at all. Returns the number of clips."""
    from ppfer_core.arrays import load_clips
    from ppfer_core.npyfiles import npy_output

    clips = load_clips(clips_path)
    estimates = predict_codes(net, clips)
    for path, arr in ((estimates_path, estimates), (codes_path, relative_codes(estimates, basis))):
        with npy_output(path, arr.shape, np.float32) as out:
            out[:] = arr
    return int(clips.shape[0])


def save_estimator(net: CodeEstimator, path: str) -> None:
    """Weights (with the output scale) and the constructor arguments; never a partial file."""
    blob = {"size": net.size, "k": net.k, "width": net.width, "inputs": net.inputs, "state": net.state_dict()}
    tmp = f"{path}.tmp"
    torch.save(blob, tmp)
    os.replace(tmp, path)


def load_estimator(path: str) -> CodeEstimator:
    """An estimator written by :func:`save_estimator`, in eval mode."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    net = create_model(
        "expression_code",
        "code_cnn",
        size=int(blob["size"]),
        k=int(blob["k"]),
        width=int(blob["width"]),
        inputs=str(blob["inputs"]),
    )
    net.load_state_dict(blob["state"])
    return net.eval()


def code_point_errors(
    codes: np.ndarray, true_landmarks: np.ndarray, basis: ExpressionBasis
) -> tuple[float, float]:
    """Evaluation only: the mean per-point distance between the shapes ``basis x code`` of estimated
    relative codes [N, T, k] and of the true landmarks' codes (:func:`encode` of [N, T, 68, 2]), in
    pixels of each frame (the true shape's Procrustes scale) and as a share of the true inter-ocular
    distance. The code's expression motion, in the units of a landmark error."""
    from ppfer_core.bottleneck.basis import encode
    from ppfer_core.bottleneck.shapes import OUTER_EYE_CORNERS, procrustes

    truth = np.asarray(true_landmarks, dtype=np.float64)
    ok = np.isfinite(truth).all((-1, -2))
    if not ok.any():
        raise ValueError("code_point_errors: no frame with complete true landmarks")
    diff = (np.asarray(codes, dtype=np.float64) - encode(truth, basis)) @ basis.basis.T
    _, tf = procrustes(truth, basis.canonical)
    err = np.linalg.norm(diff.reshape(*diff.shape[:2], -1, 2), axis=-1).mean(-1)[ok] / tf.scale[ok]
    a, b = OUTER_EYE_CORNERS
    iod = np.linalg.norm(truth[..., a, :] - truth[..., b, :], axis=-1)[ok]
    return float(err.mean()), float((err / iod).mean())
