# "Ours (robust)" (issue 14, beyond the paper): privacy enhancers trained against re-trained
# adversaries (enhancer.adversary: retrained, ppfer_core.robust), merged into G-robust, then the same
# feature compensator as Ours (rules/compensation.smk) -> ours-robust, scored by the same evaluation
# path and attack suite. robust.sweep (off by default, config/robust_sweep.yaml) varies the L1 anchor.
# The plan (ppfer_core.design) has the variants: G-robust* (here) and their compensated ours-robust*.
from ppfer_core.design import ROBUST_SWEEP_OUTPUTS, compensated_name

ROBUST = config["robust"]
ROBUST_L1 = PLAN.robust_l1  # G-robust* -> L1 anchor weight


rule train_robust:
    input:
        init=ENHANCER_INIT,
        controller_low=f"{RES}/models/controller_low.pt",
        controller_high=f"{RES}/models/controller_high.pt",
        train=band_files("train"),
        test=band_files("test"),
        index=INDEX,
    output:
        enhancer_low=f"{RES}/models/robust/{{grep}}/enhancer_low.pt",
        enhancer_high=f"{RES}/models/robust/{{grep}}/enhancer_high.pt",
        metrics=f"{RES}/metrics/robust/{{grep}}.json",
        train=f"{RES}/reps/{{grep}}/train.npy",
        test=f"{RES}/reps/{{grep}}/test.npy",
    log:
        "logs/train_robust/{grep}.log",
    benchmark:
        "benchmarks/train_robust/{grep}.tsv"
    wildcard_constraints:
        grep="|".join(ROBUST_L1),
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        unet=config["models"]["unet"],
        model=config["models"]["identity"],
        train=dict(ROBUST["train"]),
        # enhancer.* with adversary retrained and robust.*'s objective and L1 anchor
        enhancer=lambda w: {
            **config["enhancer"],
            "adversary": "retrained",
            "objective": ROBUST["objective"],
            "l1_weight": ROBUST_L1[w.grep],
        },
        wavelet=config["wavelet"],
        size=config["ingest"]["size"],
    script:
        "../workflow_scripts/train_robust.py"


rule robust_sweep:
    input:
        # the attack suite's metric files by kind (ppfer_core.suite.ATTACKERS)
        **PLAN.suite_inputs(ROBUST_SWEEP_REPS),
        utility=expand(f"{RES}/metrics/utility/{{rep}}.json", rep=ROBUST_SWEEP_REPS),
    output:
        table=ROBUST_SWEEP_OUTPUTS[0],
        figure=report(
            ROBUST_SWEEP_OUTPUTS[1],
            caption="../report/robust_sweep.rst",
            category="Figures",
        ),
    log:
        "logs/robust_sweep.log",
    benchmark:
        "benchmarks/robust_sweep.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        l1_weights={compensated_name(g): w for g, w in ROBUST_L1.items()},
    script:
        "../workflow_scripts/robust_sweep.py"
