# `ppfer anonymize` through the workflow: the model bundle the command reads, and the folder rule
# that anonymises a person's own videos (anonymize.input_dir) with it.
from ppfer_core.anonymize.media import find_video, list_videos
from ppfer_core.bundle import settings_from_config

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
        settings=settings_from_config(config).to_dict(),
    script:
        "../workflow_scripts/anonymizer_bundle.py"


rule anonymize_video:
    input:
        video=lambda w: find_video(ANONYMIZE["input_dir"], w.name),
        bundle=BUNDLE,
    output:
        video=f"{RES}/anonymized/{{name}}.mp4",
        sidecar=f"{RES}/anonymized/{{name}}.json",
    log:
        "logs/anonymize/{name}.log",
    benchmark:
        "benchmarks/anonymize/{name}.tsv"
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
        [f"{RES}/anonymized/{v.stem}.mp4" for v in list_videos(ANONYMIZE["input_dir"])],
