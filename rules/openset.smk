# Open-set mode (issue 15, after arXiv 2603.21387): unseen test identities and no identity labels.
# openset_split writes the identity-disjoint split of the ingested clips with a label-free index
# (no actor) and an evaluation-only identity table, read only by the falsification scoring and the
# audit of the video prior. Representations of this split are named "open-*" (rep_clips /
# rep_index in common.smk); blur and flow come from the generic baseline rules, F_u from the
# generic utility rule, the compensator of the label-free method from train_compensator.
OPENSET = config["openset"]
OPEN_IDENTITIES = f"{RES}/data/cremad-open/identities.parquet"
# Table 5 (config/design.yaml): (approach, representation); a per_blur_sigma row is one row per blur
# sigma of the Table 1 sweep.
TABLE5 = list(PLAN.table5)


rule openset_split:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        index=INDEX,
    output:
        train=rep_clips(f"{OPEN}original", "train"),
        test=rep_clips(f"{OPEN}original", "test"),
        index=OPEN_INDEX,
        identities=OPEN_IDENTITIES,
        summary=f"{RES}/data/cremad-open/split.json",
    log:
        "logs/openset/split.log",
    benchmark:
        "benchmarks/openset_split.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        test_actors=OPENSET["test_actors"],
        seed=config["seed"],
        # the corpus' generator landmarks (beside the ingested clips when it has them), copied for the
        # open-TRAIN clips only, beside them: the open-set bottleneck's basis and targets (issue 27)
        landmarks={
            split: f"{RES}/data/cremad/{split}_landmarks.npy" for split in SPLITS
        },
        train_landmarks=ingest_train_landmarks(OPEN),
    script:
        "../workflow_scripts/openset_split.py"


# openset.negatives: select -- chosen on a validation slice of the open-train actors' clips (never test)
NEGATIVES_SELECTION = (
    f"{RES}/metrics/openset/negatives.json" if OPENSET["negatives"] == "select" else []
)


rule select_negatives:
    input:
        train=rep_clips(f"{OPEN}original", "train"),  # the open-TRAIN clips only: fit and validation
        index=OPEN_INDEX,
        identities=OPEN_IDENTITIES,  # the validation slice per open-train actor, identity-level scoring
        prior=f"{RES}/models/openset/embedder_dfew.pt",
        controller=EXPRESSION_MODEL,
    output:
        metrics=f"{RES}/metrics/openset/negatives.json",
    log:
        "logs/openset/select_negatives.log",
    benchmark:
        "benchmarks/select_negatives.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        select=OPENSET["select_negatives"],
        embedder=OPENSET["embedder"],
        train=OPENSET["train"],
        unet=config["models"]["unet"],
        wavelet=config["wavelet"],
        l1_weight=OPENSET["l1_weight"],
        expression=config["models"]["expression"],
    script:
        "../workflow_scripts/select_negatives.py"


rule train_embedder:
    input:
        # the open split's train clips (suppression) or the in-the-wild corpus' (validation prior)
        train=lambda w: (
            rep_clips(f"{OPEN}original", "train")
            if w.corpus == "cremad-open"
            else clips(w.corpus, "train")
        ),
        # the open split's label-free index (emotions, for openset.negatives: same_emotion)
        index=lambda w: OPEN_INDEX if w.corpus == "cremad-open" else [],
        # openset.negatives: select -- the choice made on validation (rule select_negatives)
        selection=lambda w: NEGATIVES_SELECTION if w.corpus == "cremad-open" else [],
    output:
        model=f"{RES}/models/openset/embedder_{{corpus}}.pt",
        metrics=f"{RES}/metrics/openset/embedder_{{corpus}}.json",
        batches=f"{RES}/metrics/openset/embedder_{{corpus}}_batches.npy",
    log:
        "logs/openset/train_embedder/{corpus}.log",
    benchmark:
        "benchmarks/train_embedder/{corpus}.tsv"
    wildcard_constraints:
        corpus="cremad-open|dfew",
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        embedder=OPENSET["embedder"],
        train=OPENSET["train"]["embedder"],
        # the validation prior (in-the-wild corpus) stays the plain video prior
        negatives=lambda w: OPENSET["negatives"] if w.corpus == "cremad-open" else "all",
    script:
        "../workflow_scripts/train_embedder.py"


rule openset_prior_audit:
    input:
        batches=f"{RES}/metrics/openset/embedder_cremad-open_batches.npy",
        identities=OPEN_IDENTITIES,
    output:
        metrics=f"{RES}/metrics/openset/prior_audit.json",
    log:
        "logs/openset/prior_audit.log",
    benchmark:
        "benchmarks/openset_prior_audit.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    script:
        "../workflow_scripts/prior_audit.py"


rule train_open_enhancers:
    input:
        embedder=f"{RES}/models/openset/embedder_cremad-open.pt",
        train=rep_clips(f"{OPEN}original", "train"),
        test=rep_clips(f"{OPEN}original", "test"),
        index=OPEN_INDEX,
        selection=NEGATIVES_SELECTION,
    output:
        low=f"{RES}/models/openset/enhancer_low.pt",
        high=f"{RES}/models/openset/enhancer_high.pt",
        metrics=f"{RES}/metrics/openset/enhancers.json",
        train=f"{RES}/reps/{OPEN}G/train.npy",
        test=f"{RES}/reps/{OPEN}G/test.npy",
    log:
        "logs/openset/train_open_enhancers.log",
    benchmark:
        "benchmarks/train_open_enhancers.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        unet=config["models"]["unet"],
        wavelet=config["wavelet"],
        embedder=OPENSET["embedder"],
        warmup=OPENSET["train"]["warmup"],
        train=OPENSET["train"]["enhancer"],
        l1_weight=OPENSET["l1_weight"],
        negatives=OPENSET["negatives"],
    script:
        "../workflow_scripts/train_open_enhancers.py"


