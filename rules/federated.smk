# Federated mode (Flower): the train split's actors are partitioned into sites; F_u is trained across
# the sites by FedAvg (FedProx optional) on Flower's simulation engine, each site seeing only its own
# clips; Table 6 compares it with the centralised F_u of Table 1.
FED_STRATEGIES = config["federated"]["strategies"]
# Table 6 rows (config/design.yaml): Table 1's rows of the representations it names, and rows of
# their own (a federated pipeline's representation against a centralised one: rules/federated_bottleneck.smk)
TABLE6 = list(PLAN.table6)


rule federated_partition:
    input:
        index=INDEX,
    output:
        partition=f"{RES}/federated/partition.parquet",
        sites=f"{RES}/federated/sites.csv",
    log:
        "logs/federated/partition.log",
    benchmark:
        "benchmarks/federated_partition.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        sites=config["federated"]["sites"],
        seed=config["federated"]["seed"],
    script:
        "../workflow_scripts/federated_partition.py"


rule federated_utility:
    input:
        train=lambda w: rep_clips(w.rep, "train"),
        test=lambda w: rep_clips(w.rep, "test"),
        index=INDEX,
        partition=rules.federated_partition.output.partition,
        weights=weights_file("utility"),
    output:
        model=f"{RES}/models/federated/{{strategy}}/{{rep}}.pt",
        metrics=f"{RES}/metrics/federated/{{strategy}}/{{rep}}.json",
        rounds=f"{RES}/federated/{{strategy}}/{{rep}}/rounds.csv",
    log:
        "logs/federated/{strategy}/{rep}.log",
    benchmark:
        "benchmarks/federated_utility/{strategy}/{rep}.tsv"
    wildcard_constraints:
        strategy="fedavg|fedprox",
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        model=config["models"]["utility"],
        train=training("utility"),
        federated=config["federated"],
        work=lambda w: f"{RES}/federated/{w.strategy}/{w.rep}",
    script:
        "../workflow_scripts/federated_utility.py"


rule table6:
    input:
        utility=expand(
            f"{RES}/metrics/utility/{{rep}}.json",
            rep=list(dict.fromkeys(r.central for r in TABLE6)),
        ),
        federated=expand(
            f"{RES}/metrics/federated/{{strategy}}/{{rep}}.json",
            strategy=FED_STRATEGIES,
            rep=[r.rep for r in TABLE6],
        ),
        index=INDEX,
    output:
        table6=report(
            f"{RES}/tables/table6.csv",
            caption="../report/table6.rst",
            category="Tables",
        ),
    log:
        "logs/federated/table6.log",
    benchmark:
        "benchmarks/table6.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        rows=TABLE6,
        strategies=FED_STRATEGIES,
    script:
        "../workflow_scripts/table6.py"
