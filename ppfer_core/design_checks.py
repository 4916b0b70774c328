"""The plan's name checks (:func:`check_plan`): every name config/design.yaml uses refers to something
it defines, so a misspelt approach or representation fails at parse time naming it and the valid ones.
Standard library only, as :mod:`ppfer_core.design`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ppfer_core.design import Plan


def check_names(where: str, kind: str, names: Sequence[str], valid: Sequence[str]) -> None:
    """Raise naming every name of ``names`` that is not in ``valid``, and the valid ones."""
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(
            f"config/design.yaml {where}: unknown {kind} {', '.join(map(repr, unknown))} "
            f"(valid: {', '.join(map(repr, dict.fromkeys(valid)))})"
        )


def check_plan(plan: Plan) -> None:
    """Every name the design sheet uses refers to something it defines: Table 3's approaches are
    Table 1's, Table 5's method and reference its own rows, every table's representation a known one."""
    from ppfer_core.design import OPEN

    approaches = [a for a, _ in plan.table1]
    check_names("table3", "Table 1 approach", plan.table3, approaches)
    paired = [plan.paired_tests["reference"], *plan.paired_tests["with"]]
    check_names("paired_tests", "Table 1 approach", paired, approaches)
    check_names(
        "table5_method / table5_reference",
        "Table 5 approach",
        [plan.table5_method, plan.table5_reference],
        [a for a, _ in plan.table5],
    )
    known = [*plan.representations, *plan.blur_sweep, *(OPEN + r for r in plan.blur_sweep)]
    check_names("table1", "representation", [r for _, r in plan.table1 if r not in plan.matched], known)
    for where, rows in (("table2", plan.table2), ("table5", plan.table5)):
        check_names(where, "representation", [r for _, r in rows], known)
    check_names("table4", "representation", plan.ablation_reps, known)
    check_names("frame_grid", "representation", [r.representation for r in plan.frame_grid], known)
    for rep, r in plan.representations.items():
        if r.compensate is not None:
            check_names(
                f"representations.{rep}.compensate",
                "representation",
                [r.compensate.input, *filter(None, [r.compensate.target])],
                known,
            )
        if r.applies is not None:
            check_names(f"representations.{rep}.applies", "method", [r.applies], plan.methods)