# "Ours (closed-set training)" (design.yaml: open-ours-closed applies the recipe of `ours`): the
# closed-set method's identity-supervised models (V_pl, C_lpr / C_hpr, F_lpr / F_hpr) and F_fc retrained
# on the open-TRAIN actors' clips only (their closed train / test clips, actors as labels), by the
# closed-set rules themselves (Snakemake rule inheritance: the openset_closed_* rules, each defined next
# to its parent in rules/wavelet.smk, privacy.smk and compensation.smk), then applied to the open split.
rule openset_closed_corpus:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        index=INDEX,
        identities=OPEN_IDENTITIES,  # which actors are open-train (the unseen ones get no clip)
    output:
        train=f"{OPEN_CLOSED}/data/train.npy",
        test=f"{OPEN_CLOSED}/data/test.npy",
        index=f"{OPEN_CLOSED}/data/index.parquet",
    log:
        "logs/openset/closed/corpus.log",
    benchmark:
        "benchmarks/openset_closed/corpus.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    script:
        "../workflow_scripts/openset_closed_corpus.py"


rule openset_apply_closed:
    input:
        # the models retrained on the open-train actors only (never an unseen actor's clip)
        low=f"{OPEN_CLOSED}/models/enhancer_low.pt",
        high=f"{OPEN_CLOSED}/models/enhancer_high.pt",
        compensator=f"{OPEN_CLOSED}/models/compensator.pt",
        train=rep_clips(f"{OPEN}original", "train"),
        test=rep_clips(f"{OPEN}original", "test"),
    output:
        train=f"{RES}/reps/{OPEN}ours-closed/train.npy",
        test=f"{RES}/reps/{OPEN}ours-closed/test.npy",
    log:
        "logs/openset/apply_closed.log",
    benchmark:
        "benchmarks/openset_apply_closed.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        unet=config["models"]["unet"],
        uvit=config["models"]["uvit"],
        wavelet=config["wavelet"],
    script:
        "../workflow_scripts/apply_closed.py"


# Falsification of Table 5's representations in one job (issue 30: a light scorer, the priors loaded
# and the gallery embedded once; a change to any of them reruns all, each a few seconds of inference).
FALSIFIED = list(dict.fromkeys(rep for _, rep in TABLE5))


rule falsify:
    input:
        prior=f"{RES}/models/openset/embedder_dfew.pt",
        validator=IDENTITY_MODEL,
        query=[rep_clips(rep, "test") for rep in FALSIFIED],
        gallery=rep_clips(f"{OPEN}original", "test"),
        identities=OPEN_IDENTITIES,  # evaluation only: identity-level rank-1
    output:
        metrics=[f"{RES}/metrics/falsification/{rep}.json" for rep in FALSIFIED],
    log:
        "logs/openset/falsify.log",
    benchmark:
        "benchmarks/falsify.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        embedder=OPENSET["embedder"],
        model=config["models"]["identity"],
        reps=FALSIFIED,
    script:
        "../workflow_scripts/falsify.py"


rule open_attack:
    input:
        # the open-TRAIN actors' clips of this representation (never a test clip), the unseen test clips
        train=lambda w: rep_clips(w.rep, "train"),
        query=lambda w: rep_clips(w.rep, "test"),
        gallery=rep_clips(f"{OPEN}original", "test"),
        identities=OPEN_IDENTITIES,  # the attacker's labels (train rows) and the scoring (test rows)
    output:
        metrics=f"{RES}/metrics/openset/attack/{{rep}}.json",
    log:
        "logs/openset/open_attack/{rep}.log",
    benchmark:
        "benchmarks/open_attack/{rep}.tsv"
    wildcard_constraints:
        rep=f"{OPEN}.+",
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        attack=OPENSET["attack"],
        train=OPENSET["attack"]["train"],
        convergence=dict(config["threat"]["attacks"]["convergence"]),  # the attack suite's stop rule
        leakage_seed=config["leakage"]["seed"],
    script:
        "../workflow_scripts/open_attack.py"


rule table5:
    input:
        falsification=[f"{RES}/metrics/falsification/{rep}.json" for _, rep in TABLE5],
        retrained=[f"{RES}/metrics/openset/attack/{rep}.json" for _, rep in TABLE5],
        utility=[f"{RES}/metrics/utility/{rep}.json" for _, rep in TABLE5],
        audit=rules.openset_prior_audit.output.metrics,
        index=OPEN_INDEX,
        identities=OPEN_IDENTITIES,  # evaluation only: ACC's actor-clustered interval
    output:
        table=report(
            f"{RES}/tables/table5.csv",
            caption="../report/table5.rst",
            category="Tables",
        ),
        goals=f"{RES}/metrics/openset/goals.json",
    log:
        "logs/table5.log",
    benchmark:
        "benchmarks/table5.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        rows=TABLE5,
        method=PLAN.table5_method,
        reference=PLAN.table5_reference,
    script:
        "../workflow_scripts/table5.py"
