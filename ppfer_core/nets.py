"""Models registered with :mod:`ppfer_core.registry` (build them with ``create_model(family, name, ...)``):
U-Net (family ``unet``), image classifiers (``image``: ``small_cnn`` or any timm name) and video
classifiers (``video``: ``r3d_18``, ``r3d_small``, ``frame_cnn``), explicit weight loading (the U-ViT
compensator, built on timm.layers, is :mod:`ppfer_core.uvit`; timm is imported only where a builder needs it).

Every model takes float input in [0, 1] (images ``[B, C, H, W]``, videos ``[B, 3, T, H, W]``); classifiers
normalise inside their wrapper.  Nothing here downloads: weights come only from local files, and every loader
reports which tensors it loaded and skipped and raises when it loaded none.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from ppfer_core.registry import create_model, register_model
from ppfer_core.weights import LoadReport, _emit, _finish, load_checkpoint, load_matching, load_state_file

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "KINETICS_MEAN",
    "KINETICS_STD",
    "LoadReport",
    "Normalized",
    "UNet",
    "load_matching",
    "load_checkpoint",
    "load_state_file",
    "build_image_classifier",
    "build_video_classifier",
    "R3DSmall",
]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
"""ImageNet channel means (RGB, [0, 1] scale)."""
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
"""ImageNet channel standard deviations."""
KINETICS_MEAN: tuple[float, float, float] = (0.43216, 0.394666, 0.37645)
"""Kinetics-400 channel means used by torchvision's video models."""
KINETICS_STD: tuple[float, float, float] = (0.22803, 0.22145, 0.216989)
"""Kinetics-400 channel standard deviations."""

# --------------------------------------------------------------------------------------------- wrappers


