# "Ours (robust)" (issue 14, beyond the paper): privacy enhancers trained against re-trained
# adversaries (enhancer.adversary: retrained, ppfer_core.robust), merged into G-robust, then the same
# feature compensator as Ours (rules/compensation.smk) -> ours-robust, scored by the same evaluation
# path and attack suite. robust.sweep (off by default, config/robust_sweep.yaml) varies the L1 anchor.
ROBUST = config["robust"]


def robust_suffix(l1_weight):
    """Representation suffix of a robust variant (the configured L1 weight is the Table 1 row)."""
    return "" if float(l1_weight) == float(ROBUST["l1_weight"]) else f"-l1w{l1_weight:g}"


ROBUST_L1 = {f"G-robust{robust_suffix(ROBUST['l1_weight'])}": ROBUST["l1_weight"]}
if ROBUST["sweep"]["enabled"]:
    ROBUST_L1.update({f"G-robust{robust_suffix(w)}": w for w in ROBUST["sweep"]["l1_weights"]})
for grep in ROBUST_L1:
    COMPENSATED["ours" + grep[len("G") :]] = (grep, "ce")
ROBUST_SWEEP_REPS = (
    ["ours" + grep[len("G") :] for grep in ROBUST_L1]
    if ROBUST["sweep"]["enabled"]
    else []
)


def robust_enhancer(wildcards):
    """The enhancer settings of a robust variant: enhancer.* with adversary retrained and robust.*'s objective and L1."""
    return {
        **config["enhancer"],
        "adversary": "retrained",
        "objective": ROBUST["objective"],
        "l1_weight": ROBUST_L1[wildcards.grep],
    }


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
    threads: workflow.cores
    resources:
        **GPU,
    params:
        seed=config["seed"],
        unet=config["models"]["unet"],
        model=config["models"]["identity"],
        train=dict(ROBUST["train"]),
        enhancer=robust_enhancer,
        wavelet=config["wavelet"],
        size=config["ingest"]["size"],
    script:
        "../workflow_scripts/train_robust.py"


rule robust_sweep:
    input:
        utility=expand(f"{RES}/metrics/utility/{{rep}}.json", rep=ROBUST_SWEEP_REPS),
        frames=expand(f"{RES}/metrics/attacks/frames/{{rep}}.json", rep=ROBUST_SWEEP_REPS),
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
        l1_weights={"ours" + g[len("G") :]: w for g, w in ROBUST_L1.items()},
    script:
        "../workflow_scripts/robust_sweep.py"


if ROBUST["sweep"]["enabled"]:
    FINAL_OUTPUTS += rules.robust_sweep.output
