"""The attack suite's registry and worst case, torch-free (standard library at import: the workflow
plans its attack jobs from :data:`ATTACKERS` when Snakemake parses the rules, and the table rules
import it without torch or timm): every attacker (:class:`Attacker`), its leakage per representation
(:class:`Leak`), the worst attacker chosen on the validation slice of train and reported with its test
rate and actor-clustered interval (:func:`worst_case`), and the suite's columns appended to Tables 1, 3
and 4."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported by the table rules only, not when the workflow parses its rules
    from ppfer_core.stats import ActorInterval, AttackerRecord


@dataclass(frozen=True)
class Leak:
    """One attacker scoring's leakage on one representation: column name, correct test clips, test
    clips, per-clip ``hits`` (test index row order), the validation slice's counts (``val_n`` 0: none),
    the attacker's training ``status`` (None for an attacker not trained here), whether it may be
    chosen as the worst attacker (:attr:`Attacker.selectable`) and whether it attacks the
    representation at all (:attr:`Attacker.counted`)."""

    column: str
    correct: int
    n: int
    hits: tuple[int, ...] = ()
    val_correct: int = 0
    val_n: int = 0
    status: str | None = None
    selectable: bool = False
    counted: bool = True

    @property
    def rate(self) -> float:
        return 100.0 * self.correct / self.n


@dataclass(frozen=True)
class Attacker:
    """One attacker of the suite: one metrics record per representation.

    ``rule`` writes ``metrics`` (a path pattern with ``{rep}``; one job per representation), the
    metric file family ``kind`` (the name of the table rules' input holding these files). The
    attacker's record is that file, or its entry ``record`` when one job scores several attackers.
    ``column`` / ``vote_column``: its PLR columns (one random frame per clip / voting over the frames;
    None where it has no vote); ``train_acc``: the attacker is trained here and its record has its
    train accuracy and status (columns ``train_acc_{name}``, ``status_{name}``); ``selectable``: it may be
    chosen as ``plr_worst``'s attacker on the validation slice (V_pl is not: it was trained on the
    originals of those clips, so its validation figure is optimistic; nor is V_pl on the recovered
    frames, which has no validation figure). ``needs``: the attacker reads something only some
    representations have (``coding``: the code a representation is a function of,
    :class:`ppfer_core.design.Coding`; ``recovery``: the recovery attack's output, which runs on Table 3's
    methods and the blur sigmas Table 1 matched); only those have its file (the plan lists which,
    :meth:`ppfer_core.design.Plan.attacker_reps`). ``counted``: False for an attacker of the
    representation's *input* (the raw landmarks a code is computed from), reported in its column
    beside the suite but neither chosen as ``plr_worst`` nor counted in ``plr_max_test``."""

    name: str
    rule: str
    kind: str
    metrics: str
    column: str
    vote_column: str | None = None
    record: str | None = None
    train_acc: bool = False
    selectable: bool = True
    needs: str | None = None
    counted: bool = True

    def __post_init__(self) -> None:
        if self.selectable and not self.counted:
            raise ValueError(f"attacker {self.name!r}: an attacker that is not counted cannot be selectable")

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,) if self.vote_column is None else (self.column, self.vote_column)


FRAMES = "results/metrics/attacks/frames/{rep}.json"  # one of the attack_suite job's files: three attackers
CODES = "results/metrics/attacks/codes/{rep}.json"  # the attack_codes job's file (coded representations only)
ATTACKERS = (
    # V_pl, the paper's validator, scored on one random frame per clip and by voting
    Attacker(
        "validator",
        "attack_suite",
        "frames",
        FRAMES,
        "plr",
        "plr_vote",
        record="validator",
        selectable=False,
    ),
    # SPAct's adaptive attacker: an identity classifier fine-tuned on the representation
    Attacker(
        "adaptive",
        "attack_suite",
        "adaptive",
        "results/metrics/adaptive/{rep}.json",
        "plr_adaptive",
        "plr_adaptive_vote",
        train_acc=True,
    ),
    # a 4-layer CNN trained from scratch on the representation
    Attacker("scratch", "attack_suite", "frames", FRAMES, "plr_scratch", "plr_scratch_vote", "scratch", True),
    # a video identity classifier (one prediction per clip)
    Attacker(
        "clip", "attack_suite", "clip", "results/metrics/attacks/clips/{rep}.json", "plr_clip", train_acc=True
    ),
    # V_pl on the recovery attack's output (Table 3's threat model), scored by the rule that recovers
    # it; only where the recovery attack ran (Table 3's methods, the blur sigmas Table 1 matched)
    Attacker(
        "recovered",
        "recover",
        "recovered",
        "results/metrics/attacks/recovered/{rep}.json",
        "plr_recovered",
        "plr_recovered_vote",
        selectable=False,
        needs="recovery",
    ),
    # issue 27: a representation that is a function of a code (the bottleneck) leaks no more identity
    # than its code, so the attackers on the code sequences are its attackers too (one per clip)
    *(
        Attacker(
            f"code_{m}",
            "attack_codes",
            "codes",
            CODES,
            f"plr_code_{m}",
            record=m,
            train_acc=True,
            needs="coding",
        )
        for m in ("logreg", "mlp", "gru")
    ),
    # beside them, not counted: the same attackers on the landmarks the code is computed from (the input)
    Attacker(
        "landmarks",
        "attack_codes",
        "codes",
        CODES,
        "plr_landmarks",
        record="landmarks",
        selectable=False,
        needs="coding",
        counted=False,
    ),
)
"""The attack suite, in suite order (on a validation tie the worst attacker is the first). A new
attacker: an entry here, the rule that writes its metrics (with its config block), nothing else."""


SUITE_INDEX = "suite_index"
# the worst case over the attackers: chosen on validation (plr_worst, its interval, attacker and
# status), and the test maximum beside it for comparison
WORST_COLUMNS = (
    "plr_worst",
    "plr_worst_lo",
    "plr_worst_hi",
    "worst_attacker",
    "worst_status",
    "plr_max_test",
    "max_test_attacker",
)
"""Input name of the index whose test clips' actors cluster the suite's intervals (:func:`suite_actors`)."""


def suite_actors(files: Mapping[str, Any]) -> list[str]:
    """The test clips' actors in test index row order (the order of every metric file's ``hits``) from
    the index a table rule gets as input :data:`SUITE_INDEX` (with the suite's metric files)."""
    import pandas as pd

    from ppfer_core.tables import test_actors

    return test_actors(pd.read_parquet(files[SUITE_INDEX]))


def suite_files(attackers: tuple[Attacker, ...] = ATTACKERS) -> dict[str, str]:
    """The suite's metric file families: kind -> path pattern (``{rep}``), in suite order; one kind
    is one rule's file (an error if two attackers of a kind name different files)."""
    files: dict[str, str] = {}
    for a in attackers:
        if files.setdefault(a.kind, a.metrics) != a.metrics:
            raise ValueError(
                f"attackers of kind {a.kind!r} name two metric files: {files[a.kind]}, {a.metrics}"
            )
    return files


def suite_columns(attackers: tuple[Attacker, ...] = ATTACKERS) -> tuple[str, ...]:
    """Columns the suite adds to a table: every attacker's PLR columns, ``plr_worst`` (the attacker
    chosen on validation, scored on test) with its actor-clustered interval, attacker and status, the
    optimistic maximum over test (``plr_max_test``, its attacker), and ``train_acc_{name}`` /
    ``status_{name}`` of every attacker trained here."""
    return (
        *(c for a in attackers for c in a.columns),
        *WORST_COLUMNS,
        *(f"train_acc_{a.name}" for a in attackers if a.train_acc),
        *(f"status_{a.name}" for a in attackers if a.train_acc),
    )


def attacker_record(
    attacker: Attacker, metrics: Mapping[str, Mapping[str, Mapping]], rep: str
) -> Mapping | None:
    """An attacker's metrics record of one representation (None for an attacker that ``needs`` what the
    representation has not: no file of its kind)."""
    file = metrics.get(attacker.kind, {}).get(rep)
    if file is None:
        if attacker.needs is not None:
            return None
        raise KeyError(f"no {attacker.metrics.format(rep=rep)} among the suite's {attacker.kind!r} files")
    record = file if attacker.record is None else file.get(attacker.record)
    if record is None:
        raise KeyError(f"{attacker.metrics.format(rep=rep)} has no record {attacker.record!r}")
    return record


def _leak(a: Attacker, m: Mapping, column: str, vote: bool, rep: str) -> Leak:
    suffix = "_vote" if vote else ""
    if f"hits{suffix}" not in m:
        raise KeyError(f"{a.metrics.format(rep=rep)}: record {a.record or a.name!r} has no hits{suffix}")
    val_correct = m.get(f"val_correct{suffix}")
    return Leak(
        column,
        int(m[f"correct{suffix}"]),
        int(m["n"]),
        tuple(int(h) for h in m[f"hits{suffix}"]),
        0 if val_correct is None else int(val_correct),
        0 if val_correct is None else int(m.get("val_n") or 0),
        m.get("status"),
        a.selectable,
        a.counted,
    )


def suite_leaks(
    metrics: Mapping[str, Mapping[str, Mapping]], rep: str, attackers: tuple[Attacker, ...] = ATTACKERS
) -> list[Leak]:
    """Every attacker scoring's leakage of one representation from ``metrics[kind][rep]`` (:func:`read_suite`)."""
    leaks = []
    for a in attackers:
        m = attacker_record(a, metrics, rep)
        if m is not None:
            leaks.append(_leak(a, m, a.column, False, rep))
            if a.vote_column is not None:
                leaks.append(_leak(a, m, a.vote_column, True, rep))
    return leaks


def validation_records(rep: str, leaks: list[Leak]) -> list[AttackerRecord]:
    """The selectable scorings of one representation as :class:`ppfer_core.stats.AttackerRecord`
    (validation and test counts; the selection reads only the validation ones)."""
    from ppfer_core.stats import AttackerRecord

    return [
        AttackerRecord(rep, x.column, x.val_correct, x.val_n, x.correct, x.n, x.status or "")
        for x in leaks
        if x.selectable
    ]


def _chosen(rep: str, leaks: list[Leak]) -> Leak:
    from ppfer_core.stats import select_on_validation

    chosen = select_on_validation(validation_records(rep, leaks), [x.column for x in leaks])[rep]
    return next(x for x in leaks if x.column == chosen.attacker)


def worst_case(
    rep: str, leaks: list[Leak], actors: Sequence[object], interval: ActorInterval | None = None
) -> dict[str, Any]:
    """Each attacker's PLR column, and ``plr_worst``: the selectable scoring with the highest rate on
    the validation slice of train (:func:`ppfer_core.stats.select_on_validation`; ties to the first in
    suite order), reported with its *test* rate, its actor-clustered interval (``actors``: the test
    clips' actors in test index row order), its column (``worst_attacker``) and training status
    (``worst_status``: converged | budget | diverged). ``plr_max_test``: the highest test rate of all
    (chosen on test, so optimistic for the attacker; shown for comparison only; of the counted attackers)."""
    from ppfer_core.stats import ActorInterval

    worst = _chosen(rep, leaks)
    ci = (interval or ActorInterval()).of(worst.hits, actors)
    top = max((leak for leak in leaks if leak.counted), key=lambda leak: leak.rate)
    return {
        **{leak.column: round(leak.rate, 3) for leak in leaks},
        "plr_worst": round(worst.rate, 3),
        "plr_worst_lo": round(ci.lo, 3),
        "plr_worst_hi": round(ci.hi, 3),
        "worst_attacker": worst.column,
        "worst_status": worst.status,
        "plr_max_test": round(top.rate, 3),
        "max_test_attacker": top.column,
    }


def worst_on_validation(
    rep: str, metrics: Mapping[str, Mapping[str, Mapping]], attackers: tuple[Attacker, ...] = ATTACKERS
) -> tuple[str, float]:
    """``plr_worst``'s attacker column of one representation and its rate (percent) on the validation
    slice of train that chose it: the figure that involves no test clip (Gaussian Blur 1's matching)."""
    worst = _chosen(rep, suite_leaks(metrics, rep, attackers))
    return worst.column, 100.0 * worst.val_correct / worst.val_n


def worst_hits(
    rep: str, metrics: Mapping[str, Mapping[str, Mapping]], attackers: tuple[Attacker, ...] = ATTACKERS
) -> tuple[str, tuple[int, ...]]:
    """``plr_worst``'s attacker column of one representation and its per-clip test hits (paired tests)."""
    worst = _chosen(rep, suite_leaks(metrics, rep, attackers))
    return worst.column, worst.hits


SUITE_COLUMNS = suite_columns()
"""Columns the suite adds to Tables 1, 3 and 4, generated from :data:`ATTACKERS`."""


def suite_table(
    reps: list[str],
    metrics: Mapping[str, Mapping[str, Mapping]],
    actors: Sequence[object],
    attackers: tuple[Attacker, ...] = ATTACKERS,
    interval: ActorInterval | None = None,
) -> dict[str, dict[str, Any]]:
    """Per representation, the suite's columns (:func:`worst_case`) and each trained attacker's train
    accuracy (``train_acc_{name}``, its best-validation epoch's) and status (``status_{name}``), from
    ``metrics[kind][rep]`` (:func:`read_suite`)."""
    out = {}
    for rep in reps:
        row = worst_case(rep, suite_leaks(metrics, rep, attackers), actors, interval)
        for a in attackers:
            m = attacker_record(a, metrics, rep) if a.train_acc else None
            if m is not None:
                row[f"train_acc_{a.name}"] = round(100.0 * m["train_acc"], 3)
                row[f"status_{a.name}"] = m["status"]
        out[rep] = row
    return out


def read_suite(files: Mapping[str, list[str]]) -> dict[str, dict[str, Mapping]]:
    """The suite's metric files by kind and representation; ``files``: kind -> its files (a rule's
    inputs named by kind, as :func:`suite_files` names them; a kind it lacks is read as no file, so
    that a record asked of it is None for an attacker that ``needs`` it, else a KeyError naming it:
    :func:`attacker_record`)."""
    from ppfer_core.runtime import read_json

    return {
        kind: {Path(f).stem: read_json(f) for f in files[kind]} for kind in suite_files() if kind in files
    }


def append_suite_columns(
    table: Any, metrics: Mapping[str, Mapping[str, Mapping]], actors: Sequence[object]
) -> Any:
    """A table (pandas, with a ``representation`` column) with the suite's columns appended per row;
    ``actors``: the test clips' actors in test index row order (the intervals' clusters)."""
    import pandas as pd

    suite = suite_table(list(dict.fromkeys(table["representation"])), metrics, actors)
    extra = pd.DataFrame([suite[rep] for rep in table["representation"]], index=table.index)
    return pd.concat([table, extra[[c for c in extra.columns if c not in table.columns]]], axis=1)


REINJECTION_ALPHA = 0.05
"""Level of the McNemar test below which reinjection.csv reads a difference as one (``reading``)."""


def reinjection_table(
    pairs: Sequence[Any],
    metrics: Mapping[str, Mapping[str, Mapping]],
    actors: Sequence[object],
    interval: ActorInterval | None = None,
) -> Any:
    """results/tables/reinjection.csv: whether F_fc re-injects identity. One row per pair (``pairs``:
    :class:`ppfer_core.design.Reinjection`, a Table 1 method's enhanced frames ``before`` F_fc and its
    output ``after``): ``plr_worst`` of each (attacker chosen on validation, actor-clustered interval,
    attacker and status, as Table 1's :func:`suite_table`), the difference after - before and McNemar's
    test of the two chosen attackers' hits over the same test clips (:func:`ppfer_core.tables.paired_test`);
    ``reading``: ``re-injects`` / ``removes`` when p < :data:`REINJECTION_ALPHA` and after is above /
    below before, else ``no difference``."""
    import pandas as pd

    from ppfer_core.tables import Scored, paired_test

    suite = suite_table(
        list(dict.fromkeys(r for p in pairs for r in (p.before, p.after))), metrics, actors, interval=interval
    )
    rows = []
    for p in pairs:
        row: dict[str, Any] = {"approach": p.approach, "before": p.before, "after": p.after}
        scored = {}
        for side, rep in (("before", p.before), ("after", p.after)):
            s = suite[rep]
            row |= {
                f"plr_worst_{side}": s["plr_worst"],
                f"plr_worst_{side}_lo": s["plr_worst_lo"],
                f"plr_worst_{side}_hi": s["plr_worst_hi"],
                f"attacker_{side}": s["worst_attacker"],
                f"status_{side}": s["worst_status"],
            }
            attacker, hits = worst_hits(rep, metrics)
            scored[side] = Scored(rep, hits, attacker)
        t = paired_test("plr_worst", scored["before"], scored["after"])
        diff = round(row["plr_worst_after"] - row["plr_worst_before"], 3)
        significant = t["p_value"] < REINJECTION_ALPHA
        reading = (
            "no difference" if not significant or diff == 0 else ("re-injects" if diff > 0 else "removes")
        )
        row |= {
            "difference": diff,
            "only_before": t["only_a"],
            "only_after": t["only_b"],
            "p_value": t["p_value"],
            "test": t["test"],
            "reading": reading,
            "n_test": t["n_test"],
        }
        rows.append(row)
    return pd.DataFrame(rows)
