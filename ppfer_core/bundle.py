"""The anonymiser bundle: one weights-only file holding everything ``ppfer anonymize`` applies.

``results/models/anonymizer.pt`` (rule ``anonymizer_bundle``, rules/anonymize.smk) is a plain
dictionary of strings, numbers, lists and tensors, so ``torch.load(path, weights_only=True)``
reads it without executing code::

    {"format": "ppfer-anonymizer", "version": 1,
     "settings": {size, frames, wavelet, level, face_margin, unet, uvit, utility, labels},
     "methods": {name: {"enhancer_low": state_dict, "enhancer_high": state_dict,
                        "compensator": state_dict | None, "utility": state_dict | None}},
     "default_method": name}

A method is either networks (below) or, with ``"kind": "bottleneck"``, an expression basis and a
template face (:mod:`ppfer_core.anonymize.bottleneck`: the basis file's arrays, settings, path and
SHA-256, the template's settings, image and landmarks; no checkpoint). A networks method is the chain the DAG applies to its 64 x 64 (or 112 x 112) crops: wavelet split,
F_lpr on the low band and F_hpr on every high subband, inverse transform, uint8 quantisation
(G is stored as uint8 clips), then F_fc on G (C, the representation ``ours``). F_u, the utility
model trained on that representation, gives the expression of a face track. The chain is
:class:`ppfer_core.pipeline.PrivacyPipeline`, the object the DAG's rules write G and C with. The settings
hold the hyper-parameters :func:`ppfer_core.registry.create_model` needs to rebuild each network, so a
method name (``ours``, and variants other stages add) selects weights, never code.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ppfer_core.arrays import frames_to_tensor
from ppfer_core.pipeline import PrivacyPipeline
from ppfer_core.registry import create_model

FORMAT = "ppfer-anonymizer"
VERSION = 1
PARTS = ("enhancer_low", "enhancer_high", "compensator", "utility")
"""Networks of one method; the enhancers are required, compensator and utility may be absent."""


class BundleError(ValueError):
    """A bundle file that cannot be read or does not hold what ``ppfer anonymize`` needs."""


@dataclass(frozen=True)
class BundleSettings:
    """What is needed to rebuild and apply the networks of a bundle."""

    size: tuple[int, int]  # crop H, W the models were trained on (ingest.size)
    frames: int  # T frames per clip of F_u (ingest.frames)
    wavelet: str
    level: int
    face_margin: float  # growth of the face box on every side (ingest.face_margin)
    unet: dict  # {base_width, depth} of F_lpr / F_hpr
    uvit: dict  # {patch, dim, depth, heads} of F_fc
    utility: dict  # {arch, width} of F_u
    labels: tuple[str, ...]  # F_u's class names (index = class)

    def to_dict(self) -> dict:
        """Plain types only (weights_only-loadable)."""
        d = asdict(self)
        d["size"], d["labels"] = list(self.size), list(self.labels)
        d["uvit"] = {k: v for k, v in self.uvit.items() if k != "weights"}
        d["utility"] = {k: v for k, v in self.utility.items() if k in ("arch", "width")}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> BundleSettings:
        """Inverse of :meth:`to_dict`; a missing key raises :class:`BundleError` naming it."""
        missing = [k for k in cls.__dataclass_fields__ if k not in d]
        if missing:
            raise BundleError(f"settings lack {', '.join(missing)}")
        return cls(**{**d, "size": tuple(d["size"]), "labels": tuple(d["labels"])})


def build_part(part: str, s: BundleSettings) -> nn.Module:
    """A freshly built network of one part, as the DAG's rules build it."""
    if part in ("enhancer_low", "enhancer_high"):
        return create_model("unet", "unet", settings=s.unet)
    if part == "compensator":
        return create_model("compensator", "uvit", settings=s.uvit, img_size=s.size[0])
    if part == "utility":
        with contextlib.redirect_stdout(io.StringIO()):  # "trained from scratch": the weights come next
            return create_model(
                "video", s.utility["arch"], num_classes=len(s.labels), width=s.utility.get("width", 64)
            )
    raise ValueError(f"unknown bundle part {part!r} ({', '.join(PARTS)})")


def settings_from_config(config: dict, labels: tuple[str, ...] | None = None) -> BundleSettings:
    """The bundle settings of a workflow config (what the DAG's rules build and apply)."""
    from ppfer_core import EMOTIONS

    m = config["models"]
    return BundleSettings(
        size=tuple(config["ingest"]["size"]),
        frames=int(config["ingest"]["frames"]),
        wavelet=config["wavelet"]["name"],
        level=int(config["wavelet"]["level"]),
        face_margin=float(config["ingest"].get("face_margin", 0.25)),
        unet=dict(m["unet"]),
        uvit={k: v for k, v in m["uvit"].items() if k != "weights"},
        utility={k: v for k, v in m["utility"].items() if k in ("arch", "width")},
        labels=tuple(labels or EMOTIONS),
    )


def random_bundle(path: str | Path, settings: BundleSettings, seed: int = 0) -> None:
    """A bundle of randomly initialised networks (method ``ours``) for tests and benchmarks: the
    same builders and the same compute as a trained bundle, nothing learnt."""
    torch.manual_seed(seed)
    path = Path(path)
    files = {}
    for part in PARTS:
        files[part] = str(path.with_name(f"{path.stem}.{part}.pt"))
        torch.save(build_part(part, settings).state_dict(), files[part])
    write_bundle(path, settings, {"ours": files})
    for f in files.values():
        Path(f).unlink()


