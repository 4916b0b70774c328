"""What a site does in a round: local training of F_u from the global weights (the utility
rule's own training loop, :func:`ppfer_core.classifiers.fit_classifier`) and testing of the global
model on the site's clips. FedProx adds mu/2 * ||w - w_global||^2 to every local step, as a
gradient term mu * (w - w_global) on each parameter."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch

from ppfer_core import EMOTIONS
from ppfer_core.arrays import ClipDataset
from ppfer_core.classifiers import fit_classifier, predict_labels, score_clips
from ppfer_core.federated.partition import SiteData
from ppfer_core.registry import create_model
from ppfer_core.training import CPU_DTYPES, Run, resolve_cpu_dtype, select_device, train_dtype

STRATEGIES = ("fedavg", "fedprox")
LR_DECAYS = ("none", "cosine")


FED_KEYS = ("rounds", "local_epochs", "proximal_mu", "sites", "lr_decay")
"""The keys of the config's ``federated`` section a training reads (``strategies`` lists the strategies)."""
MODEL_KEYS = ("arch", "width", "augment")
"""The keys of ``models.utility`` a federated training reads (F_u as the utility rule builds it)."""


@dataclass(frozen=True)
class FedSettings:
    """One federated training: F_u's architecture and local recipe (the utility rule's), rounds, strategy.

    No field has a default: every value comes from the workflow config (:meth:`from_config`), and the
    Flower App's run config (``flower-app/pyproject.toml``) is generated from the same values
    (:mod:`ppfer_core.federated.app_config`)."""

    arch: str
    width: int
    augment: bool
    train: dict[str, Any] = field(hash=False)  # train.utility: optimizer, lr, batch_size, ...
    rounds: int
    local_epochs: int
    strategy: str
    proximal_mu: float
    sites: int
    seed: int
    device: str
    cpu_dtype: str  # the config key cpu_dtype: what the sites' local trainings autocast to on CPU
    lr_decay: str  # none | cosine: the round's lr follows a cosine over the rounds

    def __post_init__(self):
        if self.cpu_dtype not in CPU_DTYPES:
            raise ValueError(f"cpu_dtype must be one of {', '.join(CPU_DTYPES)}, got {self.cpu_dtype!r}")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"federated lr_decay must be one of {LR_DECAYS}, got {self.lr_decay!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"federated strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.rounds < 1 or self.local_epochs < 1:
            raise ValueError(
                f"federated.rounds and federated.local_epochs must be >= 1 ({self.rounds}, {self.local_epochs})"
            )

    def local_settings(self, server_round: int = 1) -> dict[str, Any]:
        """The utility recipe with the local epochs of one round; with ``lr_decay`` cosine, the
        round's learning rate is the recipe's scaled by 0.5 (1 + cos(pi (round - 1) / rounds)), so
        the rounds anneal as the centralised F_u's epochs do (a local cosine still runs inside the round)."""
        out = {**self.train, "epochs": self.local_epochs}
        if self.lr_decay == "cosine" and "lr" in out:
            out["lr"] = float(out["lr"]) * 0.5 * (1.0 + math.cos(math.pi * (server_round - 1) / self.rounds))
        return out

    def to_run_config(self) -> dict[str, Any]:
        """Flat Flower run config (TOML scalars): ``train.lr`` -> ``train-lr``, ``local_epochs`` -> ``local-epochs``."""
        flat = {k.replace("_", "-"): v for k, v in asdict(self).items() if k != "train"}
        flat.update({f"train-{k.replace('_', '-')}": v for k, v in self.train.items() if v is not None})
        return flat

    @classmethod
    def from_run_config(cls, cfg: dict[str, Any]) -> FedSettings:
        """Inverse of :meth:`to_run_config` (unknown keys such as ``out-dir`` are ignored); a missing
        key raises :class:`ValueError` naming it."""
        names = {f.name for f in fields(cls)} - {"train"}
        kwargs = {k.replace("-", "_"): v for k, v in cfg.items() if k.replace("-", "_") in names}
        missing = sorted(n.replace("_", "-") for n in names - set(kwargs))
        if missing:
            raise ValueError(f"the federated run config lacks {', '.join(missing)}")
        train = {k[len("train-") :].replace("-", "_"): v for k, v in cfg.items() if k.startswith("train-")}
        return cls(train=train, **kwargs)

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        strategy: str | None = None,
        seed: int | None = None,
        device: str | None = None,
    ) -> FedSettings:
        """The settings of a workflow config: ``models.utility`` (F_u), ``train.utility`` (its recipe),
        ``federated`` (rounds, local epochs, sites, ...), ``seed`` and ``device`` unless given, ``cpu_dtype``;
        ``strategy`` defaults to the first of ``federated.strategies``. A missing key raises naming it."""
        model, fed = config["models"]["utility"], config["federated"]
        missing = [f"models.utility.{k}" for k in MODEL_KEYS if k not in model]
        missing += [f"federated.{k}" for k in (*FED_KEYS, "strategies") if k not in fed]
        if missing:
            raise ValueError(f"the config lacks {', '.join(missing)} (federated mode)")
        return cls(
            **{k: model[k] for k in MODEL_KEYS},
            train=dict(config["train"]["utility"]),
            **{k: fed[k] for k in FED_KEYS},
            strategy=strategy or fed["strategies"][0],
            seed=int(config["seed"] if seed is None else seed),
            device=device or config["device"],
            cpu_dtype=config["cpu_dtype"],
        )


