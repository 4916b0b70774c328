# Figure 2 (2): controlled feature compensation. Expression controller C_fc (trained on the
# in-the-wild corpus) and the U-ViT feature compensator F_fc, whose outputs are C ("ours").


rule train_expression:
    input:
        train=clips("dfew", "train"),
        test=clips("dfew", "test"),
        index=WILD_INDEX,
        main_test=clips("cremad", "test"),
        main_index=INDEX,
        weights=weights_file("expression"),
    output:
        model=f"{RES}/models/expression.pt",
        metrics=f"{RES}/metrics/expression.json",
    params:
        seed=config["seed"],
        model=config["models"]["expression"],
        train=training("expression"),
    threads: workflow.cores
    resources:
        **GPU,
    log:
        "logs/train_expression.log",
    benchmark:
        "benchmarks/train_expression.tsv"
    script:
        "../workflow_scripts/train_expression.py"


rule train_compensator:
    input:
        controller=rules.train_expression.output.model,
        train=rep_clips("G", "train"),
        test=rep_clips("G", "test"),
        original=clips("cremad", "train"),
        index=INDEX,
        weights=weights_file("uvit"),
    output:
        model=f"{RES}/models/compensator.pt",
        metrics=f"{RES}/metrics/compensator.json",
        train=f"{RES}/reps/ours/train.npy",
        test=f"{RES}/reps/ours/test.npy",
    params:
        seed=config["seed"],
        uvit=config["models"]["uvit"],
        model=config["models"]["expression"],
        train=training("compensator"),
        loss="ce",
    threads: workflow.cores
    resources:
        **GPU,
    log:
        "logs/train_compensator.log",
    benchmark:
        "benchmarks/train_compensator.tsv"
    script:
        "../workflow_scripts/train_compensator.py"
