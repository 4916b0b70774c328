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
