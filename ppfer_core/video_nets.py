"""CPU-sized video classifiers for the embedded default (built by ``create_model("video", "frame_cnn")``).

:class:`FrameConvNet` is a C2D / TSN-style video model: a small 2-D CNN encodes every frame, a
residual temporal convolution mixes neighbouring frames' features, and the clip's logits come from
the features averaged over time. On a CPU it costs a small fraction of a 3-D ResNet's computation
per clip, which is what lets the default DAG train one utility model per representation in seconds.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class FrameConvNet(nn.Module):
    """Per-frame CNN (``depth`` stages of conv-BN-ReLU, widths w, 2w, 4w, ..., each halving the
    resolution) on each frame's ``input`` -> the final ``grid`` x ``grid`` feature map flattened (faces are aligned, so where a
    feature is matters: a mouth corner up or down) and projected to ``features`` -> residual temporal
    conv (kernel 3) over frames -> mean over time -> linear.

    ``input``: ``motion`` (default) each frame minus the clip's mean frame, so what stays the same
    through the clip -- background, lighting, the face at rest, i.e. most of the per-clip nuisance
    an image model memorises -- is removed and the expression's deformation remains; ``frames``
    the frames themselves; ``both`` the two stacked (6 channels)."""

    def __init__(
        self,
        num_classes: int,
        width: int = 16,
        depth: int = 4,
        grid: int = 4,
        features: int = 128,
        dropout: float = 0.2,
        input: str = "motion",
        time_pool: str = "mean",
    ):
        super().__init__()
        if depth < 1 or width < 1:
            raise ValueError(
                f"FrameConvNet needs depth >= 1 and width >= 1, got depth={depth}, width={width}"
            )
        if time_pool not in ("mean", "max"):
            raise ValueError(f"time_pool must be mean or max, got {time_pool!r}")
        if input not in ("motion", "frames", "both"):
            raise ValueError(f"input must be motion, frames or both, got {input!r}")
        self.input, self.time_pool = input, time_pool
        chans = [6 if input == "both" else 3] + [width * 2**i for i in range(depth)]
        self.frames = nn.Sequential(*(_conv_block(chans[i], chans[i + 1], 2) for i in range(depth)))
        feat = features
        self.pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(grid),
            nn.Flatten(),
            nn.Linear(chans[-1] * grid * grid, feat, bias=False),
            nn.BatchNorm1d(feat),
            nn.ReLU(inplace=True),
        )
        self.temporal = nn.Sequential(
            nn.Conv1d(feat, feat, 3, padding=1, bias=False), nn.BatchNorm1d(feat), nn.ReLU(inplace=True)
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feat, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv1d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.temporal[1].weight)  # the temporal branch starts as the identity (residual)
        nn.init.normal_(self.head[1].weight, 0, 0.01)
        nn.init.zeros_(self.head[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]`` (already normalised) -> logits ``[B, num_classes]``."""
        if self.input != "frames":  # each frame's difference to the clip's mean frame
            motion = x - x.mean(2, keepdim=True)
            x = motion if self.input == "motion" else torch.cat([x, motion], 1)
        b, c, t, h, w = x.shape
        f = self.pool(self.frames(x.transpose(1, 2).reshape(b * t, c, h, w))).view(b, t, -1).transpose(1, 2)
        f = f + self.temporal(f)
        return self.head(f.amax(2) if self.time_pool == "max" else f.mean(2))