def site_train_dtype(s: FedSettings) -> str:
    """The dtype the sites' local trainings run in on this machine (what the metrics record as ``train_dtype``)."""
    return train_dtype(select_device(s.device), resolve_cpu_dtype(s.cpu_dtype))


def build_model(s: FedSettings, weights_file: str | None = None) -> torch.nn.Module:
    """F_u as the utility rule builds it."""
    return create_model("video", s.arch, num_classes=len(EMOTIONS), weights=weights_file, width=s.width)


def round_seed(s: FedSettings, server_round: int, site: int) -> int:
    """Seed of one site's local training in one round (distinct per site and round, reproducible)."""
    return s.seed * 1_000_003 + server_round * 1009 + site


def proximal_hooks(model: torch.nn.Module, mu: float) -> list[Any]:
    """Add mu * (w - w_global) to every parameter's gradient (FedProx); w_global = the weights now."""
    handles = []
    for p in model.parameters():
        if p.requires_grad:
            anchor = p.detach().clone()
            handles.append(p.register_hook(lambda g, p=p, a=anchor: g + mu * (p.detach() - a)))
    return handles


@contextmanager
def proximal(model: torch.nn.Module, mu: float) -> Iterator[None]:
    """FedProx's proximal term on ``model``'s gradients inside the block (:func:`proximal_hooks`; none
    when ``mu`` is 0), removed on leaving it."""
    handles = proximal_hooks(model, mu) if mu > 0 else []
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def local_train(
    model: torch.nn.Module,
    data: SiteData,
    s: FedSettings,
    server_round: int,
    mu: float,
    device: torch.device,
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """Train ``model`` (holding the global weights) on the site's train clips for the local epochs."""
    dataset = ClipDataset(data.train, data.train_labels, augment=s.augment)
    with proximal(model, mu):
        run = Run(
            device,
            round_seed(s, server_round, data.site),
            None,
            log,
            f"site {data.site} round {server_round}",
            cpu_dtype=resolve_cpu_dtype(s.cpu_dtype),
        )
        result = fit_classifier(model, dataset, s.local_settings(server_round), run)
    last = result.history[-1]
    return {
        "train-loss": float(last["ce_loss"]),
        "train-acc": float(last["acc"]),
        "num-examples": len(dataset),
    }


def evaluate_site(model: torch.nn.Module, data: SiteData, device: torch.device) -> dict[str, float]:
    """Test counts of the global model on the site's test clips: correct, n, and per emotion."""
    pred, true = predict_labels(model, ClipDataset(data.test, data.test_labels), device, 16)
    out: dict[str, float] = {
        "site": data.site,
        "correct": int((pred == true).sum()),
        "num-examples": len(true),
    }
    for c, name in enumerate(EMOTIONS):
        out[f"correct-{name}"] = int(((pred == true) & (true == c)).sum())
        out[f"n-{name}"] = int((true == c).sum())
    return out


@dataclass(frozen=True)
class GlobalTest:
    """The whole test split in index row order (clips [N, T, H, W, 3], emotion labels), on which the
    final global model is tested as the centralised F_u is (workflow_scripts/utility.py): ACC,
    per class and per-clip ``hits`` in the same clip order, so that Table 6 can cluster its intervals
    by actor and pair the federated F_u with the centralised one clip by clip. The workflow's
    simulation holds the test split; a deployment (``flwr run``) has none and the sites' counts stand."""

    clips: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        if len(self.clips) != len(self.labels):
            raise ValueError(f"GlobalTest: {len(self.clips)} test clips but {len(self.labels)} labels")

    def score(self, model: torch.nn.Module, device: torch.device) -> dict[str, Any]:
        """``acc``, ``correct``, ``per_class``, ``n`` and ``hits`` of ``model`` (:meth:`ClipScores.record`)."""
        return score_clips(model, ClipDataset(self.clips, self.labels), device).record(EMOTIONS)


def state_bytes(state: dict[str, torch.Tensor]) -> int:
    """Bytes of the tensors a model update carries (parameters and buffers)."""
    return int(sum(t.numel() * t.element_size() for t in state.values()))
