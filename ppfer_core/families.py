"""The representations that come from config.yaml rather than from the design sheet (part of the
plan, :mod:`ppfer_core.design`): the blur sweep (``blur-s{px}``), the robust variants
(``G-robust*``, compensated to ``ours-robust*``) and the bottleneck's k-sweep (``bottleneck-render-k{K}``,
compensated to ``bottleneck-k{K}``). Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

ROBUST_DEFAULT = "G-robust"  # "Ours (robust)" at robust.* as configured: the Table 1 row, the sweep's centre


def blur_sweep(fractions: Sequence[float], size: Sequence[int]) -> dict[str, float]:
    """The blur sweep at a frame size: representation name -> sigma in px, each sigma a fraction
    of the frame's shorter side (so the sweep scales with the frame: 0.0625 is 4 px at 64 px and
    7 px at 112 px), rounded to 0.01 px. Two fractions that round to one sigma are an error.
    Names as ppfer_core.baselines.blur_rep: ``blur-s2``, ``blur-s0.5``."""
    side = min(int(v) for v in size)
    sweep: dict[str, float] = {}
    for f in fractions:
        if not 0 < f < 1:
            raise ValueError(f"baselines.blur.sigmas: {f} is not a fraction of the frame side in (0, 1)")
        px = round(float(f) * side, 2)
        if f"blur-s{px:g}" in sweep:
            raise ValueError(
                f"baselines.blur.sigmas: {f} gives {px:g} px at {side} px, as another sigma does"
            )
        sweep[f"blur-s{px:g}"] = px
    return sweep


BLUR_REFERENCE = "ours"
"""The representation the blur rows are matched to (Ours)."""


def blur_match_reps(blur_sweep: Sequence[str]) -> list[str]:
    """The representations the blur matching reads, Ours and the blur sweep: their validation figures
    (Blur 1's PLR figure, and F_u's ``val_acc`` for Blur 2: a sibling F_u trained on the train clips
    outside ``utility.val_fraction``'s slice). Rule ``utility`` trains that sibling for these only
    (issue 30: nothing else reads it)."""
    return list(dict.fromkeys([BLUR_REFERENCE, *blur_sweep]))


@dataclass(frozen=True)
class RobustPoint:
    """One "Ours (robust)" training: its L1 anchor weight, adversary steps per enhancer step, number of
    scratch members of the ensemble and how the members' losses are aggregated (robust.l1_weight,
    robust.adversaries.steps / .scratch / .aggregate)."""

    l1_weight: float
    steps: int
    scratch: int
    aggregate: str

    def settings(self, robust: Mapping[str, Any]) -> dict[str, Any]:
        """The ``robust`` block (without ``train`` and ``sweep``, the rule's own) with this point's values."""
        own = {k: v for k, v in robust.items() if k not in ("train", "sweep")}
        adversaries = {
            **own.get("adversaries", {}),
            "steps": self.steps,
            "scratch": self.scratch,
            "aggregate": self.aggregate,
        }
        return {**own, "l1_weight": self.l1_weight, "adversaries": adversaries}


SWEEP_FACTORS = (
    ("l1_weights", "l1_weight", "l1w", float),
    ("steps", "steps", "steps", int),
    ("scratch", "scratch", "scratch", int),
    ("aggregates", "aggregate", "agg", str),
)
"""robust.sweep's lists: (sweep key, :class:`RobustPoint` field, name tag of its variants, type)."""


def robust_variants(robust: Mapping[str, Any]) -> dict[str, RobustPoint]:
    """The robust representations G-robust* the config asks for -> their :class:`RobustPoint`:
    ``G-robust`` (robust.l1_weight, adversaries.steps, .scratch and .aggregate: the Table 1 row) and,
    with robust.sweep.enabled, one factor at a time around it: ``G-robust-l1w{w}`` per L1 weight,
    ``G-robust-steps{k}`` per adversary step count, ``G-robust-scratch{m}`` per ensemble size,
    ``G-robust-agg{a}`` per aggregate (a sweep value equal to the default is the default point,
    ``G-robust``)."""
    adversaries = robust["adversaries"]
    default = RobustPoint(
        float(robust["l1_weight"]),
        int(adversaries["steps"]),
        int(adversaries["scratch"]),
        str(adversaries["aggregate"]),
    )
    points = {ROBUST_DEFAULT: default}
    sweep = robust["sweep"]
    if not sweep["enabled"]:
        return points
    for key, attr, tag, cast in SWEEP_FACTORS:
        for value in sweep.get(key, []):
            if cast(value) != getattr(default, attr):
                name = f"{cast(value):g}" if cast is not str else cast(value)
                points[f"G-robust-{tag}{name}"] = replace(default, **{attr: cast(value)})
    return points


def compensated_name(grep: str) -> str:
    """The feature-compensated representation of a robust G: G-robust... -> ours-robust..."""
    if not grep.startswith("G-robust"):
        raise ValueError(f"not a robust G representation: {grep!r}")
    return f"ours{grep[1:]}"


BOTTLENECK_DEFAULT = "bottleneck"  # "Ours (bottleneck)" at bottleneck.k: the Table 1 row, a k-sweep point


@dataclass(frozen=True)
class BottleneckPoint:
    """One "Ours (bottleneck)" at basis size ``k``: its compensated representation ``rep`` (render + F_fc)
    and its renders ``render``; ``tag``: the folder of its own basis, codes and estimator (``k{K}``; ""
    for the default point, whose files are the rules of rules/bottleneck.smk's)."""

    k: int
    rep: str
    render: str
    tag: str

    @property
    def coding(self) -> dict[str, str]:
        """Its design-sheet ``coding`` (paths under results/); the coding's figures are in the compensated
        representation's attack_codes file (one job per sweep point)."""
        return {
            "codes": f"bottleneck/{self.tag}/codes",
            "inputs": f"bottleneck/{self.tag}/estimates",
            "metrics": f"metrics/attacks/codes/{self.rep}.json",
            "basis": f"models/bottleneck/{self.tag}/basis.npz",
        }


def bottleneck_points(bottleneck: Mapping[str, Any]) -> dict[str, BottleneckPoint]:
    """The bottleneck representations the config asks for (compensated name -> :class:`BottleneckPoint`):
    ``bottleneck`` (bottleneck.k, the Table 1 row) and, with bottleneck.sweep.enabled, ``bottleneck-k{K}``
    per other K of bottleneck.sweep.ks (a K equal to bottleneck.k is the default point)."""
    default = int(bottleneck["k"])
    points = {
        BOTTLENECK_DEFAULT: BottleneckPoint(default, BOTTLENECK_DEFAULT, f"{BOTTLENECK_DEFAULT}-render", "")
    }
    sweep = bottleneck.get("sweep") or {"enabled": False}
    for k in map(int, sweep.get("ks", []) if sweep["enabled"] else []):
        if k < 1:
            raise ValueError(f"bottleneck.sweep.ks: {k} is no basis size (>= 1)")
        if k != default:
            rep = f"{BOTTLENECK_DEFAULT}-k{k}"
            points[rep] = BottleneckPoint(k, rep, f"{BOTTLENECK_DEFAULT}-render-k{k}", f"k{k}")
    return points


@dataclass(frozen=True)
class Table6Row:
    """A row of Table 6: F_u trained by FedAvg on ``rep`` against the centralised F_u on ``central``
    (Table 1's rows: the same representation; a federated pipeline's: the centralised one it stands for)."""

    approach: str
    rep: str
    central: str


def table6_rows(entries: Sequence[Any], table1: Sequence[tuple[str, str]]) -> tuple[Table6Row, ...]:
    """The sheet's ``table6``: a representation stands for its Table 1 rows, a mapping for a row of its own."""
    out: list[Table6Row] = []
    for e in entries:
        if isinstance(e, str):
            out += [Table6Row(name, rep, rep) for name, rep in table1 if rep == e]
        else:
            out.append(Table6Row(e["approach"], e["representation"], e["central"]))
    return tuple(out)
