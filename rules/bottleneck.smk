# Issue 27, "Ours (bottleneck)": privacy by construction (design.yaml: bottleneck-render, bottleneck). A k-dim expression basis fitted label-free on within-clip deviations
# of the train split's true landmarks -> a CNN trained on the train split's frames to estimate each
# frame's code from pixels, applied to every split -> a template face that belongs to nobody, warped
# to the code: reps/bottleneck-render. F_fc on top (rule train_compensator,
# COMPENSATED["bottleneck"] = ("bottleneck-render", ...)) gives reps/bottleneck. No rule that
# produces a representation reads a test clip's true landmarks or any label.
# Every stage serves two scopes (wildcard {scope}): "" the closed set, "open-" the open set of Table 5
# (rules/openset.smk): basis and estimator learned on the open-TRAIN clips only (their landmarks copied
# by openset_split), applied to open-test; F_fc on top gives open-bottleneck, as open-ours.
from ppfer_core.design import anonymizer_k

BOTTLENECK = f"{RES}/{{scope}}bottleneck"
SCOPE = f"({OPEN})?"


# The train split's 68 landmarks, the basis' data and the estimator's targets: ingest's (the embedded
# corpus' generator) or dlib's (a real corpus), bottleneck.landmarks: auto | ingest | dlib.
rule bottleneck_landmarks:
    input:
        # ingest / openset_split ran (they write the landmarks beside the clips)
        train=scope_clips("train"),
    output:
        train=f"{BOTTLENECK}/landmarks/train.npy",
    log:
        "logs/bottleneck/{scope}bottleneck_landmarks.log",
    benchmark:
        "benchmarks/bottleneck/{scope}bottleneck_landmarks.tsv"
    wildcard_constraints:
        scope=SCOPE,
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        source=config["bottleneck"]["landmarks"],
        ingest=lambda w: ingest_train_landmarks(w.scope),
    script:
        "../workflow_scripts/bottleneck_landmarks.py"


rule fit_basis:
    input:
        landmarks=rules.bottleneck_landmarks.output.train,
    output:
        basis=f"{RES}/models/{{scope}}bottleneck/basis.npz",
        metrics=f"{RES}/metrics/{{scope}}bottleneck/basis.json",
    log:
        "logs/bottleneck/{scope}fit_basis.log",
    benchmark:
        "benchmarks/bottleneck/{scope}fit_basis.tsv"
    wildcard_constraints:
        scope=SCOPE,
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        bottleneck=config["bottleneck"],
        size=config["ingest"]["size"],
    script:
        "../workflow_scripts/fit_basis.py"


rule estimate_codes:
    input:
        train=scope_clips("train"),
        test=scope_clips("test"),
        basis=rules.fit_basis.output.basis,
        landmarks=rules.bottleneck_landmarks.output.train,
    output:
        model=f"{RES}/models/{{scope}}bottleneck/estimator.pt",
        estimates_train=f"{BOTTLENECK}/estimates/train.npy",
        estimates_test=f"{BOTTLENECK}/estimates/test.npy",
        train=f"{BOTTLENECK}/codes/train.npy",
        test=f"{BOTTLENECK}/codes/test.npy",
    log:
        "logs/bottleneck/{scope}estimate_codes.log",
    benchmark:
        "benchmarks/bottleneck/{scope}estimate_codes.tsv"
    wildcard_constraints:
        scope=SCOPE,
    conda:
        "../envs/ppfer.yaml"
    # it trains the code estimator (a CNN): a GPU rule, as every training
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        bottleneck=config["bottleneck"],
    script:
        "../workflow_scripts/estimate_codes.py"


rule render_bottleneck:
    input:
        basis=rules.fit_basis.output.basis,
        train=rules.estimate_codes.output.train,
        test=rules.estimate_codes.output.test,
        # the corpus' actor ids (both scopes), only to check that the template is none of them
        index=INDEX,
    output:
        train=f"{RES}/reps/{{scope}}bottleneck-render/train.npy",
        test=f"{RES}/reps/{{scope}}bottleneck-render/test.npy",
        template=f"{RES}/reps/{{scope}}bottleneck-render/template.png",
    log:
        "logs/bottleneck/{scope}render_bottleneck.log",
    benchmark:
        "benchmarks/bottleneck/{scope}render_bottleneck.tsv"
    wildcard_constraints:
        scope=SCOPE,
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        bottleneck=config["bottleneck"],
        size=config["ingest"]["size"],
    script:
        "../workflow_scripts/render_bottleneck.py"


