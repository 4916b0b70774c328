# `ppfer anonymize` through the workflow: the model bundle the command reads, and the folder rule
# that anonymises a person's own videos (anonymize.input_dir) with it.
from planning import input_videos, the_video

# Methods a bundle can hold: name -> checkpoint of each part (ppfer_core.bundle.PARTS). Stages that
# train a variant (a robust or open-set ours) add their entry here; config anonymize.methods picks.
ANONYMIZER_METHODS = {
    "ours": dict(
        enhancer_low=f"{RES}/models/enhancer_low.pt",
        enhancer_high=f"{RES}/models/enhancer_high.pt",
        compensator=f"{RES}/models/compensator/ours.pt",
        utility=f"{RES}/models/utility/ours.pt",
    ),
    "ours-robust": dict(  # rules/robust.smk: enhancers against re-trained adversaries
        enhancer_low=f"{RES}/models/robust/G-robust/enhancer_low.pt",
        enhancer_high=f"{RES}/models/robust/G-robust/enhancer_high.pt",
        compensator=f"{RES}/models/compensator/ours-robust.pt",
        utility=f"{RES}/models/utility/ours-robust.pt",
    ),
    "ours-open": dict(  # rules/openset.smk: label-free enhancers and their compensator (open split)
        enhancer_low=f"{RES}/models/openset/enhancer_low.pt",
        enhancer_high=f"{RES}/models/openset/enhancer_high.pt",
        compensator=f"{RES}/models/compensator/open-ours.pt",
        utility=f"{RES}/models/utility/open-ours.pt",
    ),
}
ANONYMIZE = config["anonymize"]
for _m in ANONYMIZE["methods"]:
    if _m not in ANONYMIZER_METHODS:
        raise ValueError(
            f"config key anonymize.methods: unknown method {_m!r} (known: {', '.join(ANONYMIZER_METHODS)})"
        )
BUNDLE = f"{RES}/models/anonymizer.pt"
FINAL_OUTPUTS.append(BUNDLE)  # cheap: it only packs weights the tables need anyway


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
        methods={m: ANONYMIZER_METHODS[m] for m in ANONYMIZE["methods"]},
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
            k: v for k, v in ANONYMIZE.items() if k not in ("methods", "input_dir")
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
