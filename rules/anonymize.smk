# `ppfer anonymize` through the workflow: the model bundle the command reads, and the folder rule
# that anonymises a person's own videos (anonymize.input_dir) with it.
from planning import input_videos, the_video

# Methods a bundle can hold: every method of the design (a compensated representation of enhanced
# frames, e.g. ours, ours-robust, open-ours), by its representation's name, with the checkpoint of each
# part (PLAN.method_parts, ppfer_core.bundle.PARTS), and the real-face expression-code bottleneck
# (BOTTLENECK_METHOD: a basis of rule fit_basis or fit_basis_k, rules/bottleneck.smk, at
# anonymize.bottleneck_k, and the template settings); config anonymize.methods picks (checked by the plan).
from ppfer_core.design import BOTTLENECK_METHOD, BUNDLE, anonymizer_basis

ANONYMIZE = config["anonymize"]
ANONYMIZER_METHODS = {
    m: (
        {"basis": anonymizer_basis(config)}
        if m == BOTTLENECK_METHOD
        else PLAN.method_parts(m)
    )
    for m in PLAN.anonymizer
}
# what the job packs: the parts, and for the bottleneck its template face
# (ppfer_core.bottleneck.realface.TemplateSettings: a synthetic identity outside the corpus)
ANONYMIZER_PARAMS = {
    m: (
        {
            **parts,
            "template": {
                "actor": config["bottleneck"]["template_actor"],
                "seed": config["seed"],
            },
        }
        if m == BOTTLENECK_METHOD
        else parts
    )
    for m, parts in ANONYMIZER_METHODS.items()
}


rule anonymizer_bundle:
    input:
        [
            ANONYMIZER_METHODS[m][part]
            for m in ANONYMIZE["methods"]
            for part in ANONYMIZER_METHODS[m]
        ],
    output:
        bundle=BUNDLE,
    log:
        "logs/anonymizer_bundle.log",
    benchmark:
        "benchmarks/anonymizer_bundle.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        methods={m: ANONYMIZER_PARAMS[m] for m in ANONYMIZE["methods"]},
        # the config sections the bundle's settings come from (settings_from_config, in the job)
        bundle_config={k: config[k] for k in ("models", "ingest", "wavelet")},
    script:
        "../workflow_scripts/anonymizer_bundle.py"


rule anonymize_video:
    input:
        video=lambda w: the_video(ANONYMIZE["input_dir"], w.name),
        bundle=BUNDLE,
    output:
        video=f"{RES}/anonymized/{{name}}.mp4",
        sidecar=f"{RES}/anonymized/{{name}}.json",
    log:
        "logs/anonymize/{name}.log",
    benchmark:
        "benchmarks/anonymize_video/{name}.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: all_cores
    params:
        options={
            k: v
            for k, v in ANONYMIZE.items()
            if k not in ("methods", "input_dir", "bottleneck_k")
        },
        device=config["device"],
    script:
        "../workflow_scripts/anonymize_video.py"


rule anonymize_folder:
    input:
        [
            f"{RES}/anonymized/{name}.mp4"
            for name in input_videos(ANONYMIZE["input_dir"])
        ],
