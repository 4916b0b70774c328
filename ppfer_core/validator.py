"""The independent validator (issue 26, item 3): the network that scores the paper's PLR column.

V_pl (``models.identity``) is the identity classifier C_lpr / C_hpr are fine-tuned from, so the
enhancers fought its relatives; a PLR read by V_pl flatters them. The independent validator shares no
weights and no training run with any network a method was trained against: it is of another
architecture *family* than V_pl and its fine-tunes (``models.identity``), the expression controller
C_fc (``models.expression``) and the attack suite's / robust adversaries' ``small_cnn`` s, it is
trained from scratch (or from a local weights file that is none of the workflow's checkpoints) on the
original train frames with its own seed (``train.validator.seed``), and it stops on a validation slice
of *train* (never test), keeping its best-validation weights.

The torch-free half (:func:`arch_family`, :class:`ValidatorSpec`, :func:`check_independent`) runs when
Snakemake parses the rules; :func:`train_validator` imports torch on call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported by the training job only, not when the workflow parses its rules
    import numpy as np
    from torch import nn

    from ppfer_core.attacks import Convergence
    from ppfer_core.training import Run, TrainSettings

ADVERSARY_ARCHS = ("small_cnn",)
"""Architectures of the networks trained here as adversaries whatever the config says: the attack
suite's scratch attacker and the robust adversaries (``ppfer_core.robust``: GroupNorm ``small_cnn`` s)."""

WORKFLOW_CHECKPOINTS = "results/models/"
"""Where the workflow writes its checkpoints (V_pl, C_lpr / C_hpr, C_fc, attackers): never the validator's
initialisation."""


def arch_family(arch: str) -> str:
    """The architecture family of a model name: a name registered in ``ppfer_core`` (``small_cnn``) is
    its own family; a timm name's family is its leading letters with a version tag (``resnet18`` and
    ``resnet50`` -> ``resnet``, ``test_resnet`` -> ``resnet``, ``mobilenetv3_small_100`` ->
    ``mobilenetv3``, ``efficientnet_b0`` -> ``efficientnet``, ``convnext_atto`` -> ``convnext``)."""
    name = arch.lower().strip()
    if name in ADVERSARY_ARCHS:
        return name
    name = name.removeprefix("test_")
    m = re.match(r"([a-z]+?(?:v\d+)?)(?=\d|_|$)", name)
    if m is None:
        raise ValueError(f"cannot tell the architecture family of model name {arch!r}")
    return m.group(1)


def related(a: str, b: str) -> bool:
    """Two families are related when one's name holds the other's (``seresnet`` / ``resnetv2`` are
    ResNets): the validator must be of neither."""
    return a in b or b in a


@dataclass(frozen=True)
class ValidatorSpec:
    """``models.validator`` (``arch``: a timm name, ``weights``: a local file or None) with the archs
    it must differ from: V_pl's (``models.identity``, also C_lpr / C_hpr's) and the other networks a
    method is trained against or attacked by (C_fc's ``models.expression``, :data:`ADVERSARY_ARCHS`)."""

    arch: str
    weights: str | None
    identity_arch: str
    identity_weights: str | None
    other_archs: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ValidatorSpec:
        models = config["models"]
        if "validator" not in models:
            raise KeyError("config lacks models.validator (the independent validator of the PLR column)")
        v, ident = models["validator"], models["identity"]
        return cls(
            str(v["arch"]),
            v.get("weights"),
            str(ident["arch"]),
            ident.get("weights"),
            (str(models["expression"]["arch"]), *ADVERSARY_ARCHS),
        )

    def problems(self) -> list[str]:
        """Every way this validator would share an architecture or weights with a network a method was
        trained against (empty: independent)."""
        own = arch_family(self.arch)
        out = []
        for key, arch in (("models.identity (V_pl, C_lpr, C_hpr)", self.identity_arch),) + tuple(
            ("models.expression (C_fc) / the adversaries", a) for a in self.other_archs
        ):
            if related(arch_family(arch), own):
                out.append(
                    f"models.validator.arch {self.arch!r} is of the {own!r} family, as {key}' {arch!r}"
                )
        w = self.weights
        if w:
            if self.identity_weights and _same_file(w, self.identity_weights):
                out.append(
                    f"models.validator.weights {w!r} is models.identity.weights (V_pl's initialisation)"
                )
            if WORKFLOW_CHECKPOINTS in w.replace("\\", "/") or w.replace("\\", "/").startswith(
                "results/models"
            ):
                out.append(
                    f"models.validator.weights {w!r} is a workflow checkpoint (V_pl, a controller or an "
                    "attacker): the validator must not start from a network a method was trained against"
                )
        return out


