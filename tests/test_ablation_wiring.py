"""Ablation wiring (issue 12): tasks 1 and 3 train against their own frames controller, never the
validator that scores them; task 4 is reported under both readings of its MSE target."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_facts import planning

from ppfer_core.tables import add_task_column, table4

check_not_trained_against_validator = planning.check_not_trained_against_validator
methods_trained_against = planning.methods_trained_against

ROOT = Path(__file__).resolve().parents[1]
VPL = "results/models/identity.pt"


@pytest.fixture(scope="module")
def plan(tmp_path_factory) -> dict[str, list[str]]:
    """The default config's dry run: job output -> its inputs (every job of the DAG)."""
    work = tmp_path_factory.mktemp("plan")
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(work),
        "--configfile",
        str(ROOT / "config.yaml"),
        "--cores",
        "2",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    jobs = {}
    for block in re.split(r"\n(?=rule \w+:)", run.stdout):
        name = re.match(r"rule (\w+):", block)
        inp, out = re.search(r"^\s+input: (.*)$", block, re.M), re.search(r"^\s+output: (.*)$", block, re.M)
        if name and out:
            for o in out.group(1).split(", "):
                jobs[o] = (name.group(1), inp.group(1).split(", ") if inp else [])
    return jobs


def test_no_method_is_trained_against_the_validator_in_the_planned_dag(plan):
    """Every job that writes a method's representation (not a recovery attack's): V_pl is none of its inputs."""
    producers = {o: (r, i) for o, (r, i) in plan.items() if "/reps/" in o and "/reps/recovered-" not in o}
    assert {"enhance_frames", "merge_enhanced", "train_compensator", "train_joint", "train_tradeoff"} <= {
        r for r, _ in producers.values()
    }
    offenders = sorted({r for r, i in producers.values() if VPL in i})
    assert not offenders, offenders


def test_tasks_1_and_3_have_their_own_controller_fine_tuned_from_the_validator(plan):
    rule, inputs = plan["results/reps/pe-frames/train.npy"]
    assert rule == "enhance_frames" and "results/models/controller_frames.pt" in inputs
    rule, inputs = plan["results/models/controller_frames.pt"]
    assert rule == "train_controller" and VPL in inputs and "results/data/cremad/train.npy" in inputs


def test_task_4_is_the_mse_to_original_reading(plan):
    rule, inputs = plan["results/reps/G-fcmse/train.npy"]
    assert rule == "train_compensator" and "results/data/cremad/train.npy" in inputs
    _, inputs = plan["results/tables/table4.csv"]
    assert "results/metrics/leakage/G-fcmse.json" in inputs
    # issue 26: every task through the attack suite, as Table 1's rows
    for rep in ("G-fcmse", "G", "pe-frames", "joint-wavelet", "ours"):
        assert (
            f"results/metrics/adaptive/{rep}.json" in inputs
            and f"results/metrics/attacks/clips/{rep}.json" in inputs
        )
    # the MSE-to-G reading is not an experiment (F_fc learns the identity map: G's own array), so it is gone
    assert "results/reps/G-fcmse-G/train.npy" not in plan
    assert not any("G-fcmse-G" in i for i in inputs)


def test_the_reinjection_table_attacks_g_and_g_robust_before_f_fc(plan):
    rule, inputs = plan["results/tables/reinjection.csv"]
    assert rule == "reinjection"
    for rep in ("G", "ours", "G-robust", "ours-robust"):
        assert f"results/metrics/attacks/frames/{rep}.json" in inputs, rep
    assert plan["results/metrics/adaptive/G-robust.json"][0] == "attack_suite"
    # issue 30: the video attacker runs in the same job (no attack_clips job per representation)
    assert plan["results/metrics/attacks/clips/G-robust.json"][0] == "attack_suite"


