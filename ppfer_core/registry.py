"""The model registry, timm-style: architectures registered by name with :func:`register_model`,
built with :func:`create_model` (``create_model("video", "frame_cnn", num_classes=6, width=8)``).

A family is what a network is for; its builders share one signature:

- ``unet``: image-to-image U-Nets (F_lpr / F_hpr, trade-off anonymiser, recovery attacker),
  ``settings`` = a config entry {base_width, depth}, optional ``weights`` checkpoint.
- ``compensator``: F_fc, ``settings`` = models.uvit {patch, dim, depth, heads}, ``img_size``, ``weights``.
- ``image``: frame classifiers, ``num_classes``, ``weights`` (a local file), ``drop_rate``, ``width``;
  a name not registered here is a timm model name (the family's fallback builder).
- ``video``: clip classifiers (F_u, the clip attacker), ``num_classes``, ``weights``, ``width``.
- ``landmarks``: 68-point landmark regressors of the expression-code bottleneck (issue 27), ``size``
  (frame side), ``width``, ``motion``.
- ``expression_code``: the bottleneck's code estimators (pixels -> k-dim expression code), ``size``,
  ``k``, ``width``, ``inputs``.

This module imports neither torch nor timm: a family's builders are registered when its module
(:data:`FAMILY_MODULES`) is imported, which :func:`create_model` and :func:`list_models` do on demand.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["FAMILY_MODULES", "create_model", "list_models", "register_model"]

FAMILY_MODULES: dict[str, str] = {
    "unet": "ppfer_core.nets",
    "compensator": "ppfer_core.uvit",
    "image": "ppfer_core.nets",
    "video": "ppfer_core.nets",
    "landmarks": "ppfer_core.bottleneck.landmarks",
    "expression_code": "ppfer_core.bottleneck.estimator",
}
"""Model families and the module whose import registers their builders."""

_BUILDERS: dict[str, dict[str, Callable[..., Any]]] = {family: {} for family in FAMILY_MODULES}
_FALLBACKS: dict[str, tuple[str, Callable[..., Any]]] = {}


def _family(family: str) -> dict[str, Callable[..., Any]]:
    if family not in _BUILDERS:
        raise ValueError(f"unknown model family {family!r} (families: {', '.join(FAMILY_MODULES)})")
    return _BUILDERS[family]


def register_model(
    family: str, name: str | None = None, *, fallback: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a builder under ``family`` / ``name`` (default: the function's name).

    ``fallback`` (e.g. ``"any timm model name"``) makes it the family's builder for names not registered;
    it is then called with the name as its first argument."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if fallback is not None:
            _family(family)
            _FALLBACKS[family] = (fallback, fn)
            return fn
        key = name or fn.__name__
        builders = _family(family)
        if key in builders and builders[key] is not fn:
            raise ValueError(f"model {family}/{key} is registered twice")
        builders[key] = fn
        return fn

    return decorate


def _load(family: str) -> dict[str, Callable[..., Any]]:
    builders = _family(family)
    importlib.import_module(FAMILY_MODULES[family])
    return builders


def list_models(family: str) -> list[str]:
    """The registered names of ``family``, sorted (a fallback, e.g. timm's names, is not listed)."""
    return sorted(_load(family))


def create_model(family: str, name: str, **settings: Any) -> Any:
    """Build architecture ``name`` of ``family`` with the family's keyword ``settings``.

    An unknown name raises :class:`ValueError` listing the registered ones (unless the family has a
    fallback builder, which then gets the name)."""
    builders = _load(family)
    if name in builders:
        return builders[name](**settings)
    if family in _FALLBACKS:
        return _FALLBACKS[family][1](name, **settings)
    raise ValueError(f"unknown {family} model {name!r} (registered: {', '.join(sorted(builders))})")
