"""The experiment's plan: config/design.yaml and the config expanded once, before any rule file is
read, into every representation (with its producer rule and model files), every table's rows and
the run's final outputs (:class:`Plan`, :func:`build_plan`).

Standard library only (with :mod:`ppfer_core.suite`, also standard library at import): Snakemake
builds the plan when it parses the Snakefile (rules/common.smk), without numpy, pandas or torch.
Every name the design sheet uses is checked here, so a misspelt approach or representation fails at
parse time naming it and the valid ones, before any job runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ppfer_core.design_checks import check_names, check_plan
from ppfer_core.families import (  # noqa: F401 (re-exported: the plan's config-made representations)
    BOTTLENECK_DEFAULT,
    ROBUST_DEFAULT,
    SWEEP_FACTORS,
    BottleneckPoint,
    RobustPoint,
    Table6Row,
    blur_match_reps,
    blur_sweep,
    bottleneck_points,
    compensated_name,
    robust_variants,
    table6_rows,
)
from ppfer_core.suite import ATTACKERS, SUITE_INDEX, Attacker, suite_files

RES = "results"
OPEN = "open-"  # representations of the open-set split (rules/openset.smk)
SPLITS = ("train", "test")
PARTS = ("enhancer_low", "enhancer_high", "compensator", "utility")  # an anonymiser method's checkpoints

Row = tuple[str, str]  # (approach, representation)
ROBUST_SWEEP_OUTPUTS = (f"{RES}/tables/robust_sweep.csv", f"{RES}/report/robust_sweep.png")
BOTTLENECK_SWEEP_OUTPUTS = (f"{RES}/tables/bottleneck_sweep.csv", f"{RES}/report/bottleneck_sweep.png")
BUNDLE = f"{RES}/models/anonymizer.pt"  # the anonymiser's model bundle (rules/anonymize.smk)
# anonymize.methods may also name the real-face bottleneck: a basis and a template face, no checkpoints
BOTTLENECK_METHOD = "bottleneck"
BOTTLENECK_BASIS = f"{RES}/models/bottleneck/basis.npz"


def anonymizer_k(config: Mapping[str, Any]) -> int:
    """The basis size ``ppfer anonymize --method bottleneck`` packs: anonymize.bottleneck_k, else bottleneck.k."""
    return int(config["anonymize"].get("bottleneck_k") or config["bottleneck"]["k"])


def anonymizer_basis(config: Mapping[str, Any]) -> str:
    """Its basis: Table 1's (rule fit_basis) at bottleneck.k, else rule fit_basis_k's at that size."""
    k, table1_k = anonymizer_k(config), int(config["bottleneck"]["k"])
    return BOTTLENECK_BASIS if k == table1_k else f"{RES}/models/bottleneck/k{k}/basis.npz"


REINJECTION = f"{RES}/tables/reinjection.csv"  # plr_worst before and after F_fc (rule reinjection)


def rep_pattern(reps: Sequence[str]) -> str:
    """A regular expression matching exactly the names ``reps`` (a ``{rep}`` wildcard constraint; none:
    a pattern that matches nothing)."""
    return "|".join(re.escape(rep) for rep in reps) or "(?!)"


# ------------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Compensation:
    """A feature-compensated representation: ``input`` through F_fc with ``loss``; an MSE
    compensator's ``target`` (None: the originals of the input's split family)."""

    input: str
    loss: str
    target: str | None = None


@dataclass(frozen=True)
class Coding:
    """Where a representation made from a low-dimensional code only (issue 27's bottleneck) has that
    code: ``codes``, results/{codes}/{split}.npy (per clip a [T, k] sequence), and the representation's
    input it computes the code from (``inputs``, results/{inputs}/{split}.npy: the estimated landmarks).
    The output is a function of the code, so the attackers on the code are attackers of the
    representation (counted in plr_worst); the attacker on the inputs is reported beside it.
    ``metrics``: results/{metrics}, the coding's own figures (e.g. the estimator's test error), a final
    output of the run. ``basis``: results/{basis}, the expression basis the code is on (rule attack_codes
    scores the code's error on it; None: no such figures)."""

    codes: str
    inputs: str
    metrics: str
    basis: str | None = None

    def files(self, split: str) -> dict[str, str]:
        """The code and input arrays of a split: ``codes`` and ``inputs`` -> path."""
        return {"codes": f"{RES}/{self.codes}/{split}.npy", "inputs": f"{RES}/{self.inputs}/{split}.npy"}

    def basis_file(self) -> str:
        """The basis file (results/{basis}); ValueError for a coding without one."""
        if not self.basis:
            raise ValueError(f"coding of {self.codes}: no basis (config/design.yaml coding.basis)")
        return f"{RES}/{self.basis}"


@dataclass(frozen=True)
class Representation:
    """One representation: the rule that writes results/reps/{name}/{split}.npy, and what it is made of
    (``compensate``; ``enhancers``: its privacy enhancers' checkpoints, band -> path; ``applies``: the
    method whose trained models it applies to another split; ``coding``: the code it is a function of,
    :class:`Coding`, which a compensated representation takes from its input)."""

    name: str
    producer: str
    compensate: Compensation | None = None
    enhancers: Mapping[str, str] = field(default_factory=dict)
    applies: str | None = None
    coding: Coding | None = None


@dataclass(frozen=True)
class FrameRow:
    """A fixed row of the report's frame grid: its label and representation."""

    label: str
    representation: str


@dataclass(frozen=True)
class Reinjection:
    """A Table 1 row whose representation is a method (F_fc on enhanced frames): its approach, the
    enhanced frames F_fc reads (``before``, e.g. G) and its output (``after``, e.g. ours), the pair
    results/tables/reinjection.csv compares to tell whether F_fc re-injects identity."""

    approach: str
    before: str
    after: str


@dataclass(frozen=True)
class Plan:
    """Everything the rules read from the design and the config (see :func:`build_plan`)."""

    representations: Mapping[str, Representation]
    blur_sweep: Mapping[str, float]
    matched: tuple[str, ...]
    table1: tuple[Row, ...]
    table2: tuple[Row, ...]
    table3: tuple[str, ...]
    table4: tuple[Mapping[str, Any], ...]
    table5: tuple[Row, ...]
    table5_method: str
    table5_reference: str
    paired_tests: Mapping[str, Any]
    table6: tuple[Table6Row, ...]
    frame_grid: tuple[FrameRow, ...]
    robust_points: Mapping[str, RobustPoint]
    robust_sweep: bool
    levels: tuple[int, ...]
    anonymizer: tuple[str, ...]
    attackers: tuple[Attacker, ...] = ATTACKERS
    bottleneck_points: Mapping[str, BottleneckPoint] = field(default_factory=dict)
    bottleneck_sweep: bool = False

    # ---------------------------------------------------------------- representations by role
    @property
    def table1_reps(self) -> list[str]:
        """Representations scored for Table 1: its rows' (blur placeholders aside) and the blur sweep."""
        return [rep for _, rep in self.table1 if rep not in self.matched] + list(self.blur_sweep)

    @property
    def threat_reps(self) -> list[str]:
        """Table 3's representations known before any job: its approaches' but the matched blur rows',
        whose sigmas the checkpoint ``blur_match`` picks (the recovery attack runs on those two only)."""
        return [rep for name, rep in self.table1 if name in self.table3 and rep not in self.matched]

    @property
    def recovered_reps(self) -> list[str]:
        """Representations the recovery attack runs on, known before any job (:attr:`threat_reps` and
        the robust sweep's; the matched blur sigmas join them at run time): rule ``recover`` also scores
        V_pl on ``recovered-{rep}``."""
        return list(dict.fromkeys([*self.threat_reps, *self.robust_sweep_reps]))

    @property
    def ablation_reps(self) -> list[str]:
        return [t["rep"] for t in self.table4]

    @property
    def reinjection(self) -> list[Reinjection]:
        """Table 1's feature-compensated rows (:attr:`compensated`: F_fc on other frames) with the frames
        F_fc reads: Ours (G -> ours), Ours (robust) (G-robust -> ours-robust), Ours (bottleneck)
        (bottleneck-render -> bottleneck)."""
        return [
            Reinjection(name, self.representations[rep].compensate.input, rep)
            for name, rep in self.table1
            if rep in self.compensated
        ]

    @property
    def reinjection_reps(self) -> list[str]:
        """The representations of :attr:`reinjection`'s pairs, before and after F_fc."""
        return list(dict.fromkeys(r for p in self.reinjection for r in (p.before, p.after)))

    @property
    def attacked_reps(self) -> list[str]:
        """The one set of representations the attack suite runs on (one ``attack_suite`` job each, which
        also writes their leakage file and the video attacker's): every Table 1 representation (Table 3's among them, every blur sigma), every
        Table 4 task's, the enhanced frames of Table 1's methods before F_fc (:attr:`reinjection`: G,
        G-robust) and the robust sweep's. A table rule's suite inputs (:meth:`suite_inputs`) come from it."""
        return list(
            dict.fromkeys(
                [
                    *self.table1_reps,
                    *self.ablation_reps,
                    *(r.before for r in self.reinjection),
                    *self.robust_sweep_reps,
                    *self.bottleneck_sweep_reps,
                ]
            )
        )

    @property
    def frame_reps(self) -> list[str]:
        """The report's frame grid: its fixed rows, then every Table 1 representation."""
        return list(dict.fromkeys([*(r.representation for r in self.frame_grid), *self.table1_reps]))

    @property
    def robust_sweep_reps(self) -> list[str]:
        """The compensated robust variants of robust.sweep (none when the sweep is off)."""
        return [compensated_name(g) for g in self.robust_points] if self.robust_sweep else []

    @property
    def bottleneck_sweep_reps(self) -> list[str]:
        """The k-sweep's points, render + F_fc (bottleneck, bottleneck-k{K}; none when the sweep is off)."""
        return list(self.bottleneck_points) if self.bottleneck_sweep else []

    @property
    def coded(self) -> dict[str, Coding]:
        """Representations that are a function of a code (:class:`Coding`): name -> its coding."""
        return {rep: r.coding for rep, r in self.representations.items() if r.coding is not None}

    def attacker_reps(
        self, attacker: Attacker, reps: Sequence[str], recovered: Sequence[str] = ()
    ) -> list[str]:
        """The representations of ``reps`` that have records of ``attacker``: all of them, or for an
        attacker that ``needs`` a code, the coded ones (:attr:`coded`), for one that needs the recovery
        attack, :attr:`recovered_reps` and ``recovered`` (the blur sigmas matched at run time)."""
        having = {"coding": self.coded, "recovery": [*self.recovered_reps, *recovered]}
        if attacker.needs is None:
            return list(reps)
        if attacker.needs not in having:
            raise ValueError(
                f"attacker {attacker.name!r} needs {attacker.needs!r}: the plan knows {', '.join(having)}"
            )
        return [rep for rep in reps if rep in having[attacker.needs]]

    @property
    def compensated(self) -> dict[str, tuple[str, str]]:
        """Feature-compensated representations: name -> (input representation, compensator loss)."""
        return {
            rep: (r.compensate.input, r.compensate.loss)
            for rep, r in self.representations.items()
            if r.compensate is not None
        }

    @property
    def compensation_target(self) -> dict[str, str]:
        """The MSE target of a compensated representation where it is not its family's originals."""
        return {
            rep: r.compensate.target
            for rep, r in self.representations.items()
            if r.compensate is not None and r.compensate.target is not None
        }

    # ---------------------------------------------------------------- files
    def band_files(self, split: str) -> list[str]:
        """Wavelet band files of a split of the main corpus."""
        return [f"{RES}/wavelet/{split}/low.npy"] + [
            f"{RES}/wavelet/{split}/high_{k}.npy" for k in self.levels
        ]

    def method_parts(self, rep: str) -> dict[str, str]:
        """The checkpoints of a method (a compensated representation of enhanced frames), by part
        (:data:`PARTS`): its input's enhancers, its compensator and its F_u."""
        r = self.representations.get(rep)
        source = self.representations.get(r.compensate.input) if r and r.compensate else None
        if source is None or not source.enhancers:
            raise ValueError(
                f"{rep!r} is no method (a compensated representation of enhanced frames); "
                f"methods: {', '.join(self.methods)}"
            )
        return {
            "enhancer_low": source.enhancers["low"],
            "enhancer_high": source.enhancers["high"],
            "compensator": f"{RES}/models/compensator/{rep}.pt",
            "utility": f"{RES}/models/utility/{rep}.pt",
        }

    @property
    def methods(self) -> list[str]:
        """Representations that are methods (:meth:`method_parts`): what an anonymiser bundle can hold."""
        return [
            rep
            for rep, r in self.representations.items()
            if r.compensate and self.representations.get(r.compensate.input, Representation("", "")).enhancers
        ]

    def suite_inputs(
        self, reps: Sequence[str], recovered: Sequence[str] = (), selectable: bool = False
    ) -> dict[str, list[str] | str]:
        """The attack suite's metric files of ``reps`` by kind (a table rule's inputs, read by
        :func:`ppfer_core.suite.read_suite`), and the index whose test actors cluster its intervals
        (input :data:`ppfer_core.suite.SUITE_INDEX`). Every rep must be one of :attr:`attacked_reps`.
        ``recovered``: representations the recovery attack ran on beyond :attr:`recovered_reps` (the
        matched blur sigmas); ``selectable``: only the kinds of attackers ``plr_worst`` may choose."""
        attacked = self.attacked_reps
        if outside := [rep for rep in reps if rep not in attacked]:
            raise ValueError(
                f"the attack suite does not run on {', '.join(map(repr, outside))}: the plan's attacked "
                f"representations (ppfer_core.design.Plan.attacked_reps) are {', '.join(attacked)}"
            )
        attackers = [a for a in self.attackers if a.selectable or not selectable]
        kinds = {a.kind: a for a in attackers}
        return {
            **{
                kind: [pattern.format(rep=rep) for rep in self.attacker_reps(kinds[kind], reps, recovered)]
                for kind, pattern in suite_files(tuple(attackers)).items()
            },
            SUITE_INDEX: f"{RES}/data/cremad/index.parquet",
        }

    def final_outputs(self) -> list[str]:
        """The run's targets (rule all): every table, the report, the indices, the bands, the bundle, the
        codings' own metrics."""
        return [
            *(f"{RES}/tables/table{k}.csv" for k in (1, 2, 4, 3, 5)),
            f"{RES}/report/runtime.csv",
            f"{RES}/data/cremad/index.parquet",
            f"{RES}/data/dfew/index.parquet",
            *self.band_files("train"),
            *self.band_files("test"),
            *(ROBUST_SWEEP_OUTPUTS if self.robust_sweep else ()),
            *(BOTTLENECK_SWEEP_OUTPUTS if self.bottleneck_sweep else ()),
            f"{RES}/tables/table6.csv",
            f"{RES}/tables/paired_tests.csv",
            REINJECTION,
            BUNDLE,
            *dict.fromkeys(f"{RES}/{c.metrics}" for c in self.coded.values()),
        ]

    def report_inputs(self) -> list[str]:
        """The final outputs the report rule waits for (all but its own): its run time covers the run."""
        return [f for f in self.final_outputs() if not f.startswith(f"{RES}/report/")]


# ------------------------------------------------------------------------------ building and checking


def _representation(name: str, spec: Mapping[str, Any]) -> Representation:
    comp = spec.get("compensate")
    coding = spec.get("coding")
    return Representation(
        name,
        spec["producer"],
        Compensation(comp["input"], comp["loss"], comp.get("target")) if comp else None,
        {band: f"{RES}/models/{path}" for band, path in spec.get("enhancers", {}).items()},
        spec.get("applies"),
        Coding(coding["codes"], coding["inputs"], coding["metrics"], coding.get("basis")) if coding else None,
    )


def inherit_codings(reps: Mapping[str, Representation]) -> dict[str, Representation]:
    """``reps`` with every compensated representation of a coded input coded by its input's code
    (F_fc reads only its input, so its output is a function of the same code), along chains."""
    out = dict(reps)
    changed = True
    while changed:
        changed = False
        for name, r in out.items():
            source = out.get(r.compensate.input) if r.compensate else None
            if r.coding is None and source is not None and source.coding is not None:
                out[name] = replace(r, coding=source.coding)
                changed = True
    return out


def representations(
    design: Mapping[str, Any],
    robust_points: Mapping[str, RobustPoint],
    bottleneck: Mapping[str, BottleneckPoint] | None = None,
) -> dict[str, Representation]:
    """The design sheet's representations, then the robust variants the config asks for (G-robust*,
    rule train_robust, and their compensated ours-robust*) and the bottleneck's k-sweep points but the
    sheet's (bottleneck-render-k{K}, rule render_bottleneck_k, and their compensated bottleneck-k{K})."""
    reps = {name: _representation(name, spec) for name, spec in design["representations"].items()}
    for pt in (bottleneck or {}).values():
        if pt.rep != BOTTLENECK_DEFAULT:
            spec = {"producer": "render_bottleneck_k", "coding": pt.coding}
            reps[pt.render] = _representation(pt.render, spec)
            reps[pt.rep] = Representation(pt.rep, "train_compensator", Compensation(pt.render, "ce"))
    for g in robust_points:
        enhancers = {band: f"{RES}/models/robust/{g}/enhancer_{band}.pt" for band in ("low", "high")}
        reps[g] = Representation(g, "train_robust", enhancers=enhancers)
    for g in robust_points:
        reps[compensated_name(g)] = Representation(
            compensated_name(g), "train_compensator", Compensation(g, "ce")
        )
    return inherit_codings(reps)


def design_rows(rows: Sequence[Mapping[str, Any]], sweep: Mapping[str, float]) -> tuple[Row, ...]:
    """(approach, representation) rows of a table of the design; a per_blur_sigma row stands for one
    row per sigma of the blur sweep (its {rep} and {sigma} filled in)."""
    out: list[Row] = []
    for r in rows:
        if not r.get("per_blur_sigma", False):
            out.append((r["approach"], r["representation"]))
            continue
        for rep, sigma in sweep.items():
            fill = dict(rep=rep, sigma=sigma)
            out.append((r["approach"].format(**fill), r["representation"].format(**fill)))
    return tuple(out)


def build_plan(design: Mapping[str, Any], config: Mapping[str, Any]) -> Plan:
    """The plan of a run: the design sheet (validated by schemas/design.schema.yaml) expanded with the
    config's blur sweep, robust variants, bottleneck k-sweep and wavelet levels, and checked (:func:`check_plan`).
    ``config["anonymize"]["methods"]`` must name methods (:attr:`Plan.methods`)."""
    sweep = blur_sweep(config["baselines"]["blur"]["sigmas"], config["ingest"]["size"])
    robust_points = robust_variants(config["robust"])
    k_points = bottleneck_points(config["bottleneck"])
    table1 = design_rows(design["table1"], sweep)
    table6_reps = [e for e in design["table6"] if isinstance(e, str)]
    plan = Plan(
        representations=representations(design, robust_points, k_points),
        blur_sweep=sweep,
        matched=tuple(design["blur_matched"]),
        table1=table1,
        table2=design_rows(design["table2"], sweep),
        table3=tuple(design["table3"]),
        table4=tuple(design["table4"]),
        table5=design_rows(design["table5"], sweep),
        table5_method=design["table5_method"],
        table5_reference=design["table5_reference"],
        paired_tests={
            "reference": design["paired_tests"]["reference"],
            "with": list(design["paired_tests"]["with"]),
        },
        table6=table6_rows(design["table6"], table1),
        frame_grid=tuple(FrameRow(r["label"], r["representation"]) for r in design["frame_grid"]),
        robust_points=robust_points,
        robust_sweep=bool(config["robust"]["sweep"]["enabled"]),
        levels=tuple(range(1, config["wavelet"]["level"] + 1)),
        anonymizer=tuple(config["anonymize"]["methods"]),
        bottleneck_points=k_points,
        bottleneck_sweep=bool((config["bottleneck"].get("sweep") or {}).get("enabled", False)),
    )
    check_plan(plan)
    # Table 6 names Table 1 representations, or rows of its own of known representations
    check_names("table6", "Table 1 representation", table6_reps, [r for _, r in table1])
    own = [e[k] for e in design["table6"] if not isinstance(e, str) for k in ("representation", "central")]
    check_names("table6", "representation", own, list(plan.representations))
    if unknown := [m for m in plan.anonymizer if m not in [*plan.methods, BOTTLENECK_METHOD]]:
        raise ValueError(
            f"config key anonymize.methods: unknown method {', '.join(map(repr, unknown))} "
            f"(known: {', '.join([*plan.methods, BOTTLENECK_METHOD])})"
        )
    return plan
