# "Ours (bottleneck)"'s k-sweep (issue 27; bottleneck.sweep, off by default, config/bottleneck_sweep.yaml):
# the basis, the code estimator and the renders once per basis size K (rules/bottleneck.smk's rules with
# the k{K} folders and bottleneck.k = K) -> bottleneck-render-k{K}; F_fc on it (train_compensator) ->
# bottleneck-k{K} (params bottleneck: bottleneck.* with k = the job's {k}). The plan (ppfer_core.families.bottleneck_points) has the points; each is scored by
# the attack suite and the code attackers (attack_codes) like every attacked representation, and
# bottleneck_sweep draws ACC against plr_worst per k.
from ppfer_core.design import BOTTLENECK_SWEEP_OUTPUTS, ROBUST_SWEEP_OUTPUTS

BOTTLENECK_POINTS = (
    PLAN.bottleneck_points
)  # bottleneck, bottleneck-k{K} -> BottleneckPoint
BOTTLENECK_SWEEP_REPS = PLAN.bottleneck_sweep_reps
SWEEP_KS = [pt.k for pt in BOTTLENECK_POINTS.values() if pt.tag]


use rule fit_basis as fit_basis_k with:
    output:
        basis=f"{RES}/models/bottleneck/k{{k}}/basis.npz",
        metrics=f"{RES}/metrics/bottleneck/k{{k}}/basis.json",
    log:
        "logs/bottleneck/fit_basis/k{k}.log",
    benchmark:
        "benchmarks/bottleneck/fit_basis/k{k}.tsv"
    wildcard_constraints:
        k=rep_pattern([str(k) for k in SWEEP_KS]),
    params:
        seed=config["seed"],
        bottleneck=lambda w: {**config["bottleneck"], "k": int(w.k)},
        size=config["ingest"]["size"],


use rule estimate_codes as estimate_codes_k with:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        basis=rules.fit_basis_k.output.basis,
        landmarks=rules.bottleneck_landmarks.output.train,
    output:
        model=f"{RES}/models/bottleneck/k{{k}}/estimator.pt",
        estimates_train=f"{BOTTLENECK}/k{{k}}/estimates/train.npy",
        estimates_test=f"{BOTTLENECK}/k{{k}}/estimates/test.npy",
        train=f"{BOTTLENECK}/k{{k}}/codes/train.npy",
        test=f"{BOTTLENECK}/k{{k}}/codes/test.npy",
    log:
        "logs/bottleneck/estimate_codes/k{k}.log",
    benchmark:
        "benchmarks/bottleneck/estimate_codes/k{k}.tsv"
    wildcard_constraints:
        k=rep_pattern([str(k) for k in SWEEP_KS]),
    params:
        seed=config["seed"],
        bottleneck=lambda w: {**config["bottleneck"], "k": int(w.k)},


use rule render_bottleneck as render_bottleneck_k with:
    input:
        basis=rules.fit_basis_k.output.basis,
        train=rules.estimate_codes_k.output.train,
        test=rules.estimate_codes_k.output.test,
        index=INDEX,
    output:
        train=f"{RES}/reps/bottleneck-render-k{{k}}/train.npy",
        test=f"{RES}/reps/bottleneck-render-k{{k}}/test.npy",
        template=f"{RES}/reps/bottleneck-render-k{{k}}/template.png",
    log:
        "logs/bottleneck/render_bottleneck/k{k}.log",
    benchmark:
        "benchmarks/bottleneck/render_bottleneck/k{k}.tsv"
    wildcard_constraints:
        k=rep_pattern([str(k) for k in SWEEP_KS]),
    params:
        seed=config["seed"],
        bottleneck=lambda w: {**config["bottleneck"], "k": int(w.k)},
        size=config["ingest"]["size"],


rule bottleneck_sweep:
    input:
        # the attack suite's metric files by kind (ppfer_core.suite.ATTACKERS), the code attackers' among them
        **PLAN.suite_inputs(BOTTLENECK_SWEEP_REPS),
        utility=expand(f"{RES}/metrics/utility/{{rep}}.json", rep=BOTTLENECK_SWEEP_REPS),
        # "Ours (robust)"'s frontier on the same figure when the run sweeps it too
        robust=ROBUST_SWEEP_OUTPUTS[0] if PLAN.robust_sweep else [],
    output:
        table=BOTTLENECK_SWEEP_OUTPUTS[0],
        figure=report(
            BOTTLENECK_SWEEP_OUTPUTS[1],
            caption="../report/bottleneck_sweep.rst",
            category="Figures",
        ),
    log:
        "logs/bottleneck_sweep.log",
    benchmark:
        "benchmarks/bottleneck_sweep.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        # bottleneck, bottleneck-k{K} -> K
        points={rep: pt.k for rep, pt in BOTTLENECK_POINTS.items()},
    script:
        "../workflow_scripts/bottleneck_sweep.py"
