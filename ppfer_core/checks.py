"""Planning-time checks of the workflow's wiring (no torch import: they run in every Snakemake start)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

REPS_DIR = "/reps/"
ATTACKS = ("/reps/recovered-",)  # the recovery attack's outputs (Table 3) are not methods


def methods_trained_against(rules: Mapping[str, tuple[Sequence, Sequence]], validator: str) -> list[str]:
    """Rules that produce a method's representation (an output under ``results/reps/``, other than
    a recovery attack's) and take ``validator``'s weights as an input (as a controller, adversary
    or initialisation). ``rules``: rule name -> (inputs, outputs); input functions are skipped."""
    bad = []
    for name, (inputs, outputs) in rules.items():
        produces = any(REPS_DIR in str(o) and not any(a in str(o) for a in ATTACKS) for o in outputs)
        if produces and any(isinstance(i, str) and i == validator for i in inputs):
            bad.append(name)
    return sorted(bad)


def check_not_trained_against_validator(rules: Mapping[str, tuple[Sequence, Sequence]], validator: str) -> None:
    """Raise naming every method that is trained against the validator that scores its PLR."""
    bad = methods_trained_against(rules, validator)
    if bad:
        raise ValueError(
            f"rules {', '.join(bad)} produce a representation from {validator}, the validator V_pl that scores "
            "their PLR: give them their own controller (e.g. one fine-tuned from V_pl, as train_controller)"
        )