def _same_file(a: str, b: str) -> bool:
    from pathlib import Path

    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def check_independent(config: Mapping[str, Any]) -> ValidatorSpec:
    """Parse-time check of ``models.validator``: raise ValueError naming every shared architecture
    family or initialisation (:meth:`ValidatorSpec.problems`); returns the spec."""
    spec = ValidatorSpec.from_config(config)
    problems = spec.problems()
    if problems:
        raise ValueError(
            "models.validator is not independent of the networks the methods were trained against: "
            + "; ".join(problems)
            + " (pick a timm model of another family, e.g. mobilenetv3_small_100, and weights null or a local file)"
        )
    return spec


def _pattern(path: str) -> re.Pattern[str]:
    """A rule output (Snakemake ``{wildcard}`` pattern) as a regular expression of the paths it makes."""
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("[^/]+".join(re.escape(x) for x in parts) + r"\Z")


def checkpoint_inputs(rules: Mapping[str, tuple[Sequence, Sequence]], rule: str) -> list[str]:
    """The inputs of ``rule`` (paths; input functions skipped) that some *other* rule writes under
    ``models/`` (V_pl, the controllers C_lpr / C_hpr, C_fc, the enhancers, attackers...); ``rules``:
    rule name -> (inputs, outputs), as the Snakefile's wiring checks get them."""
    if rule not in rules:
        raise KeyError(f"no rule {rule!r} in the workflow")
    models = [
        _pattern(str(o))
        for name, (_, outs) in rules.items()
        if name != rule
        for o in outs
        if "/models/" in str(o)
    ]
    inputs = [i for i in rules[rule][0] if isinstance(i, str)]
    return sorted({i for i in inputs if any(m.match(i) for m in models)})


def check_validator_inputs(
    rules: Mapping[str, tuple[Sequence, Sequence]], rule: str = "train_validator"
) -> None:
    """Raise naming every checkpoint of the workflow that the independent validator's training rule
    reads (:func:`checkpoint_inputs`): it must share no weights with a network a method was trained against."""
    bad = checkpoint_inputs(rules, rule)
    if bad:
        raise ValueError(
            f"rule {rule} reads {', '.join(bad)}: the independent validator must not start from, or be "
            "trained with, a checkpoint of the workflow (V_pl, a controller, an attacker)"
        )


# --------------------------------------------------------------------------------------------- training


def train_validator(
    model: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    settings: TrainSettings | Mapping[str, Any],
    conv: Convergence,
    run: Run,
) -> dict[str, Any]:
    """Train the independent validator on the original train frames ``train`` = (clips, identities)
    minus a validation slice of them (flip / shift augmentation, full passes, reduce-on-plateau, stop on
    the slice's plateau: :func:`ppfer_core.attacks.fit_attacker`, the one training loop), keep its
    best-validation weights, and report its identity accuracy over every frame of the ``test`` clips
    (``test_acc``, percent, as V_pl's) with its training record."""
    from ppfer_core.arrays import FlipShiftFrames
    from ppfer_core.attacks import TrainSplit, fit_attacker, frame_logits, validation_scores

    clips, ids = train
    split = TrainSplit.of(clips, ids, conv, run.seed)

    def evaluate() -> dict[str, float | int] | None:
        if not len(split.val):
            return None
        return validation_scores(frame_logits(model, split.val, run.device), split.val_ids, run.seed)

    per_clip = 1 if conv.frames == "one" else None
    record = fit_attacker(
        model, FlipShiftFrames(split.fit, split.fit_ids, conv.shift, per_clip), evaluate, settings, conv, run
    )
    logits = frame_logits(model, test[0], run.device)
    acc = 100.0 * float((logits.argmax(-1) == test[1][:, None]).mean())
    return {"test_acc": acc, **record.summary(), **split.sizes()}