def test_the_independent_validator_is_trained_from_no_checkpoint_and_scores_beside_vpl(plan):
    """Issue 26: the validator's training job reads the original frames and no checkpoint of the
    workflow (no V_pl, no controller, no attacker); every leakage job reads both the validator and V_pl."""
    rule, inputs = plan["results/models/validator.pt"]
    assert rule == "train_validator" and "results/data/cremad/train.npy" in inputs
    assert not [i for i in inputs if "/models/" in i], inputs
    rule, inputs = plan["results/metrics/leakage/ours.json"]
    assert rule.startswith("attack_suite") and {"results/models/validator.pt", VPL} <= set(inputs)
    leakage = {out: ri for out, ri in plan.items() if out.startswith("results/metrics/leakage/")}
    assert len(leakage) > 10
    for out, (rule, inputs) in leakage.items():
        assert {"results/models/validator.pt", VPL} <= set(inputs), (out, rule)


def test_the_planning_check_names_a_method_trained_against_the_validator():
    rules = {
        "enhance_frames": ([VPL, "results/data/cremad/train.npy"], ["results/reps/pe-frames/train.npy"]),
        "recover": ([VPL], ["results/reps/recovered-ours/test.npy"]),  # an attack, not a method
        "leakage": ([VPL, "results/reps/ours/test.npy"], ["results/metrics/leakage/ours.json"]),
    }
    assert methods_trained_against(rules, VPL) == ["enhance_frames"]
    with pytest.raises(ValueError, match="enhance_frames.*validator"):
        check_not_trained_against_validator(rules, VPL)


def test_table4_labels_the_two_task_4_rows():
    spec = dict(
        transform=True,
        enhancers=True,
        controller=True,
        compensator=True,
        compensator_controller=False,
        task=4,
    )
    tasks = [
        dict(spec, rep="a", mse_target="original frames"),
        dict(spec, rep="b", mse_target="G (identity-free)"),
    ]
    metrics = {
        "a": {"plr": 26.7, "acc": 51.1, "vpl": {"plr": 20.0}},
        "b": {"plr": 11.1, "acc": 60.0, "vpl": {"plr": 9.0}},
    }
    t4 = add_task_column(table4(tasks, metrics, metrics), tasks, "mse_target")
    assert list(t4["task"]) == [4, 4] and list(t4["mse_target"]) == ["original frames", "G (identity-free)"]


# --------------------------------------------------------------------------- the design sheet (issue 11)

DESIGN = ROOT / "config" / "design.yaml"


def _clips_of(rep: str) -> str:
    """The test clips of a representation (as rules/common.smk's rep_clips)."""
    if rep in ("original", "open-original"):
        return f"results/data/{'cremad-open' if rep.startswith('open-') else 'cremad'}/test.npy"
    return f"results/reps/{rep}/test.npy"


def test_every_representation_of_the_design_is_written_by_its_producer(plan):
    import yaml

    reps = yaml.safe_load(DESIGN.read_text())["representations"]
    assert {rep: plan[_clips_of(rep)][0] for rep in reps} == {rep: r["producer"] for rep, r in reps.items()}


def test_design_placeholders_and_planning_names_match_the_library():
    import yaml

    from ppfer_core.anonymize.media import VIDEO_EXTENSIONS
    from ppfer_core.baselines import MATCH_ACC, MATCH_PLR, blur_rep

    assert yaml.safe_load(DESIGN.read_text())["blur_matched"] == [MATCH_PLR, MATCH_ACC]
    assert planning.VIDEO_EXTENSIONS == VIDEO_EXTENSIONS
    assert list(planning.blur_sweep([0.03125, 0.0078125], [64, 64])) == [blur_rep(2), blur_rep(0.5)]


def test_the_rules_import_no_library_when_snakemake_parses_them():
    """Snakemake plans the workflow with the standard library (and its own dependencies) only: of
    ppfer_core the rules import only its standard-library modules (the plan, the attack suite's registry,
    the independent validator's checks)."""
    for f in [ROOT / "Snakefile", ROOT / "rules" / "planning.py", *sorted((ROOT / "rules").glob("*.smk"))]:
        text = f.read_text()
        assert not re.search(r"^\s*(from|import)\s+(numpy|pandas|torch)\b", text, re.MULTILINE), f
        modules = re.findall(r"^\s*from\s+(ppfer_core\S*)\s+import", text, re.MULTILINE)
        assert set(modules) <= {"ppfer_core.design", "ppfer_core.suite", "ppfer_core.validator"}, (f, modules)
    code = "import ppfer_core.design, ppfer_core.suite, ppfer_core.validator, sys; print(sorted(m for m in ('numpy', 'pandas', 'torch', 'timm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
