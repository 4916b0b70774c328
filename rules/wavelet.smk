# Stage 1 (Figure 2, left): wavelet split of every frame into low- and high-frequency bands.


rule wavelet_split:
    input:
        clips=clips("cremad", "{split}"),
    output:
        low=f"{RES}/wavelet/{{split}}/low.npy",
        highs=[f"{RES}/wavelet/{{split}}/high_{k}.npy" for k in LEVELS],
    log:
        "logs/wavelet_split/{split}.log",
    benchmark:
        "benchmarks/wavelet_split/{split}.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        wavelet=config["wavelet"],
    script:
        "../workflow_scripts/wavelet_split.py"


# "Ours (closed-set training)" (rules/openset.smk): the same rule on the open-train actors' clips only
# (OPEN_CLOSED, rules/common.smk); defined next to its parent so that the include order stays free.
use rule wavelet_split as openset_closed_wavelet with:
    input:
        clips=f"{OPEN_CLOSED}/data/{{split}}.npy",
    output:
        low=f"{OPEN_CLOSED}/wavelet/{{split}}/low.npy",
        highs=[f"{OPEN_CLOSED}/wavelet/{{split}}/high_{k}.npy" for k in LEVELS],
    log:
        "logs/openset/closed/wavelet_split/{split}.log",
    benchmark:
        "benchmarks/openset_closed/wavelet_split/{split}.tsv"
