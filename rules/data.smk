# Stage 0: the corpora (embedded synthetic ones or real CREMA-D / DFEW) and their ingest.


def corpus_root(corpus):
    """Folder ingest reads: the generated corpus, or the real one named in config."""
    if config["data"]["source"] == "synthetic":
        return f"{RES}/corpus/{corpus}"
    key = {"cremad": "cremad_root", "dfew": "dfew_root"}[corpus]
    if not config["data"][key]:
        raise ValueError(f"config key data.{key} must name a folder when data.source is 'real'")
    return config["data"][key]


rule generate_corpus:
    output:
        videos=directory(f"{RES}/corpus/cremad/VideoFlash"),
        landmarks=f"{RES}/corpus/cremad/landmarks.npz",
    params:
        synthetic=config["data"]["synthetic"],
        seed=config["seed"],
    log:
        "logs/generate_corpus.log",
    benchmark:
        "benchmarks/generate_corpus.tsv"
    script:
        "../workflow_scripts/generate_corpus.py"


rule generate_wild_corpus:
    output:
        clips=directory(f"{RES}/corpus/dfew/Clip"),
        labels=directory(f"{RES}/corpus/dfew/EmoLabel_DataSplit"),
    params:
        synthetic=config["data"]["synthetic"],
        seed=config["seed"],
    log:
        "logs/generate_wild_corpus.log",
    benchmark:
        "benchmarks/generate_wild_corpus.tsv"
    script:
        "../workflow_scripts/generate_wild_corpus.py"


def ingest_input(corpus):
    if config["data"]["source"] != "synthetic":
        return [corpus_root(corpus)]  # the real corpus folder: a missing one stops the run before any job
    if corpus == "cremad":
        return rules.generate_corpus.output
    return rules.generate_wild_corpus.output


rule ingest_cremad:
    input:
        ingest_input("cremad"),
    output:
        train=f"{RES}/data/cremad/train.npy",
        test=f"{RES}/data/cremad/test.npy",
        index=f"{RES}/data/cremad/index.parquet",
        rejected=f"{RES}/data/cremad/rejected.parquet",
    params:
        corpus="cremad",
        root=corpus_root("cremad"),
        ingest=config["ingest"],
        seed=config["seed"],
    log:
        "logs/ingest_cremad.log",
    benchmark:
        "benchmarks/ingest_cremad.tsv"
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
    params:
        corpus="dfew",
        root=corpus_root("dfew"),
        fold=config["data"]["dfew_fold"],
        ingest=config["ingest"],
        seed=config["seed"],
    log:
        "logs/ingest_dfew.log",
    benchmark:
        "benchmarks/ingest_dfew.tsv"
    script:
        "../workflow_scripts/ingest.py"
