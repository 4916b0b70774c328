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
    log:
        "logs/train_expression.log",
    benchmark:
        "benchmarks/train_expression.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        model=config["models"]["expression"],
        train=training("expression"),
    script:
        "../workflow_scripts/train_expression.py"


rule train_compensator:
    input:
        controller=EXPRESSION_MODEL,
        train=lambda w: rep_clips(COMPENSATED[w.rep][0], "train"),
        test=lambda w: rep_clips(COMPENSATED[w.rep][0], "test"),
        # the MSE target (ablation task 4): the original frames, or G (COMPENSATION_TARGET)
        original=lambda w: rep_clips(
            COMPENSATION_TARGET.get(w.rep, family_original(w.rep)), "train"
        ),
        index=lambda w: rep_index(w.rep),
        weights=weights_file("uvit"),
    output:
        model=f"{RES}/models/compensator/{{rep}}.pt",
        metrics=f"{RES}/metrics/compensator/{{rep}}.json",
        train=f"{RES}/reps/{{rep}}/train.npy",
        test=f"{RES}/reps/{{rep}}/test.npy",
    log:
        "logs/train_compensator/{rep}.log",
    benchmark:
        "benchmarks/train_compensator/{rep}.tsv"
    wildcard_constraints:
        rep="|".join(COMPENSATED),
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        uvit=config["models"]["uvit"],
        model=config["models"]["expression"],
        train=training("compensator"),
        loss=lambda w: COMPENSATED[w.rep][1],
    script:
        "../workflow_scripts/train_compensator.py"


# "Ours (closed-set training)" (rules/openset.smk): the same rule on the open-train actors' clips only
# (OPEN_CLOSED, rules/common.smk); defined next to its parent so that the include order stays free.
use rule train_compensator as openset_closed_compensator with:
    input:
        controller=EXPRESSION_MODEL,
        train=f"{OPEN_CLOSED}/G/train.npy",
        test=f"{OPEN_CLOSED}/G/test.npy",
        original=f"{OPEN_CLOSED}/data/train.npy",
        index=f"{OPEN_CLOSED}/data/index.parquet",
        weights=weights_file("uvit"),
    output:
        model=f"{OPEN_CLOSED}/models/compensator.pt",
        metrics=f"{OPEN_CLOSED}/metrics/compensator.json",
        train=f"{OPEN_CLOSED}/C/train.npy",
        test=f"{OPEN_CLOSED}/C/test.npy",
    log:
        "logs/openset/closed/train_compensator.log",
    benchmark:
        "benchmarks/openset_closed/train_compensator.tsv"
    params:
        seed=config["seed"],
        uvit=config["models"]["uvit"],
        model=config["models"]["expression"],
        train=training("compensator"),
        loss=CLOSED_RECIPE.compensate.loss,
