# PPFER: privacy-preserving video facial expression recognition (Xu et al.), as a workflow.
# Stages follow the paper's Figure 2; each rules/*.smk is one stage family.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "schemas/config.schema.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/wavelet.smk"
include: "rules/privacy.smk"
include: "rules/robust.smk"
include: "rules/compensation.smk"
include: "rules/baselines.smk"
include: "rules/evaluation.smk"
include: "rules/ablation.smk"
include: "rules/threat.smk"
include: "rules/federated.smk"
include: "rules/openset.smk"
include: "rules/report.smk"
include: "rules/anonymize.smk"


# Every representation of the design (config/design.yaml) names the rule that produces it.
check_producers(REPRESENTATIONS, rules)


rule all:
    default_target: True
    input:
        FINAL_OUTPUTS,
