"""The run's plan (ppfer_core.design, issue 25): built once before the stage files, so their include
order does not matter; every table's names checked at parse time; the GPU rules and the attack suite
each listed once."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_facts import GPU_RULES, planning

from ppfer_core.design import build_plan, rep_pattern
from ppfer_core.suite import ATTACKERS, attacker_record, read_suite, suite_columns, suite_table

ROOT = Path(__file__).resolve().parents[1]
DESIGN = yaml.safe_load((ROOT / "config" / "design.yaml").read_text())
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())


# --------------------------------------------------------------------------- include order


def _shuffled_snakefile(tmp_path: Path, seed: int) -> Path:
    """The Snakefile with its stage includes (all after rules/common.smk, which builds the plan)
    permuted, every path absolute, written to ``tmp_path``."""
    text = (ROOT / "Snakefile").read_text()
    includes = re.findall(r'^include: "rules/(?!common)[^"]+"$', text, re.MULTILINE)
    shuffled = includes[:]
    random.Random(seed).shuffle(shuffled)
    assert shuffled != includes
    it = iter(shuffled)
    text = re.sub(r'^include: "rules/(?!common)[^"]+"$', lambda m: next(it), text, flags=re.MULTILINE)
    for rel in ("rules/", "config.yaml", "schemas/config.schema.yaml", "report/workflow.rst"):
        text = text.replace(f'"{rel}', f'"{ROOT}/{rel}')
    path = tmp_path / f"Snakefile.{seed}"
    path.write_text(text)
    return path


def _jobs(snakefile: Path, workdir: Path, configs: list[str], targets: tuple[str, ...] = ()) -> set[tuple]:
    """The dry run's jobs: (rule, outputs, inputs, wildcards) of every job (of ``targets``, else all)."""
    cmd = [sys.executable, "-m", "snakemake", *targets, "-n", "-s", str(snakefile), "-d", str(workdir)]
    cmd += ["--cores", "2", "--configfile", *(str(ROOT / c) for c in configs)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    jobs = set()
    for block in re.split(r"\n(?=rule \w+:)", run.stdout):
        name = re.match(r"rule (\w+):", block)
        if name:
            fields = [re.search(rf"^\s+{k}: (.*)$", block, re.M) for k in ("output", "input", "wildcards")]
            jobs.add((name.group(1), *(frozenset(f.group(1).split(", ")) if f else None for f in fields)))
    return jobs


@pytest.mark.parametrize(
    "configs", [["config.yaml"], ["config.yaml", "config/tiny.yaml"]], ids=["default", "tiny"]
)
def test_shuffled_includes_plan_the_same_dag(tmp_path, configs):
    real = _jobs(ROOT / "Snakefile", tmp_path, configs)
    assert len(real) > 100
    for seed in (1, 2):
        assert _jobs(_shuffled_snakefile(tmp_path, seed), tmp_path, configs) == real, seed


def test_no_stage_file_adds_to_a_shared_list():
    """The stage files read the plan: no append / += / update to a name of rules/common.smk."""
    for f in sorted((ROOT / "rules").glob("*.smk")):
        text = f.read_text()
        assert not re.search(r"^[A-Z_]+\s*(\+=|\.append\(|\.update\(|\.extend\()", text, re.MULTILINE), f
        assert "FINAL_OUTPUTS" not in text, f


# --------------------------------------------------------------------------- names checked at parse time


def _with(**changes):
    return {**DESIGN, **changes}


def test_the_default_plan_names_every_table_row():
    plan = build_plan(DESIGN, CONFIG)
    assert ("Optical Flow", "flow") in plan.table1 and "Optical Flow" in plan.table3
    assert {"ours-robust", "G-robust"} <= set(plan.representations)
    assert plan.methods[:1] == ["ours"] and set(plan.anonymizer) == {"ours", "ours-robust", "open-ours"}
    assert plan.method_parts("open-ours")["enhancer_low"] == "results/models/openset/enhancer_low.pt"
    assert plan.final_outputs()[-6:] == [
        "results/tables/table6.csv",
        "results/tables/paired_tests.csv",
        "results/tables/reinjection.csv",  # plr_worst before and after F_fc (issue 26)
        "results/models/anonymizer.pt",
        # the bottleneck's coding's own figures (issue 27): attack_codes' file of the renders
        "results/metrics/attacks/codes/bottleneck-render.json",
        "results/metrics/federated/bottleneck/estimator.json",  # its federated coding's (Table 6)
    ]


def test_table6_has_table1_rows_and_a_federated_pipeline_row_of_its_own():
    plan = build_plan(DESIGN, CONFIG)
    assert [(r.approach, r.rep, r.central) for r in plan.table6] == [
        ("No Privacy Preservation", "original", "original"),
        ("Ours", "ours", "ours"),
        ("Ours (robust)", "ours-robust", "ours-robust"),
        # issue 27: every stage federated, F_fc left out; against the central renders without F_fc
        ("Ours (bottleneck, without F_fc)", "fed-bottleneck-render", "bottleneck-render"),
    ]
    assert plan.representations["fed-bottleneck-render"].producer == "render_fed_bottleneck"
    bad = [
        *DESIGN["table6"][:3],
        {"approach": "x", "representation": "fed-bottleneck-render", "central": "bottleneck-rendr"},
    ]
    with pytest.raises(ValueError, match=r"table6: unknown representation 'bottleneck-rendr'"):
        build_plan(_with(table6=bad), CONFIG)


def test_a_misspelt_table3_approach_fails_naming_it_and_the_valid_ones():
    table3 = [a if a != "Optical Flow" else "Optical flow" for a in DESIGN["table3"]]
    with pytest.raises(
        ValueError, match=r"table3: unknown Table 1 approach 'Optical flow' \(valid: .*'Optical Flow'"
    ):
        build_plan(_with(table3=table3), CONFIG)


@pytest.mark.parametrize(
    "changes,needle",
    [
        (dict(table5_method="Ours (open set)"), "table5_method"),
        (dict(table6=["original", "ours-robustt"]), "ours-robustt"),
        (dict(table2=[{"approach": "NPP", "representation": "orignal"}]), "orignal"),
        (dict(frame_grid=[{"label": "x", "representation": "GG"}]), "GG"),
        (dict(paired_tests={"reference": "Ours", "with": ["Gaussian blur 1"]}), "paired_tests"),
    ],
)
def test_every_table_name_is_checked(changes, needle):
    with pytest.raises(ValueError, match=re.escape(needle)):
        build_plan(_with(**changes), CONFIG)


def test_an_unknown_anonymiser_method_is_named():
    config = {**CONFIG, "anonymize": {**CONFIG["anonymize"], "methods": ["ours-open"]}}
    with pytest.raises(ValueError, match="anonymize.methods: unknown method 'ours-open'.*open-ours"):
        build_plan(DESIGN, config)


def test_the_plan_imports_no_heavy_library():
    code = "import ppfer_core.design, sys; print(sorted(m for m in ('numpy', 'pandas', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- GPU rules: one declaration


def test_the_slurm_profile_gives_exactly_the_gpu_rules_a_gpu():
    """profiles/slurm's set-threads / set-resources lines are those of the rules that declare
    ``resources: **GPU`` (the one declaration), as `python rules/planning.py` writes them."""
    text = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    assert planning.sync_slurm_profile(text, sorted(GPU_RULES)) == text, (
        "profiles/slurm/config.yaml lacks (or has extra) GPU-rule lines: run `python rules/planning.py`"
    )
    profile = yaml.safe_load(text)
    threads, resources = planning.slurm_gpu_entries(sorted(GPU_RULES))
    assert set(profile["set-resources"]) == GPU_RULES and set(threads) <= set(profile["set-threads"])
    for rule, entry in profile["set-resources"].items():
        assert entry.items() >= resources[rule].items(), rule  # a rule may add its own (gpu_model, runtime)
    assert len(GPU_RULES) >= 20 and {"train_identity", "attack_suite", "openset_apply_closed"} <= GPU_RULES


def test_the_profile_sync_adds_a_new_gpu_rule_and_drops_a_former_one():
    text = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    rules = sorted(GPU_RULES - {"recover"} | {"my_training"})
    synced = planning.sync_slurm_profile(text, rules)
    profile = yaml.safe_load(synced)
    assert profile["set-threads"]["my_training"] == 8 and "recover" not in profile["set-resources"]
    assert profile["set-resources"]["my_training"] == {
        "slurm_partition": "gpu",
        "gpu": 1,
        "cpus_per_gpu": "threads",
    }
    assert "# U-ViT-H" in synced and profile["set-threads"]["ingest_cremad"] == 8  # the rest is kept
    assert planning.sync_slurm_profile(synced, rules) == synced


def test_gpu_rules_reads_the_declaration(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.smk").write_text(
        "rule cpu:\n    threads: 1\n\n\nrule net:\n    threads: gpu_threads\n    resources:\n        **GPU,\n"
    )
    (tmp_path / "Snakefile").write_text('include: "rules/a.smk"\n')
    assert planning.gpu_rules(tmp_path / "Snakefile") == ["net"]
    # a rule inherited from a GPU rule is one too
    (tmp_path / "rules" / "b.smk").write_text(
        "use rule net as net_again with:\n    output:\n        'x'\n\n\n"
        "use rule cpu as cpu_again with:\n    output:\n        'y'\n"
    )
    (tmp_path / "Snakefile").write_text('include: "rules/a.smk"\ninclude: "rules/b.smk"\n')
    assert planning.gpu_rules(tmp_path / "Snakefile") == ["net", "net_again"]


# --------------------------------------------------------------------------- the attack suite's registry


def test_suite_columns_and_rule_inputs_come_from_the_registry():
    plan = build_plan(DESIGN, CONFIG)
    assert plan.suite_inputs(["ours"]) == {
        "frames": ["results/metrics/attacks/frames/ours.json"],
        "adaptive": ["results/metrics/adaptive/ours.json"],
        "clip": ["results/metrics/attacks/clips/ours.json"],
        "recovered": ["results/metrics/attacks/recovered/ours.json"],  # rule recover's (Table 3's method)
        "codes": [],  # issue 27: only a coded representation has code attackers
        "suite_index": "results/data/cremad/index.parquet",  # the test actors of the intervals
    }
    assert plan.suite_inputs(["ours", "bottleneck"])["codes"] == [
        "results/metrics/attacks/codes/bottleneck.json"
    ]
    # issue 30: a blur sigma has the recovery attack's file only once the checkpoint blur_match took it,
    # and the match itself reads only the attackers plr_worst may choose (no recovery: no wait for it)
    assert plan.suite_inputs(["blur-s2", "blur-s4"])["recovered"] == []
    taken = plan.suite_inputs(["blur-s2", "blur-s4"], recovered=["blur-s2"])["recovered"]
    assert taken == ["results/metrics/attacks/recovered/blur-s2.json"]
    assert set(plan.suite_inputs(["ours"], selectable=True)) == {
        "frames",
        "adaptive",
        "clip",
        "codes",
        "suite_index",
    }
    assert suite_columns()[:9] == (
        "plr",
        "plr_vote",
        "plr_adaptive",
        "plr_adaptive_vote",
        "plr_scratch",
        "plr_scratch_vote",
        "plr_clip",
        "plr_recovered",
        "plr_recovered_vote",
    )
    assert {a.rule for a in ATTACKERS} <= set(planning.rule_stages(ROOT / "Snakefile"))
    # issue 30: one suite job per rep, every pixel attacker; issue 27: the code attackers of a coded rep
    # the recovery attack's rule scores V_pl on the frames it recovers
    assert {a.rule for a in ATTACKERS} == {"attack_suite", "attack_codes", "recover"}


def test_a_kind_a_rule_does_not_read_is_no_file_for_the_attackers_that_need_it(tmp_path):
    """The checkpoint blur_match reads only the selectable attackers' files: the recovery attack's kind
    is absent, so its record is None; an attacker every representation has still fails, naming its file."""
    (tmp_path / "x.json").write_text('{"validator": {"plr": 5.0}, "scratch": {"plr": 7.0}}')
    metrics = read_suite({"frames": [str(tmp_path / "x.json")]})
    by_name = {a.name: a for a in ATTACKERS}
    assert attacker_record(by_name["recovered"], metrics, "x") is None
    assert attacker_record(by_name["scratch"], metrics, "x") == {"plr": 7.0}
    with pytest.raises(KeyError, match=r"results/metrics/adaptive/x.json"):
        attacker_record(by_name["adaptive"], metrics, "x")


def test_rep_pattern_matches_exactly_the_names_it_is_given():
    pattern = rep_pattern(["ours", "blur-s1.5", "G"])
    assert all(re.fullmatch(pattern, r) for r in ("ours", "blur-s1.5", "G"))
    for other in ("ours-robust", "recovered-ours", "blur-s1x5", "g", "", "ours/x"):
        assert not re.fullmatch(pattern, other), other
    assert not any(re.fullmatch(rep_pattern([]), r) for r in ("", "ours"))


def test_the_attacked_reps_are_every_suite_input_and_include_the_recovered_ones():
    plan = build_plan(DESIGN, CONFIG)
    suite_reps = {Path(f).stem for f in plan.suite_inputs(plan.attacked_reps)["frames"]}
    assert set(plan.attacked_reps) == suite_reps >= set(plan.table1_reps) | set(plan.robust_sweep_reps)
    assert set(plan.recovered_reps) == set(plan.threat_reps) | set(plan.robust_sweep_reps)
    assert set(plan.recovered_reps) < set(plan.attacked_reps)  # e.g. the originals: no recovery attack
    # issue 30: no blur sigma before the checkpoint blur_match picks Table 1's two
    assert not set(plan.recovered_reps) & set(plan.blur_sweep)
    assert len(plan.attacked_reps) == len(set(plan.attacked_reps))


def test_one_suite_job_writes_an_attacked_reps_leakage_and_the_leakage_rule_the_rest(tmp_path):
    """Issue 30: the leakage file of an attacked rep comes from its attack_suite job, that of a
    recovered-{rep} from its recover job, every other one from rule leakage; no AmbiguousRuleException."""
    targets = {
        "original": "attack_suite",
        "ours": "attack_suite",
        "recovered-ours": "recover",
        "G": "attack_suite",
        "joint-wavelet": "attack_suite",
        "open-original": "leakage",  # no table attacks it: the generic rule
    }
    files = tuple(f"results/metrics/leakage/{rep}.json" for rep in targets)
    jobs = _jobs(ROOT / "Snakefile", tmp_path, ["config.yaml", "config/tiny.yaml"], files)
    writer = {out: rule for rule, outputs, _, _ in jobs for out in outputs or ()}
    assert {rep: writer[f] for rep, f in zip(targets, files)} == targets
    assert writer["results/metrics/attacks/frames/ours.json"] == "attack_suite"
    assert writer["results/metrics/attacks/recovered/ours.json"] == "recover"


def test_a_new_attacker_is_one_registry_entry():
    """An attacker added to the registry gets its columns and its rule's metric files, nothing else edited."""
    from dataclasses import replace

    extra = replace(
        ATTACKERS[3], name="clip2", kind="clip2", metrics="m/clip2/{rep}.json", column="plr_clip2"
    )
    attackers = (*ATTACKERS, extra)
    hits = [1] * 9 + [0]
    leak = {"correct": 9, "correct_vote": 9, "n": 10, "train_acc": 1.0, "status": "converged"}
    leak |= {"hits": hits, "hits_vote": hits, "val_correct": 5, "val_correct_vote": 5, "val_n": 10}
    metrics = {
        "frames": {"a": {"validator": leak, "scratch": leak}},
        "adaptive": {"a": leak},
        "clip": {"a": leak},
        "clip2": {"a": {**leak, "val_correct": 6}},  # best on validation
    }
    row = suite_table(["a"], metrics, list("abcdefghij"), attackers)["a"]
    assert row["worst_attacker"] == "plr_clip2" and row["train_acc_clip2"] == 100.0
    assert "plr_clip2" in suite_columns(attackers)
    plan = build_plan(DESIGN, CONFIG)
    assert replace(plan, attackers=attackers).suite_inputs(["ours"])["clip2"] == ["m/clip2/ours.json"]


def test_read_suite_reads_each_kind_named_by_the_registry(tmp_path):
    import json

    from ppfer_core.suite import read_suite, suite_files

    files = {}
    for kind in suite_files():
        (tmp_path / kind).mkdir()
        path = tmp_path / kind / "ours.json"
        path.write_text(json.dumps({"kind": kind}))
        files[kind] = [str(path)]
    suite = read_suite({"table1": "t.csv", **files})  # a rule's inputs: other names are ignored
    assert {k: v["ours"]["kind"] for k, v in suite.items()} == {k: k for k in suite_files()}


# --------------------------------------------------------------------------- the attacked set (issue 26)


def test_the_attacked_set_holds_table4_and_the_frames_before_f_fc():
    """One set: Table 1's representations (Table 3's among them), every Table 4 task's, G and G-robust
    (the frames F_fc reads for Ours and Ours (robust)) and the robust sweep's; nothing else."""
    plan = build_plan(DESIGN, CONFIG)
    assert [(r.approach, r.before, r.after) for r in plan.reinjection] == [
        ("Ours", "G", "ours"),
        ("Ours (robust)", "G-robust", "ours-robust"),
        ("Ours (bottleneck)", "bottleneck-render", "bottleneck"),  # issue 27: F_fc on the renders
    ]
    attacked = plan.attacked_reps
    assert len(attacked) == len(set(attacked))
    assert set(plan.ablation_reps) <= set(attacked) and {"G", "G-robust", "G-fcmse", "pe-frames"} <= set(
        attacked
    )
    assert set(plan.threat_reps) <= set(attacked) and set(plan.table1_reps) <= set(attacked)
    assert set(attacked) == {*plan.table1_reps, *plan.ablation_reps, "G-robust"}
    swept = {
        **CONFIG,
        "robust": {**CONFIG["robust"], "sweep": {**CONFIG["robust"]["sweep"], "enabled": True}},
    }
    plan = build_plan(DESIGN, swept)
    assert set(plan.robust_sweep_reps) <= set(plan.attacked_reps) and len(plan.robust_sweep_reps) > 1
    # the sweep's G-robust variants are no Table 1 row's input: not attacked before F_fc
    assert [r for r in plan.attacked_reps if r.startswith("G-robust")] == ["G-robust"]


def test_a_table_cannot_ask_the_suite_for_a_representation_outside_the_set():
    plan = build_plan(DESIGN, CONFIG)
    assert plan.suite_inputs(["G", "G-robust"])["adaptive"] == [
        "results/metrics/adaptive/G.json",
        "results/metrics/adaptive/G-robust.json",
    ]
    with pytest.raises(ValueError, match=r"does not run on 'open-G'.*Plan.attacked_reps.*G-robust"):
        plan.suite_inputs(["ours", "open-G"])


def test_a_rule_derived_by_use_rule_inherits_its_bases_gpu_declaration_and_stage(tmp_path):
    """rules/planning.py reads `use rule A as B with:` as A's block under B's overrides: B is a GPU rule
    (in the SLURM profile) when A is, and has a stage (the report's run time)."""
    (tmp_path / "rules").mkdir()
    base = 'rule a:\n    output:\n        "a"\n    resources:\n        **GPU,\n\n\n'
    derived = 'use rule a as b with:\n    output:\n        "b"\n\n\nrule c:\n    output:\n        "c"\n'
    (tmp_path / "rules" / "x.smk").write_text(base + derived)
    (tmp_path / "Snakefile").write_text('include: "rules/x.smk"\n')
    assert planning.gpu_rules(tmp_path / "Snakefile") == ["a", "b"]
    assert planning.rule_stages(tmp_path / "Snakefile") == {"a": "x", "b": "x", "c": "x"}
    (tmp_path / "rules" / "x.smk").write_text(derived + base)
    with pytest.raises(ValueError, match="use rule a as b: a is defined after it"):
        planning.gpu_rules(tmp_path / "Snakefile")


# --------------------------------------------------------------------------- the bottleneck (issue 27)


def test_the_bottleneck_is_a_row_of_tables_1_3_and_4_and_of_the_frame_grid():
    plan = build_plan(DESIGN, CONFIG)
    assert ("Ours (bottleneck)", "bottleneck") in plan.table1 and "Ours (bottleneck)" in plan.table3
    assert "bottleneck" in plan.threat_reps and "bottleneck" in plan.recovered_reps  # the U-Net recovery
    assert {"bottleneck", "bottleneck-render"} <= set(plan.ablation_reps) <= set(plan.attacked_reps)
    assert {"bottleneck", "bottleneck-render"} <= set(plan.frame_reps)
    assert plan.representations["bottleneck-render"].producer == "render_bottleneck"
    assert plan.compensated["bottleneck"] == ("bottleneck-render", "ce")  # F_fc against C_fc on the renders
    assert "bottleneck" not in plan.methods  # no anonymiser bundle part (no enhancers)
    assert "Ours (bottleneck)" in plan.paired_tests["with"]


def test_the_renders_and_f_fc_on_them_are_coded_by_the_bottleneck_codes():
    """A compensated representation takes its input's coding (F_fc reads only its input); others have none."""
    plan = build_plan(DESIGN, CONFIG)
    assert set(plan.coded) == {"bottleneck-render", "bottleneck", "fed-bottleneck-render"}
    assert (
        plan.coded["fed-bottleneck-render"].files("test")["codes"]
        == "results/federated/bottleneck/codes/test.npy"
    )
    coding = plan.coded["bottleneck"]
    assert coding == plan.coded["bottleneck-render"]
    assert coding.files("test") == {
        "codes": "results/bottleneck/codes/test.npy",
        "inputs": "results/bottleneck/estimates/test.npy",
    }
    chained = {
        **DESIGN,
        "representations": {
            **DESIGN["representations"],
            "bottleneck-fc2": {
                "producer": "train_compensator",
                "compensate": {"input": "bottleneck", "loss": "ce"},
            },
        },
    }
    assert build_plan(chained, CONFIG).coded["bottleneck-fc2"] == coding


def _leak(correct: int, val_correct: int, n: int = 10, val_n: int = 10, vote: bool = False) -> dict:
    hits = [1] * correct + [0] * (n - correct)
    leak = {"correct": correct, "n": n, "hits": hits, "val_correct": val_correct, "val_n": val_n}
    leak |= {"train_acc": 1.0, "status": "converged"}
    return leak | (
        {"correct_vote": correct, "hits_vote": hits, "val_correct_vote": val_correct} if vote else {}
    )


def test_code_attackers_count_in_plr_worst_chosen_on_validation_and_the_landmarks_stand_beside():
    """plr_worst is chosen on validation over pixel and code attackers; the raw-landmark attacker (the
    input's) is reported in plr_landmarks, never chosen, never plr_max_test; an uncoded rep has no codes
    file (Plan.suite_inputs lists one for every coded rep)."""
    pixel = {
        "frames": {r: {"validator": _leak(1, 1, vote=True), "scratch": _leak(5, 4, vote=True)} for r in "ab"},
        "adaptive": {r: _leak(4, 3, vote=True) for r in "ab"},
        "clip": {r: _leak(3, 2) for r in "ab"},
    }
    codes = {"logreg": _leak(2, 2), "mlp": _leak(6, 5), "gru": _leak(9, 4), "landmarks": _leak(10, 10)}
    suite = suite_table(["a", "b"], {**pixel, "codes": {"b": codes}}, list("abcdefghij"))
    a, b = suite["a"], suite["b"]
    assert b["worst_attacker"] == "plr_code_mlp" and b["plr_worst"] == 60.0  # best on validation, test rate
    assert b["plr_max_test"] == 90.0 and b["max_test_attacker"] == "plr_code_gru"  # not the landmarks' 100
    assert (
        b["plr_landmarks"] == 100.0
        and b["status_code_gru"] == "converged"
        and b["train_acc_code_mlp"] == 100.0
    )
    assert a["worst_attacker"] == "plr_scratch" and a["plr_worst"] == 50.0
    assert not {"plr_code_mlp", "plr_landmarks", "status_code_mlp"} & set(a)
    with pytest.raises(KeyError, match="attacks/frames/b.json"):  # a file every rep has, missing: named
        suite_table(["b"], {**pixel, "frames": {}}, list("abcdefghij"))


def test_a_landmark_attacker_cannot_be_selectable_without_being_counted():
    from ppfer_core.suite import Attacker

    with pytest.raises(ValueError, match="not counted cannot be selectable"):
        Attacker("x", "r", "k", "m/{rep}.json", "plr_x", counted=False)


def test_the_test_landmarks_check_names_a_rule_that_feeds_them_to_a_representation():
    truth = "results/data/cremad/test_landmarks.npy"
    rules = {
        "attack_codes": (
            [truth, "results/bottleneck/codes/test.npy"],
            ["results/metrics/attacks/codes/bottleneck-render.json"],
        ),
        "train_landmarks": (
            ["results/data/cremad/train.npy", {"targets": [truth]}],
            ["results/models/lm.pt"],
        ),
        "render": (["results/models/lm.pt"], ["results/reps/bottleneck-render/test.npy"]),
        "swap": ([truth], ["results/reps/swap/test.npy"]),
    }
    assert planning.readers_beyond_metrics(rules, truth) == ["swap", "train_landmarks"]  # params nested too
    with pytest.raises(ValueError, match=r"rules swap, train_landmarks read .*test_landmarks\.npy"):
        planning.check_metrics_only_readers(rules, truth)  # swap is exempt no more (issue 27)
    with pytest.raises(ValueError, match=r"rules train_landmarks read .*test_landmarks\.npy"):
        planning.check_metrics_only_readers(rules, truth, exempt={"swap": "known"})
    planning.check_metrics_only_readers({k: rules[k] for k in ("attack_codes", "render")}, truth)


@pytest.mark.parametrize("field", ["input", "params"])
def test_a_rule_that_makes_a_representation_from_the_test_landmarks_stops_the_parse(tmp_path, field):
    """The workflow's own check (Snakefile): a rule added upstream of a representation that reads the
    test clips' true landmarks fails `snakemake -n`, naming it."""
    text = (ROOT / "Snakefile").read_text()
    for rel in ("rules/", "config.yaml", "schemas/config.schema.yaml", "report/workflow.rst"):
        text = text.replace(f'"{rel}', f'"{ROOT}/{rel}')
    value = (
        'x="results/data/cremad/test_landmarks.npy"'
        if field == "params"
        else '"results/data/cremad/test_landmarks.npy"'
    )
    peek = f'rule peek:\n    {field}:\n        {value},\n    output:\n        "results/bottleneck/peek.npy",\n    shell:\n        "touch {{output}}"\n\n\n'
    marker = "# Every representation of the plan names the rule"
    snakefile = tmp_path / "Snakefile"
    snakefile.write_text(text.replace(marker, peek + marker))
    cmd = [sys.executable, "-m", "snakemake", "-n", "-s", str(snakefile), "-d", str(tmp_path), "--cores", "1"]
    cmd += ["--configfile", str(ROOT / "config.yaml"), str(ROOT / "config/tiny.yaml")]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert (
        run.returncode != 0
        and "rules peek read results/data/cremad/test_landmarks.npy" in run.stderr + run.stdout
    )


# --------------------------------------------------------------------------- the bottleneck's k-sweep


def test_the_bottleneck_sweep_is_off_by_default_and_adds_its_points_through_the_plan():
    """Issue 27: bottleneck.sweep adds bottleneck-k{K} (render + F_fc, coded by its own k{K} codes and
    basis) per other K to the attacked representations and the sweep's table and figure to the outputs."""
    assert build_plan(DESIGN, CONFIG).bottleneck_sweep_reps == []
    assert not any("bottleneck_sweep" in f for f in build_plan(DESIGN, CONFIG).final_outputs())
    sweep = yaml.safe_load((ROOT / "config" / "bottleneck_sweep.yaml").read_text())["bottleneck"]["sweep"]
    plan = build_plan(DESIGN, {**CONFIG, "bottleneck": {**CONFIG["bottleneck"], "sweep": sweep}})
    others = [k for k in sweep["ks"] if k != CONFIG["bottleneck"]["k"]]
    assert plan.bottleneck_sweep_reps == ["bottleneck", *(f"bottleneck-k{k}" for k in others)]
    assert set(plan.bottleneck_sweep_reps) <= set(plan.attacked_reps)
    k = others[0]
    render = plan.representations[f"bottleneck-render-k{k}"]
    assert render.producer == "render_bottleneck_k"
    assert plan.compensated[f"bottleneck-k{k}"] == (f"bottleneck-render-k{k}", "ce")
    coding = plan.coded[f"bottleneck-k{k}"]  # inherited from its renders
    assert coding == render.coding and coding.basis == f"models/bottleneck/k{k}/basis.npz"
    assert coding.files("test")["codes"] == f"results/bottleneck/k{k}/codes/test.npy"
    assert coding.basis_file() == f"results/models/bottleneck/k{k}/basis.npz"  # attack_codes' input
    assert (
        build_plan(DESIGN, CONFIG).coded["bottleneck"].basis_file() == "results/models/bottleneck/basis.npz"
    )
    assert {"results/tables/bottleneck_sweep.csv", "results/report/bottleneck_sweep.png"} <= set(
        plan.final_outputs()
    )


def test_the_bottleneck_sweep_config_dry_runs_its_jobs_per_k(tmp_path):
    jobs = _jobs(
        ROOT / "Snakefile",
        tmp_path,
        ["config.yaml", "config/bottleneck_sweep.yaml"],
        ("results/tables/bottleneck_sweep.csv",),
    )
    sweep = yaml.safe_load((ROOT / "config" / "bottleneck_sweep.yaml").read_text())["bottleneck"]["sweep"]
    others = {str(k) for k in sweep["ks"] if k != CONFIG["bottleneck"]["k"]}
    for rule in ("fit_basis_k", "estimate_codes_k", "render_bottleneck_k"):
        ks = {w.split("k=")[1] for r, _, _, wc in jobs if r == rule for w in wc}
        assert ks == others, rule
    reps = {w.split("rep=")[1] for r, _, _, wc in jobs if r in ("attack_codes", "utility") for w in wc}
    assert reps >= {"bottleneck", *(f"bottleneck-k{k}" for k in others)}
    assert sum(r == "bottleneck_sweep" for r, *_ in jobs) == 1
