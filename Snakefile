# PPFER: privacy-preserving video facial expression recognition (Xu et al.), as a workflow.
# Stages follow the paper's Figure 2; each rules/*.smk is one stage family.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "schemas/config.schema.yaml")


report: "report/workflow.rst"


# rules/common.smk builds the run's plan (PLAN: config/design.yaml and the config expanded and checked,
# ppfer_core.design) and the shared helpers; the stage files after it only read them, in any order.
include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/wavelet.smk"
include: "rules/privacy.smk"
include: "rules/robust.smk"
include: "rules/bottleneck.smk"
include: "rules/bottleneck_sweep.smk"
include: "rules/compensation.smk"
include: "rules/baselines.smk"
include: "rules/evaluation.smk"
include: "rules/ablation.smk"
include: "rules/threat.smk"
include: "rules/federated.smk"
include: "rules/federated_bottleneck.smk"
include: "rules/openset.smk"
include: "rules/report.smk"
include: "rules/anonymize.smk"


# Every representation of the plan names the rule that produces it.
check_producers(PLAN.representations, rules)
# No method may be scored by the network it was trained against: V_pl's weights are no input of
# any rule that produces a representation (the attackers are in threat.smk).
check_not_trained_against_validator(
    {r.name: (list(r.input), list(r.output)) for r in workflow.rules}, IDENTITY_MODEL
)
# The independent validator (the PLR column) reads no checkpoint of the workflow (V_pl, C_lpr / C_hpr, ...).
check_validator_inputs(
    {r.name: (list(r.input), list(r.output)) for r in workflow.rules}, "train_validator"
)
# The test clips' true landmarks (issue 27) may score an estimator (rules attack_codes,
# swap_landmark_error), never feed a representation: a rule that reads them (an input or a param)
# writes metrics only. One known exception: openset_split copies those of the open-TRAIN clips (the
# open set's bottleneck's training data; unseen actors' never).
check_metrics_only_readers(
    {r.name: ([*r.input, *r.params], list(r.output)) for r in workflow.rules},
    f"{RES}/data/cremad/test_landmarks.npy",
    exempt={
        # the open set's training clips include the open-train actors' closed-test clips
        "openset_split": "copies the landmarks of the open-TRAIN clips only (never an open-test clip's)",
    },
)


rule all:
    default_target: True
    input:
        PLAN.final_outputs(),
        # Image Swapping's landmark regressor's test error (baselines.swap.landmarks)
        [SWAP_LANDMARK_ERROR] if SWAP_REGRESSOR else [],
