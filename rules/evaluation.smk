# Figure 2 (3) and (4): the one evaluation path. Every representation {rep} (original, G, ours,
# baselines, ablations) is scored by the same rules: the independent validator -> PLR (V_pl's PLR
# beside it), F_u -> ACC.
from dataclasses import asdict

from ppfer_core.design import REINJECTION

UTILITY_VAL_REPS = blur_match_reps(BLUR_SWEEP)


# The independent validator (issue 26): another architecture family than V_pl / the controllers /
# the adversaries, trained from scratch with its own seed on the original frames; its inputs are no
# checkpoint of the workflow (checked at parse time, Snakefile).
rule train_validator:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        index=INDEX,
        weights=weights_file("validator"),
    output:
        model=VALIDATOR_MODEL,
        metrics=VALIDATOR_METRICS,
    log:
        "logs/train_validator.log",
    benchmark:
        "benchmarks/train_validator.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["train"]["validator"]["seed"],
        model=config["models"]["validator"],
        train=training("validator"),
    script:
        "../workflow_scripts/train_validator.py"


rule leakage:
    input:
        validator=VALIDATOR_MODEL,
        vpl=IDENTITY_MODEL,
        test=lambda w: rep_clips(w.rep, "test"),
        index=INDEX,
    output:
        metrics=f"{RES}/metrics/leakage/{{rep}}.json",
    log:
        "logs/leakage/{rep}.log",
    benchmark:
        "benchmarks/leakage/{rep}.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        validator_model=config["models"]["validator"],
        vpl_model=config["models"]["identity"],
        seed=config["leakage"]["seed"],
    script:
        "../workflow_scripts/leakage.py"


rule utility:
    input:
        train=lambda w: rep_clips(w.rep, "train"),
        test=lambda w: rep_clips(w.rep, "test"),
        index=lambda w: rep_index(w.rep),
        weights=weights_file("utility"),
    output:
        model=f"{RES}/models/utility/{{rep}}.pt",
        metrics=f"{RES}/metrics/utility/{{rep}}.json",
    log:
        "logs/utility/{rep}.log",
    benchmark:
        "benchmarks/utility/{rep}.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        model=config["models"]["utility"],
        train=training("utility"),
        # F_u's validation slice (val_acc): only where the blur matching reads it (None: no sibling)
        val_fraction=lambda w: (
            config["utility"]["val_fraction"] if w.rep in UTILITY_VAL_REPS else None
        ),
    script:
        "../workflow_scripts/utility.py"


rule tables:
    input:
        # the attack suite's metric files by kind (ppfer_core.suite.ATTACKERS; the recovery attack's of
        # Table 3's methods and the blur sigmas the checkpoint blur_match picked)
        unpack(lambda w: PLAN.suite_inputs(TABLE1_REPS, recovered=matched_blur_reps())),
        match=BLUR_MATCH,
        leakage=expand(f"{RES}/metrics/leakage/{{rep}}.json", rep=TABLE1_REPS + ["G"]),
        utility=expand(f"{RES}/metrics/utility/{{rep}}.json", rep=TABLE1_REPS),
        identity=IDENTITY_METRICS,
        validator=VALIDATOR_METRICS,
        controllers=expand(
            f"{RES}/metrics/controller_{{band}}.json", band=["low", "high"]
        ),
        expression=EXPRESSION_METRICS,
    output:
        table1=report(
            f"{RES}/tables/table1.csv",
            caption="../report/table1.rst",
            category="Tables",
        ),
        table2=report(
            f"{RES}/tables/table2.csv",
            caption="../report/table2.rst",
            category="Tables",
        ),
        # McNemar over the same test clips: Ours against the rows the README compares it with
        paired_tests=f"{RES}/tables/paired_tests.csv",
    log:
        "logs/tables.log",
    benchmark:
        "benchmarks/tables.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        table2=TABLE2,
        paired=PLAN.paired_tests,
    script:
        "../workflow_scripts/tables.py"


# Whether F_fc re-injects identity (issue 26): plr_worst of each Table 1 method's enhanced frames
# before F_fc (G, G-robust) and after it (ours, ours-robust), McNemar over the same test clips.
rule reinjection:
    input:
        # the attack suite's metric files by kind (ppfer_core.suite.ATTACKERS)
        **PLAN.suite_inputs(PLAN.reinjection_reps),
    output:
        table=report(
            REINJECTION,
            caption="../report/reinjection.rst",
            category="Tables",
        ),
    log:
        "logs/reinjection.log",
    benchmark:
        "benchmarks/reinjection.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        pairs=[asdict(p) for p in PLAN.reinjection],  # approach, before, after
    script:
        "../workflow_scripts/reinjection.py"
