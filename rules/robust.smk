# "Ours (robust)" (issues 14, 29, beyond the paper): F_lpr and F_hpr trained jointly through the
# inverse DWT against a re-trained adversary ensemble, stopped by a fresh attacker (ppfer_core.robust),
# merged into G-robust, then the same feature compensator as Ours (rules/compensation.smk) ->
# ours-robust, scored by the same evaluation path and attack suite. robust.sweep (off by default,
# config/robust_sweep.yaml) varies the L1 anchor, the adversary steps and the ensemble size, one at a
# time. The plan (ppfer_core.design) has the variants: G-robust* (here) and their compensated ours-robust*.
import re
from dataclasses import asdict

from ppfer_core.design import ROBUST_SWEEP_OUTPUTS, compensated_name

ROBUST = config["robust"]
# G-robust* -> its RobustPoint (l1_weight, steps, scratch, aggregate)
ROBUST_POINTS = PLAN.robust_points
# drawn beside the robust frontier: Ours (bottleneck)'s Table 1 row when the plan has it, and
# another engineer's bottleneck sweep table when that file exists (never required)
ROBUST_SWEEP_REFERENCE = {
    rep: name
    for name, rep in PLAN.table1
    if rep == "bottleneck" and ROBUST_SWEEP_REPS and rep in PLAN.attacked_reps
}


rule train_robust:
    input:
        init=ENHANCER_INIT,
        # the frame controller (fine-tuned from V_pl on frames): the ensemble's validator member
        frame_controller=(
            f"{RES}/models/controller_frames.pt"
            if ROBUST["adversaries"]["validator"]
            else []
        ),
        # Ours' compensator F_fc (frozen) when the adversaries see its output
        compensator=(
            f"{RES}/models/compensator/ours.pt"
            if ROBUST["through_compensator"]
            else []
        ),
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
        grep="|".join(map(re.escape, ROBUST_POINTS)),
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
        uvit=config["models"]["uvit"],
        # robust.* but train and sweep, with this variant's l1_weight, adversaries.steps and .scratch
        robust=lambda w: ROBUST_POINTS[w.grep].settings(ROBUST),
        wavelet=config["wavelet"],
        size=config["ingest"]["size"],
    script:
        "../workflow_scripts/train_robust.py"


rule robust_sweep:
    input:
        # the attack suite's metric files by kind (ppfer_core.suite.ATTACKERS)
        **PLAN.suite_inputs([*ROBUST_SWEEP_REPS, *ROBUST_SWEEP_REFERENCE]),
        utility=expand(
            f"{RES}/metrics/utility/{{rep}}.json",
            rep=[*ROBUST_SWEEP_REPS, *ROBUST_SWEEP_REFERENCE],
        ),
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
        # ours-robust* -> {l1_weight, steps, scratch, aggregate} of its training
        points={compensated_name(g): asdict(pt) for g, pt in ROBUST_POINTS.items()},
        reference=ROBUST_SWEEP_REFERENCE,
    script:
        "../workflow_scripts/robust_sweep.py"
