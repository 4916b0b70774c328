# Figure 2 (1): controlled privacy preservation. Identity classifier (also the validator V_pl),
# identity budget controllers C_lpr / C_hpr, privacy enhancers F_lpr / F_hpr, merge into G.


rule train_identity:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        index=INDEX,
        weights=weights_file("identity"),
    output:
        model=f"{RES}/models/identity.pt",
        metrics=f"{RES}/metrics/identity.json",
    log:
        "logs/train_identity.log",
    benchmark:
        "benchmarks/train_identity.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        model=config["models"]["identity"],
        train=training("identity"),
    script:
        "../workflow_scripts/train_identity.py"


rule train_controller:
    input:
        identity=rules.train_identity.output.model,
        # band images (C_lpr, C_hpr), or whole frames (band "frames": ablation tasks 1 and 3)
        train=lambda w: (
            [clips("cremad", "train")] if w.band == "frames" else band_files("train")
        ),
        test=lambda w: (
            [clips("cremad", "test")] if w.band == "frames" else band_files("test")
        ),
        index=INDEX,
    output:
        model=f"{RES}/models/controller_{{band}}.pt",
        metrics=f"{RES}/metrics/controller_{{band}}.json",
    log:
        "logs/train_controller/{band}.log",
    benchmark:
        "benchmarks/train_controller/{band}.tsv"
    wildcard_constraints:
        band="low|high|frames",
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        model=config["models"]["identity"],
        train=training("controller"),
    script:
        "../workflow_scripts/train_controller.py"


rule pretrain_enhancer:
    input:
        bands=band_files("train"),
    output:
        model=f"{RES}/models/enhancer_init.pt",
        metrics=f"{RES}/metrics/enhancer_init.json",
    log:
        "logs/pretrain_enhancer.log",
    benchmark:
        "benchmarks/pretrain_enhancer.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        unet=config["models"]["unet"],
        train=training("enhancer_pretrain"),
    script:
        "../workflow_scripts/pretrain_enhancer.py"


rule train_enhancer:
    input:
        init=rules.pretrain_enhancer.output.model,
        controller=f"{RES}/models/controller_{{band}}.pt",
        train=band_files("train"),
        index=INDEX,
    output:
        model=f"{RES}/models/enhancer_{{band}}.pt",
        metrics=f"{RES}/metrics/enhancer_{{band}}.json",
    log:
        "logs/train_enhancer/{band}.log",
    benchmark:
        "benchmarks/train_enhancer/{band}.tsv"
    wildcard_constraints:
        band="low|high",
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
        "../workflow_scripts/train_enhancer.py"


rule merge_enhanced:
    input:
        low=f"{RES}/models/enhancer_low.pt",
        high=f"{RES}/models/enhancer_high.pt",
        bands=band_files("{split}"),
    output:
        clips=f"{RES}/reps/G/{{split}}.npy",
    log:
        "logs/merge_enhanced/{split}.log",
    benchmark:
        "benchmarks/merge_enhanced/{split}.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        unet=config["models"]["unet"],
        wavelet=config["wavelet"],
        size=config["ingest"]["size"],
    script:
        "../workflow_scripts/merge_enhanced.py"
