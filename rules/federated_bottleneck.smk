# Issue 27 in federated mode: Table 6's row of the bottleneck in which no stage sees another site's
# raw clips or landmarks. The sites' folders (their actors' train clips and landmarks, no label) ->
# the basis from the sites' summed statistics and the code estimator by FedAvg (Flower simulation)
# -> every split's codes and renders (representation fed-bottleneck-render, design.yaml) -> F_u by
# FedAvg on them (rule federated_utility). F_fc is left out of that row.
FED_BN = f"{RES}/federated/bottleneck"
FED_BN_SITES = [
    f"{FED_BN}/sites/site-{k}/{name}"
    for k in range(1, config["federated"]["sites"] + 1)
    for name in ("train.npy", "landmarks.npy", "site.json")
]


# The data as it sits at the sites (in a deployment each site holds its own folder).
rule federated_bottleneck_sites:
    input:
        train=clips("cremad", "train"),
        landmarks=f"{RES}/bottleneck/landmarks/train.npy",  # rule bottleneck_landmarks
        index=INDEX,
        partition=f"{RES}/federated/partition.parquet",  # rule federated_partition
    output:
        sites=temp(FED_BN_SITES),
    log:
        "logs/federated/bottleneck_sites.log",
    benchmark:
        "benchmarks/federated_bottleneck_sites.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        root=lambda w, output: output.sites[0].rsplit("/", 2)[0],  # FED_BN/sites
    script:
        "../workflow_scripts/federated_bottleneck_sites.py"


# Reads the site folders only (tests/test_federated_bottleneck.py checks the rule's inputs).
rule federated_code_estimator:
    input:
        sites=rules.federated_bottleneck_sites.output.sites,
    output:
        basis=f"{RES}/models/federated/bottleneck/basis.npz",
        model=f"{RES}/models/federated/bottleneck/estimator.pt",
        metrics=f"{RES}/metrics/federated/bottleneck/estimator.json",
        rounds=f"{FED_BN}/rounds.csv",
    log:
        "logs/federated/code_estimator.log",
    benchmark:
        "benchmarks/federated_code_estimator.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        bottleneck=config["bottleneck"],
        federated=config["federated"],
        size=config["ingest"]["size"],
        work=lambda w, output: output.rounds.rsplit("/", 1)[0],  # its resumable state: FED_BN/state.pt
    script:
        "../workflow_scripts/federated_code_estimator.py"


rule fed_estimate_codes:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        basis=rules.federated_code_estimator.output.basis,
        model=rules.federated_code_estimator.output.model,
    output:
        estimates_train=f"{FED_BN}/estimates/train.npy",
        estimates_test=f"{FED_BN}/estimates/test.npy",
        train=f"{FED_BN}/codes/train.npy",
        test=f"{FED_BN}/codes/test.npy",
    log:
        "logs/federated/fed_estimate_codes.log",
    benchmark:
        "benchmarks/fed_estimate_codes.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    script:
        "../workflow_scripts/apply_code_estimator.py"


# The renders, by rule render_bottleneck's script on the federated basis and codes.
rule render_fed_bottleneck:
    input:
        basis=rules.federated_code_estimator.output.basis,
        train=rules.fed_estimate_codes.output.train,
        test=rules.fed_estimate_codes.output.test,
        index=INDEX,  # the corpus' actors, only to check that the template is not one of them
    output:
        train=f"{RES}/reps/fed-bottleneck-render/train.npy",
        test=f"{RES}/reps/fed-bottleneck-render/test.npy",
        template=f"{RES}/reps/fed-bottleneck-render/template.png",
    log:
        "logs/federated/render_fed_bottleneck.log",
    benchmark:
        "benchmarks/render_fed_bottleneck.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        bottleneck=config["bottleneck"],
        size=config["ingest"]["size"],
    script:
        "../workflow_scripts/render_bottleneck.py"