class Normalized(nn.Module):
    """Wrap ``net`` so that it takes [0, 1] input and normalises it per channel (dim 1) with ``mean``/``std``."""

    def __init__(self, net: nn.Module, mean: tuple[float, ...], std: tuple[float, ...], ndim: int = 4):
        super().__init__()
        self.net = net
        self.load_report: LoadReport | None = None  # set by the builders when weights came from a file
        shape = (1, len(mean)) + (1,) * (ndim - 2)
        self.register_buffer("mean", torch.tensor(mean).view(shape), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(shape), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise and run the wrapped network."""
        return self.net((x - self.mean) / self.std)


# --------------------------------------------------------------------------------------------- U-Net


def _norm2d(kind: str, channels: int) -> nn.Module:
    """BatchNorm2d or GroupNorm (up to 8 groups) for ``channels``."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        groups = max(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    raise ValueError(f"unknown norm {kind!r} (batch | group)")


class DoubleConv(nn.Sequential):
    """Two 3×3 conv–norm–ReLU layers."""

    def __init__(self, cin: int, cout: int, norm: str = "batch"):
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            _norm2d(norm, cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            _norm2d(norm, cout),
            nn.ReLU(inplace=True),
        )


class UNet(nn.Module):
    """Encoder–decoder with skip connections (privacy enhancers F_lpr/F_hpr, trade-off anonymiser, recovery attacker)."""

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_width: int = 32,
        depth: int = 4,
        norm: Literal["batch", "group"] = "batch",
        bilinear: bool = True,
    ):
        super().__init__()
        if depth < 1:
            raise ValueError("UNet depth must be >= 1")
        self.depth = depth
        widths = [base_width * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0], norm)
        self.down = nn.ModuleList(DoubleConv(widths[i], widths[i + 1], norm) for i in range(depth))
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(depth)):  # from the bottom: widths[i+1] -> widths[i]
            if bilinear:
                self.up.append(
                    nn.Sequential(
                        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                        nn.Conv2d(widths[i + 1], widths[i], 1),
                    )
                )
            else:
                self.up.append(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            self.dec.append(DoubleConv(2 * widths[i], widths[i], norm))
        self.outc = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``[B, C_in, H, W]`` (any H, W) to ``[B, C_out, H, W]`` in [0, 1]."""
        h, w = x.shape[-2:]
        m = 2**self.depth
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        skips = [self.inc(x)]
        for down in self.down:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()
        for up, dec in zip(self.up, self.dec):
            y = dec(torch.cat([up(y), skips.pop()], dim=1))
        return torch.sigmoid(self.outc(y))[..., :h, :w]


@register_model("unet", "unet")
@torch.no_grad()
def _unet(settings: Mapping[str, Any], weights: str | Path | None = None) -> UNet:
    """The workflow's U-Net from its config entry {base_width, depth} (models.unet, threat.unet):
    F_lpr / F_hpr, the trade-off anonymiser, the recovery attacker; ``weights``: a checkpoint
    written by :func:`ppfer_core.training.save_weights`, loaded strictly."""
    net = UNet(base_width=settings["base_width"], depth=settings["depth"])
    return net if weights is None else _load_own(net, weights)


def build_unet(cfg: Mapping[str, Any], weights: str | Path | None = None) -> UNet:
    """``create_model("unet", "unet", settings=cfg, weights=weights)`` (kept for existing callers)."""
    return create_model("unet", "unet", settings=cfg, weights=weights)


def _load_own(net: nn.Module, weights: str | Path) -> nn.Module:
    from ppfer_core.training import load_weights

    return load_weights(net, weights)


# --------------------------------------------------------------------------------------------- classifiers


SMALL_CNN = "small_cnn"
"""Classifier name of :class:`SmallCNN` (not a timm model) for :func:`build_image_classifier`."""


class SmallCNN(nn.Module):
    """A plain 4-layer CNN (conv-BN-ReLU-maxpool, widths w, 2w, 4w, 8w), global pooling, linear head.
    The first convolution has stride 2 (a 64-px frame is seen at 32 px from the second layer on), which
    makes it 4x cheaper on a CPU."""

    def __init__(self, num_classes: int, width: int = 32, in_channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for k in range(4):
            cout = width * 2**k
            layers += [
                nn.Conv2d(cin, cout, 3, stride=2 if k == 0 else 1, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2) if k < 3 else nn.Identity(),
            ]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes) if num_classes > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean((-2, -1)))


@torch.no_grad()
def _verify_loaded(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> LoadReport:
    """Report which tensors of ``state`` now sit unchanged in ``model`` (i.e. were loaded); raise if none."""
    own = model.state_dict()
    report = LoadReport(source=source)
    for key, value in state.items():
        if key not in own:
            report.skipped.append(f"{key} (not in model)")
        elif own[key].shape != value.shape:
            report.skipped.append(f"{key} (shape {tuple(value.shape)} != {tuple(own[key].shape)})")
        elif not torch.equal(own[key].cpu(), value.to(own[key].dtype)):
            report.skipped.append(f"{key} (re-initialised)")
        else:
            report.loaded.append(key)
    return _finish(report, own, "pretrained classifier")


@register_model("image", SMALL_CNN)
def _small_cnn(
    num_classes: int, weights: str | Path | None = None, drop_rate: float = 0.0, width: int | None = None
) -> Normalized:
    """:class:`SmallCNN` of ``width`` (default 32) wrapped with ImageNet normalisation; weights only
    from a local file, else from scratch (``drop_rate`` does not apply)."""
    report = None
    net = SmallCNN(num_classes, width or 32)
    if weights is not None:
        report = _load_small_cnn(net, weights)
    else:
        _emit(
            f"{SMALL_CNN} (width {width or 32}): {num_classes} classes, trained from scratch (no weights file)"
        )
    return _normalized_image(net, report)


@register_model("image", fallback="any timm model name")
def _timm_image(
    arch: str,
    num_classes: int,
    weights: str | Path | None = None,
    drop_rate: float = 0.0,
    width: int | None = None,
) -> Normalized:
    """A timm classifier wrapped with ImageNet normalisation (``width`` does not apply); weights only
    from a local file, else from scratch. ``num_classes`` 0: the pooled features (no head)."""
    net, report = _timm_classifier(arch, num_classes, weights, drop_rate)
    return _normalized_image(net, report)


def _normalized_image(net: nn.Module, report: LoadReport | None) -> Normalized:
    model = Normalized(net, IMAGENET_MEAN, IMAGENET_STD, ndim=4)
    model.load_report = report
    return model


def build_image_classifier(
    arch: str,
    num_classes: int,
    weights_file: str | Path | None = None,
    drop_rate: float = 0.0,
    width: int | None = None,
) -> Normalized:
    """``create_model("image", arch, ...)`` (kept for existing callers): ``small_cnn`` or a timm name."""
    return create_model(
        "image", arch, num_classes=num_classes, weights=weights_file, drop_rate=drop_rate, width=width
    )


def _load_small_cnn(net: nn.Module, weights_file: str | Path) -> LoadReport:
    """Load a :class:`SmallCNN` state dict (keys with or without the ``net.`` prefix of :class:`Normalized`)
    by name and shape (:func:`~ppfer_core.weights.load_matching`: reported, raises if nothing loads)."""
    state = {k.removeprefix("net."): v for k, v in load_state_file(weights_file).items()}
    return load_matching(net, state, str(weights_file), what="small_cnn weights")


def _timm_classifier(
    arch: str, num_classes: int, weights_file: str | Path | None, drop_rate: float
) -> tuple[nn.Module, LoadReport | None]:
    """``timm.create_model`` from scratch or from a local weights file (verified: :func:`_verify_loaded`)."""
    import timm

    if not timm.is_model(arch):
        raise ValueError(f"unknown image model {arch!r} (registered: {SMALL_CNN}; or any timm model name)")
    kwargs: dict = dict(num_classes=num_classes, drop_rate=drop_rate)
    if weights_file is None:
        _emit(f"{arch}: {num_classes} classes, trained from scratch (no weights file)")
        return timm.create_model(arch, pretrained=False, **kwargs), None
    path = Path(weights_file)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    net = timm.create_model(arch, pretrained=True, pretrained_cfg_overlay=dict(file=str(path)), **kwargs)
    from timm.models import load_state_dict as timm_load_state_dict

    return net, _verify_loaded(net, timm_load_state_dict(str(path)), str(path))


class R3DSmall(nn.Module):
    """torchvision's R3D design (VideoResNet stem, BasicBlock + Conv3DSimple) with channel widths w, 2w, 4w, 8w."""

    def __init__(self, num_classes: int, width: int = 64, layers: tuple[int, int, int, int] = (1, 1, 1, 1)):
        super().__init__()
        from torchvision.models.video.resnet import BasicBlock, Conv3DSimple, VideoResNet

        self.inplanes = width
        self.stem = nn.Sequential(
            nn.Conv3d(3, width, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(width),
            nn.ReLU(inplace=True),
        )
        make = VideoResNet._make_layer  # reuses torchvision's layer builder (reads/updates self.inplanes)
        self.layer1 = make(self, BasicBlock, Conv3DSimple, width, layers[0], stride=1)
        self.layer2 = make(self, BasicBlock, Conv3DSimple, 2 * width, layers[1], stride=2)
        self.layer3 = make(self, BasicBlock, Conv3DSimple, 4 * width, layers[2], stride=2)
        self.layer4 = make(self, BasicBlock, Conv3DSimple, 8 * width, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(8 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]`` (already normalised) → logits ``[B, num_classes]``."""
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.fc(self.avgpool(x).flatten(1))


def _normalized_video(net: nn.Module, report: LoadReport | None) -> Normalized:
    model = Normalized(net, KINETICS_MEAN, KINETICS_STD, ndim=5)
    model.load_report = report
    return model


@register_model("video", "r3d_18")
def _r3d_18(num_classes: int, weights: str | Path | None = None, width: int = 64) -> Normalized:
    """torchvision ``r3d_18``, the paper's F_u (optional local Kinetics state dict; ``width`` does not apply)."""
    from torchvision.models.video import r3d_18

    report = None
    net: nn.Module = r3d_18(weights=None)  # 400-way, so a Kinetics state dict loads fully
    if weights is not None:
        report = load_checkpoint(net, weights)
    else:
        _emit(f"r3d_18: {num_classes} classes, trained from scratch (no weights file)")
    net.fc = nn.Linear(net.fc.in_features, num_classes)
    nn.init.normal_(net.fc.weight, 0, 0.01)
    nn.init.zeros_(net.fc.bias)
    return _normalized_video(net, report)


def _small_video(
    arch: str, net: nn.Module, num_classes: int, weights: str | Path | None, width: int
) -> Normalized:
    report = None
    if weights is not None:
        report = load_checkpoint(net, weights)
    else:
        _emit(f"{arch}(width={width}): {num_classes} classes, trained from scratch")
    return _normalized_video(net, report)


@register_model("video", "r3d_small")
def _r3d_small(num_classes: int, weights: str | Path | None = None, width: int = 64) -> Normalized:
    """:class:`R3DSmall` of ``width`` (CPU-sized R3D)."""
    return _small_video("r3d_small", R3DSmall(num_classes, width=width), num_classes, weights, width)


@register_model("video", "frame_cnn")
def _frame_cnn(num_classes: int, weights: str | Path | None = None, width: int = 64) -> Normalized:
    """:class:`ppfer_core.video_nets.FrameConvNet` of ``width`` (the embedded default's F_u)."""
    from ppfer_core.video_nets import FrameConvNet

    return _small_video("frame_cnn", FrameConvNet(num_classes, width=width), num_classes, weights, width)


def build_video_classifier(
    arch: str, num_classes: int, weights_file: str | Path | None = None, width: int = 64
) -> Normalized:
    """``create_model("video", arch, ...)`` (kept for existing callers): r3d_18 | r3d_small | frame_cnn."""
    return create_model("video", arch, num_classes=num_classes, weights=weights_file, width=width)
