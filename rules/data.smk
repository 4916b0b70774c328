# Stage 0: the corpora (embedded synthetic ones or real CREMA-D / DFEW) and their ingest.


rule generate_corpus:
    output:
        videos=directory(f"{RES}/corpus/cremad/VideoFlash"),
        landmarks=f"{RES}/corpus/cremad/landmarks.npz",
    log:
        "logs/generate_corpus.log",
    benchmark:
        "benchmarks/generate_corpus.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        synthetic=config["data"]["synthetic"],
        seed=config["seed"],
    script:
        "../workflow_scripts/generate_corpus.py"


rule generate_wild_corpus:
    output:
        clips=directory(f"{RES}/corpus/dfew/Clip"),
        labels=directory(f"{RES}/corpus/dfew/EmoLabel_DataSplit"),
    log:
        "logs/generate_wild_corpus.log",
    benchmark:
        "benchmarks/generate_wild_corpus.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        synthetic=config["data"]["synthetic"],
        seed=config["seed"],
    script:
        "../workflow_scripts/generate_wild_corpus.py"


rule ingest_cremad:
    input:
        ingest_input("cremad"),
    output:
        train=f"{RES}/data/cremad/train.npy",
        test=f"{RES}/data/cremad/test.npy",
        index=f"{RES}/data/cremad/index.parquet",
        rejected=f"{RES}/data/cremad/rejected.parquet",
    log:
        "logs/ingest_cremad.log",
    benchmark:
        "benchmarks/ingest_cremad.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        corpus="cremad",
        real=config["data"]["source"] == "real",
        ingest=config["ingest"],
        seed=config["seed"],
    script:
        "../workflow_scripts/ingest.py"


rule ingest_dfew:
    input:
        ingest_input("dfew"),
    output:
        train=f"{RES}/data/dfew/train.npy",
        test=f"{RES}/data/dfew/test.npy",
        index=f"{RES}/data/dfew/index.parquet",
        rejected=f"{RES}/data/dfew/rejected.parquet",
    log:
        "logs/ingest_dfew.log",
    benchmark:
        "benchmarks/ingest_dfew.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        corpus="dfew",
        real=config["data"]["source"] == "real",
        fold=config["data"]["dfew_fold"],
        ingest=config["ingest"],
        seed=config["seed"],
    script:
        "../workflow_scripts/ingest.py"