# "Ours (bottleneck)"'s k-sweep (bottleneck.sweep, off by default, config/bottleneck_sweep.yaml): the same
# three rules once per other basis size K (the plan's points, ppfer_core.families.bottleneck_points), with
# the k{K} folders and params bottleneck.* at k = K -> bottleneck-render-k{K}; F_fc on it
# (train_compensator) -> bottleneck-k{K}. The table and figure: rules/bottleneck_sweep.smk. Every path
# is the closed set's, written out (no variable or wildcard of the rules above), and every directive
# that names one is overridden.
BOTTLENECK_SWEEP_KS = [str(pt.k) for pt in PLAN.bottleneck_points.values() if pt.tag]
# fit_basis_k also fits the basis ppfer anonymize --method bottleneck packs when anonymize.bottleneck_k
# is not bottleneck.k (rules/anonymize.smk; ppfer_core.design.anonymizer_basis)
ANONYMIZER_KS = [str(anonymizer_k(config))]


use rule fit_basis as fit_basis_k with:
    input:
        landmarks=f"{RES}/bottleneck/landmarks/train.npy",  # rule bottleneck_landmarks' (closed set)
    output:
        basis=f"{RES}/models/bottleneck/k{{k}}/basis.npz",
        metrics=f"{RES}/metrics/bottleneck/k{{k}}/basis.json",
    log:
        "logs/bottleneck/fit_basis/k{k}.log",
    benchmark:
        "benchmarks/bottleneck/fit_basis/k{k}.tsv"
    wildcard_constraints:
        k=rep_pattern(BOTTLENECK_SWEEP_KS + ANONYMIZER_KS),
    params:
        seed=config["seed"],
        bottleneck=lambda w: {**config["bottleneck"], "k": int(w.k)},
        size=config["ingest"]["size"],


use rule estimate_codes as estimate_codes_k with:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        basis=rules.fit_basis_k.output.basis,
        landmarks=f"{RES}/bottleneck/landmarks/train.npy",
    output:
        model=f"{RES}/models/bottleneck/k{{k}}/estimator.pt",
        estimates_train=f"{RES}/bottleneck/k{{k}}/estimates/train.npy",
        estimates_test=f"{RES}/bottleneck/k{{k}}/estimates/test.npy",
        train=f"{RES}/bottleneck/k{{k}}/codes/train.npy",
        test=f"{RES}/bottleneck/k{{k}}/codes/test.npy",
    log:
        "logs/bottleneck/estimate_codes/k{k}.log",
    benchmark:
        "benchmarks/bottleneck/estimate_codes/k{k}.tsv"
    wildcard_constraints:
        k=rep_pattern(BOTTLENECK_SWEEP_KS),
    params:
        seed=config["seed"],
        bottleneck=lambda w: {**config["bottleneck"], "k": int(w.k)},


use rule render_bottleneck as render_bottleneck_k with:
    input:
        basis=rules.fit_basis_k.output.basis,
        train=rules.estimate_codes_k.output.train,
        test=rules.estimate_codes_k.output.test,
        index=INDEX,
    output:
        train=f"{RES}/reps/bottleneck-render-k{{k}}/train.npy",
        test=f"{RES}/reps/bottleneck-render-k{{k}}/test.npy",
        template=f"{RES}/reps/bottleneck-render-k{{k}}/template.png",
    log:
        "logs/bottleneck/render_bottleneck/k{k}.log",
    benchmark:
        "benchmarks/bottleneck/render_bottleneck/k{k}.tsv"
    wildcard_constraints:
        k=rep_pattern(BOTTLENECK_SWEEP_KS),
    params:
        seed=config["seed"],
        bottleneck=lambda w: {**config["bottleneck"], "k": int(w.k)},
        size=config["ingest"]["size"],
