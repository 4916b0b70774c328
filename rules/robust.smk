# "Ours (robust)" (issue 14, beyond the paper): privacy enhancers trained against re-trained
# adversaries (enhancer.adversary: retrained, ppfer_core.robust), merged into G-robust, then the same
# feature compensator as Ours (rules/compensation.smk) -> ours-robust, scored by the same evaluation
# path and attack suite. robust.sweep (off by default, config/robust_sweep.yaml) varies the L1 anchor.
from planning import compensated_name, robust_variants

ROBUST = config["robust"]
ROBUST_L1 = robust_variants(ROBUST)  # G-robust* -> L1 anchor weight
COMPENSATED.update({compensated_name(g): (g, "ce") for g in ROBUST_L1})
ROBUST_SWEEP_REPS = (
    [compensated_name(g) for g in ROBUST_L1] if ROBUST["sweep"]["enabled"] else []
)


rule train_robust:
    input:
        init=rules.pretrain_enhancer.output.model,
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
        utility=expand(f"{RES}/metrics/utility/{{rep}}.json", rep=ROBUST_SWEEP_REPS),
        frames=expand(
            f"{RES}/metrics/attacks/frames/{{rep}}.json", rep=ROBUST_SWEEP_REPS
        ),
        clips=expand(f"{RES}/metrics/attacks/clips/{{rep}}.json", rep=ROBUST_SWEEP_REPS),
        adaptive=expand(f"{RES}/metrics/adaptive/{{rep}}.json", rep=ROBUST_SWEEP_REPS),
    output:
        table=f"{RES}/tables/robust_sweep.csv",
        figure=report(
            f"{RES}/report/robust_sweep.png",
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


if ROBUST["sweep"]["enabled"]:
    FINAL_OUTPUTS += rules.robust_sweep.output
