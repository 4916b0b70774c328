"""Weight loading from local files, reporting what it loaded: a state dict read from ``.pt/.pth``
(``weights_only``) or ``.safetensors``, copied into a model by name and shape (:func:`load_matching`),
with a :class:`LoadReport` of the tensors loaded, skipped (and why) and left new. Nothing downloads."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger("ppfer.nets")  # child of runtime.job_logger's "ppfer" logger


def _emit(msg: str) -> None:
    """Log ``msg``; print it when logging is not configured so that it always reaches the job log."""
    if log.hasHandlers() and log.isEnabledFor(logging.INFO):
        log.info(msg)
    else:
        print(msg, flush=True)


# --------------------------------------------------------------------------------------------- loading


@dataclass
class LoadReport:
    """What a weight loader did: tensors loaded, skipped (with reason) and left new in the model."""

    source: str
    loaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self, show: int = 4) -> str:
        """One line: counts plus the first few names of each list."""

        def few(names: list[str]) -> str:
            more = f", ... +{len(names) - show}" if len(names) > show else ""
            return ", ".join(names[:show]) + more

        return (
            f"loaded {len(self.loaded)} tensors from {self.source}; skipped {len(self.skipped)} "
            f"({few(self.skipped)}); new {len(self.missing)} ({few(self.missing)})"
        )


def load_state_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from a local ``.pt/.pth`` (weights_only, CPU) or ``.safetensors`` file, unwrapping
    ``{"state_dict"|"model"|"nnet"|"net": ...}`` containers."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        obj: object = load_file(str(path), device="cpu")
    else:
        try:
            obj = torch.load(path, weights_only=True, map_location="cpu", mmap=True)
        except RuntimeError:  # legacy (non-zip) serialisation cannot be memory-mapped
            obj = torch.load(path, weights_only=True, map_location="cpu")
    for key in ("state_dict", "model", "nnet", "net"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path} does not contain a state dict of tensors")
    return obj  # type: ignore[return-value]


def _finish(report: LoadReport, own: dict[str, torch.Tensor], what: str) -> LoadReport:
    """Fill ``missing``, raise when nothing but BatchNorm counters loaded, and log the summary."""
    done = set(report.loaded)
    report.missing = [k for k in own if k not in done]
    if not any(not k.endswith("num_batches_tracked") for k in report.loaded):
        raise ValueError(f"{what}: nothing of {report.source} was loaded: {report.summary()}")
    _emit(report.summary())
    return report


def _strip(key: str, prefixes: tuple[str, ...]) -> str:
    """Remove any of ``prefixes`` from the front of ``key`` (repeatedly)."""
    changed = True
    while changed:
        changed = False
        for p in prefixes:
            if p and key.startswith(p):
                key, changed = key[len(p) :], True
    return key


@torch.no_grad()
def load_matching(
    model: nn.Module,
    state_dict: dict[str, torch.Tensor],
    source: str,
    strip_prefixes: tuple[str, ...] = ("module.", "_orig_mod."),
    only: tuple[str, ...] | None = None,
    what: str = "load_matching",
) -> LoadReport:
    """Copy every tensor whose name (after stripping prefixes) and shape match into ``model``; raise if none.
    ``only`` restricts loading to names whose first component is listed (others are skipped as "not a block")."""
    own = model.state_dict()
    report = LoadReport(source=source)
    for raw_key, value in state_dict.items():
        key = _strip(raw_key, strip_prefixes)
        if only is not None and key.split(".", 1)[0] not in only:
            report.skipped.append(f"{raw_key} (not a block)")
        elif key not in own:
            report.skipped.append(f"{raw_key} (not in model)")
        elif own[key].shape != value.shape:
            report.skipped.append(f"{raw_key} (shape {tuple(value.shape)} != {tuple(own[key].shape)})")
        else:
            own[key].copy_(value.to(own[key].dtype))
            report.loaded.append(key)
    return _finish(report, own, f"{what} (no tensor matches by name and shape)")


def load_checkpoint(
    model: nn.Module, path: str | Path, strip_prefixes: tuple[str, ...] = ("module.", "_orig_mod.")
) -> LoadReport:
    """Load a local state-dict file (e.g. a previous PPFER checkpoint) into ``model`` with :func:`load_matching`."""
    return load_matching(model, load_state_file(path), str(path), strip_prefixes)
