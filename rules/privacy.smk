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


# "Ours (closed-set training)" (rules/openset.smk): the same rule on the open-train actors' clips only
# (OPEN_CLOSED, rules/common.smk); defined next to its parent so that the include order stays free.
use rule train_identity as openset_closed_identity with:
    input:
        train=f"{OPEN_CLOSED}/data/train.npy",
        test=f"{OPEN_CLOSED}/data/test.npy",
        index=f"{OPEN_CLOSED}/data/index.parquet",
        weights=weights_file("identity"),
    output:
        model=f"{OPEN_CLOSED}/models/identity.pt",
        metrics=f"{OPEN_CLOSED}/metrics/identity.json",
    log:
        "logs/openset/closed/train_identity.log",
    benchmark:
        "benchmarks/openset_closed/train_identity.tsv"


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


# "Ours (closed-set training)" (rules/openset.smk): the same rule on the open-train actors' clips only
# (OPEN_CLOSED, rules/common.smk); defined next to its parent so that the include order stays free.
use rule train_controller as openset_closed_controller with:
    input:
        identity=f"{OPEN_CLOSED}/models/identity.pt",
        train=open_closed_bands("train"),
        test=open_closed_bands("test"),
        index=f"{OPEN_CLOSED}/data/index.parquet",
    output:
        model=f"{OPEN_CLOSED}/models/controller_{{band}}.pt",
        metrics=f"{OPEN_CLOSED}/metrics/controller_{{band}}.json",
    log:
        "logs/openset/closed/train_controller/{band}.log",
    benchmark:
        "benchmarks/openset_closed/train_controller/{band}.tsv"
    wildcard_constraints:
        band="low|high",


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


# "Ours (closed-set training)" (rules/openset.smk): the same rule on the open-train actors' clips only
# (OPEN_CLOSED, rules/common.smk); defined next to its parent so that the include order stays free.
use rule pretrain_enhancer as openset_closed_pretrain with:
    input:
        bands=open_closed_bands("train"),
    output:
        model=f"{OPEN_CLOSED}/models/enhancer_init.pt",
        metrics=f"{OPEN_CLOSED}/metrics/enhancer_init.json",
    log:
        "logs/openset/closed/pretrain_enhancer.log",
    benchmark:
        "benchmarks/openset_closed/pretrain_enhancer.tsv"


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


# "Ours (closed-set training)" (rules/openset.smk): the same rule on the open-train actors' clips only
# (OPEN_CLOSED, rules/common.smk); defined next to its parent so that the include order stays free.
use rule train_enhancer as openset_closed_enhancer with:
    input:
        init=f"{OPEN_CLOSED}/models/enhancer_init.pt",
        controller=f"{OPEN_CLOSED}/models/controller_{{band}}.pt",
        train=open_closed_bands("train"),
        index=f"{OPEN_CLOSED}/data/index.parquet",
    output:
        model=f"{OPEN_CLOSED}/models/enhancer_{{band}}.pt",
        metrics=f"{OPEN_CLOSED}/metrics/enhancer_{{band}}.json",
    log:
        "logs/openset/closed/train_enhancer/{band}.log",
    benchmark:
        "benchmarks/openset_closed/train_enhancer/{band}.tsv"


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


# "Ours (closed-set training)" (rules/openset.smk): the same rule on the open-train actors' clips only
# (OPEN_CLOSED, rules/common.smk); defined next to its parent so that the include order stays free.
use rule merge_enhanced as openset_closed_merge with:
    input:
        low=f"{OPEN_CLOSED}/models/enhancer_low.pt",
        high=f"{OPEN_CLOSED}/models/enhancer_high.pt",
        bands=open_closed_bands("{split}"),
    output:
        clips=f"{OPEN_CLOSED}/G/{{split}}.npy",
    log:
        "logs/openset/closed/merge_enhanced/{split}.log",
    benchmark:
        "benchmarks/openset_closed/merge_enhanced/{split}.tsv"
