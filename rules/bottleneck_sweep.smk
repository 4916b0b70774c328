# "Ours (bottleneck)"'s k-sweep (issue 27; bottleneck.sweep, off by default, config/bottleneck_sweep.yaml):
# the basis, the code estimator and the renders once per basis size K (rules/bottleneck.smk's *_k rules)
# -> bottleneck-render-k{K}; F_fc on it (train_compensator) -> bottleneck-k{K}. The plan
# (ppfer_core.families.bottleneck_points) has the points; each is scored by the attack suite and the
# code attackers (attack_codes) like every attacked representation, and bottleneck_sweep draws ACC
# against plr_worst per k.
from ppfer_core.design import BOTTLENECK_SWEEP_OUTPUTS, ROBUST_SWEEP_OUTPUTS

# bottleneck, bottleneck-k{K} -> BottleneckPoint
BOTTLENECK_POINTS = PLAN.bottleneck_points
BOTTLENECK_SWEEP_REPS = PLAN.bottleneck_sweep_reps


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
