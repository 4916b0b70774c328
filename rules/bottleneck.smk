# Issue 27, "Ours (bottleneck)": privacy by construction. DRAFT, not included in the Snakefile: the
# lead wires it into the plan. Landmarks from pixels (a CNN trained on the train split's generator
# landmarks) -> a k-dim expression code on a label-free basis of within-clip deviations of the train
# split -> a template face that belongs to nobody, warped to the code: reps/bottleneck-render. F_fc
# on top (rule train_compensator, COMPENSATED["bottleneck"] = ("bottleneck-render", ...)) gives
# reps/bottleneck. No rule that produces a representation reads a test clip's true landmarks.

BOTTLENECK = f"{RES}/bottleneck"


rule train_landmarks:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        index=INDEX,  # ingest ran: it writes {split}_landmarks.npy beside the clips (not declared)
    output:
        model=f"{RES}/models/bottleneck/landmarks.pt",
        train=f"{BOTTLENECK}/landmarks/train.npy",
        test=f"{BOTTLENECK}/landmarks/test.npy",
    log:
        "logs/bottleneck/train_landmarks.log",
    benchmark:
        "benchmarks/bottleneck/train_landmarks.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        bottleneck=config["bottleneck"],
        # the generator's landmarks of the TRAIN split only (the regressor's targets)
        train_landmarks=f"{RES}/data/cremad/train_landmarks.npy",
    script:
        "../workflow_scripts/train_landmarks.py"


rule fit_basis:
    input:
        train=rules.train_landmarks.output.train,
        test=rules.train_landmarks.output.test,
        index=INDEX,  # the train actors, only to check that the template identity is not one of them
    output:
        basis=f"{RES}/models/bottleneck/basis.npz",
        train=f"{BOTTLENECK}/codes/train.npy",
        test=f"{BOTTLENECK}/codes/test.npy",
        metrics=f"{RES}/metrics/bottleneck/basis.json",
    log:
        "logs/bottleneck/fit_basis.log",
    benchmark:
        "benchmarks/bottleneck/fit_basis.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        bottleneck=config["bottleneck"],
        size=config["ingest"]["size"],
    script:
        "../workflow_scripts/fit_basis.py"


rule render_bottleneck:
    input:
        basis=rules.fit_basis.output.basis,
        train=rules.fit_basis.output.train,
        test=rules.fit_basis.output.test,
    output:
        train=f"{RES}/reps/bottleneck-render/train.npy",
        test=f"{RES}/reps/bottleneck-render/test.npy",
        template=f"{RES}/reps/bottleneck-render/template.png",
    log:
        "logs/bottleneck/render_bottleneck.log",
    benchmark:
        "benchmarks/bottleneck/render_bottleneck.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        bottleneck=config["bottleneck"],
        size=config["ingest"]["size"],
    script:
        "../workflow_scripts/render_bottleneck.py"


rule code_attacks:
    input:
        codes_train=rules.fit_basis.output.train,
        codes_test=rules.fit_basis.output.test,
        landmarks_train=rules.train_landmarks.output.train,
        landmarks_test=rules.train_landmarks.output.test,
        index=INDEX,
    output:
        metrics=f"{RES}/metrics/bottleneck/code_attacks.json",
    log:
        "logs/bottleneck/code_attacks.log",
    benchmark:
        "benchmarks/bottleneck/code_attacks.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        # evaluation only (the regressor's test error): this rule produces no representation
        true_test_landmarks=f"{RES}/data/cremad/test_landmarks.npy",
    script:
        "../workflow_scripts/code_attacks.py"