def _read_state(path: str | Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def pack_method(files: dict[str, str | None], settings: BundleSettings, name: str) -> dict:
    """State dicts of one method from its checkpoint files (part -> path or None), each checked by
    loading it strictly into a network built from ``settings``."""
    unknown = set(files) - set(PARTS)
    if unknown:
        raise ValueError(f"method {name!r}: unknown parts {sorted(unknown)} ({', '.join(PARTS)})")
    out: dict = {}
    for part in PARTS:
        path = files.get(part)
        if path is None:
            if part.startswith("enhancer"):
                raise ValueError(f"method {name!r} needs {part}")
            out[part] = None
            continue
        state = _read_state(path)
        try:
            build_part(part, settings).load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(
                f"method {name!r}: {path} does not fit {part} built from the settings: {exc}"
            ) from exc
        out[part] = state
    return out


def write_bundle(path: str | Path, settings: BundleSettings, methods: dict) -> None:
    """Pack ``methods`` (name -> part -> checkpoint file, or name ->
    :class:`~ppfer_core.anonymize.bottleneck.BottleneckParts`) into one bundle file, written
    atomically; the first method is the default."""
    from ppfer_core.anonymize.bottleneck import BottleneckParts, pack_bottleneck

    if not methods:
        raise ValueError("a bundle needs at least one method")
    obj = {
        "format": FORMAT,
        "version": VERSION,
        "settings": settings.to_dict(),
        "methods": {
            name: pack_bottleneck(files, name)
            if isinstance(files, BottleneckParts)
            else pack_method(files, settings, name)
            for name, files in methods.items()
        },
        "default_method": next(iter(methods)),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Method:
    """One method of a bundle, built and ready: :meth:`transform` crops, :meth:`expression` clips."""

    kind = "networks"

    def __init__(self, name: str, parts: dict, settings: BundleSettings, device: torch.device):
        self.name, self.settings, self.device = name, settings, device
        self.nets: dict[str, nn.Module | None] = {}
        for part in PARTS:
            state = parts.get(part)
            net = None
            if state is not None:
                net = build_part(part, settings)
                net.load_state_dict(state)
                net.to(device).eval()
            self.nets[part] = net
        self.pipeline = PrivacyPipeline(
            self.nets["enhancer_low"],
            self.nets["enhancer_high"],
            self.nets["compensator"],
            settings.wavelet,
            settings.level,
            settings.size,
            device,
        )
        """The method's privacy pipeline (G, then F_fc), the one the DAG writes its representation with."""

    def transform(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops [B, H, W, 3] at the model's size -> anonymised uint8 crops (G, then F_fc)."""
        s = self.settings
        if crops.shape[1:3] != tuple(s.size):
            raise ValueError(f"crops must be {s.size[0]} x {s.size[1]}, got {crops.shape[1:3]}")
        return self.pipeline.transform(crops)

    @torch.no_grad()
    def expression(self, clip: np.ndarray) -> np.ndarray | None:
        """Class probabilities of F_u for one anonymised clip [T, H, W, 3] (uint8), or None without F_u."""
        net = self.nets["utility"]
        if net is None:
            return None
        x = frames_to_tensor(clip).permute(1, 0, 2, 3).unsqueeze(0).to(self.device)  # [1, 3, T, H, W]
        return torch.softmax(net(x).float(), dim=1)[0].cpu().numpy()


@dataclass
class Bundle:
    """A loaded bundle: settings, the methods' state dicts, the default method's name."""

    path: str
    settings: BundleSettings
    methods: dict[str, dict]
    default_method: str

    def method(self, name: str | None = None, device: torch.device | str = "cpu"):
        """Build method ``name`` (default: the bundle's default): a :class:`Method` (networks) or a
        :class:`~ppfer_core.anonymize.bottleneck.BottleneckMethod`."""
        name = name or self.default_method
        if name not in self.methods:
            raise BundleError(f"{self.path}: no method {name!r} (has: {', '.join(self.methods)})")
        parts = self.methods[name]
        if parts.get("kind") is None:
            return Method(name, parts, self.settings, torch.device(device))
        from ppfer_core.anonymize.bottleneck import KIND, BottleneckMethod

        if parts["kind"] != KIND:
            raise BundleError(f"{self.path}: method {name!r} is of unknown kind {parts['kind']!r}")
        try:
            return BottleneckMethod(name, parts, self.settings, f"{self.path}: method {name!r}")
        except ValueError as exc:
            raise BundleError(str(exc)) from exc

    def describe(self, name: str) -> str:
        """One line on what method ``name`` is made of (``--list-methods``)."""
        parts = self.methods[name]
        if parts.get("kind") is not None:
            from ppfer_core.anonymize.bottleneck import describe_bottleneck

            return describe_bottleneck(parts)
        return "networks: " + ", ".join(p for p in PARTS if parts.get(p) is not None)


def load_bundle(path: str | Path) -> Bundle:
    """Read a bundle with ``weights_only=True``; :class:`BundleError` names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(
            f"{path}: bundle file not found (build it with: snakemake results/models/anonymizer.pt)"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a bundle"
        raise BundleError(f"{path}: not a readable weights-only file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise BundleError(f"{path}: not a PPFER anonymiser bundle (format {FORMAT!r} expected)")
    if obj.get("version") != VERSION:
        raise BundleError(f"{path}: bundle version {obj.get('version')!r}, this code reads {VERSION}")
    settings = BundleSettings.from_dict(obj["settings"])
    return Bundle(str(path), settings, dict(obj["methods"]), obj["default_method"])
