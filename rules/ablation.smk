# Ablation (paper Table 4): the six tasks as method specifications run by the same producer and
# evaluation rules. Task 5 is G itself; tasks 1, 2 and 4 are compensated representations
# (COMPENSATED in common.smk, from config/design.yaml); tasks 3 and 1 use a single-stream enhancer on whole frames
# against their own controller (controller_frames: fine-tuned from V_pl on frames, as C_lpr / C_hpr
# on bands; V_pl scores them); tasks 2 and 6 train controller-free enhancers jointly with F_u.


rule enhance_frames:
    input:
        init=ENHANCER_INIT,
        controller=f"{RES}/models/controller_frames.pt",  # fine-tuned from V_pl, not V_pl
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        index=INDEX,
    output:
        model=f"{RES}/models/enhancer_frames.pt",
        metrics=f"{RES}/metrics/enhancer_frames.json",
        train=f"{RES}/reps/pe-frames/train.npy",
        test=f"{RES}/reps/pe-frames/test.npy",
    log:
        "logs/enhance_frames.log",
    benchmark:
        "benchmarks/enhance_frames.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        unet=config["models"]["unet"],
        model=config["models"]["identity"],
        train=training("enhancer"),
        enhancer=config["enhancer"],
    script:
        "../workflow_scripts/enhance_frames.py"


rule train_joint:
    input:
        init=ENHANCER_INIT,
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        index=INDEX,
    output:
        model=f"{RES}/models/joint_{{transform}}.pt",
        metrics=f"{RES}/metrics/joint_{{transform}}.json",
        train=f"{RES}/reps/joint-{{transform}}/train.npy",
        test=f"{RES}/reps/joint-{{transform}}/test.npy",
    log:
        "logs/train_joint/{transform}.log",
    benchmark:
        "benchmarks/train_joint/{transform}.tsv"
    wildcard_constraints:
        transform="frames|wavelet",
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        unet=config["models"]["unet"],
        model=config["models"]["utility"],
        wavelet=config["wavelet"],
        train=training("joint"),
    script:
        "../workflow_scripts/train_joint.py"


rule table4:
    input:
        # the attack suite's metric files by kind (ppfer_core.suite.ATTACKERS): plr_worst per task
        **PLAN.suite_inputs(ABLATION_REPS),
        leakage=expand(f"{RES}/metrics/leakage/{{rep}}.json", rep=ABLATION_REPS),
        utility=expand(f"{RES}/metrics/utility/{{rep}}.json", rep=ABLATION_REPS),
    output:
        table=f"{RES}/tables/table4.csv",
    log:
        "logs/table4.log",
    benchmark:
        "benchmarks/table4.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        tasks=ABLATION,
    script:
        "../workflow_scripts/table4.py"
