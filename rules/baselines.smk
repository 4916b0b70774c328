# Paper §4.3 baselines, each a producer of a representation reps/{rep}/{split}.npy; PLR and ACC come
# from the generic leakage / utility rules (rules/evaluation.smk), the blur rows of Table 1 from the
# sweep by ppfer_core.blur_match (the checkpoint blur_match).
BASELINES = config["baselines"]
MATCH_REPS = blur_match_reps(BLUR_SWEEP)  # Ours and the sweep


# Table 1's two blur rows picked from the sweep on validation figures only (ppfer_core.blur_match):
# a checkpoint, so that the recovery attack (rules/threat.smk) runs on the two sigmas picked, not on
# every sigma (issue 30; the sweep table has no recovery column). It reads the selectable attackers'
# files (plr_worst's validation figure), the leakage and F_u files of Ours and the sweep.
checkpoint blur_match:
    input:
        **PLAN.suite_inputs(MATCH_REPS, selectable=True),
        leakage=expand(f"{RES}/metrics/leakage/{{rep}}.json", rep=MATCH_REPS),
        utility=expand(f"{RES}/metrics/utility/{{rep}}.json", rep=MATCH_REPS),
    output:
        match=BLUR_MATCH,
        blur_sweep=f"{RES}/tables/blur_sweep.csv",
    log:
        "logs/blur_match.log",
    benchmark:
        "benchmarks/blur_match.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        table1=TABLE1,
        blur_sweep=BLUR_SWEEP,
        blur_match=BASELINES["blur"]["match"],
    script:
        "../workflow_scripts/blur_match.py"


rule blur:
    input:
        train=lambda w: rep_clips(f"{w.fam}original", "train"),
        test=lambda w: rep_clips(f"{w.fam}original", "test"),
    output:
        train=f"{RES}/reps/{{fam}}blur-s{{sigma}}/train.npy",
        test=f"{RES}/reps/{{fam}}blur-s{{sigma}}/test.npy",
    log:
        "logs/baselines/{fam}blur-s{sigma}.log",
    benchmark:
        "benchmarks/blur/{fam}blur-s{sigma}.tsv"
    wildcard_constraints:
        fam=f"({OPEN})?",  # split family: "" closed set, "open-" the open set (rules/openset.smk)
        sigma=r"\d+(\.\d+)?",
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        sigma=lambda w: float(w.sigma),
    script:
        "../workflow_scripts/baseline_blur.py"


rule train_tradeoff:
    input:
        init=ENHANCER_INIT,
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        index=INDEX,
        weights=weights_file("utility"),
    output:
        model=f"{RES}/models/tradeoff.pt",
        metrics=f"{RES}/metrics/tradeoff.json",
        train=f"{RES}/reps/tradeoff/train.npy",
        test=f"{RES}/reps/tradeoff/test.npy",
    log:
        "logs/baselines/train_tradeoff.log",
    benchmark:
        "benchmarks/train_tradeoff.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        unet=config["models"]["unet"],
        utility=config["models"]["utility"],  # the R3D family of F_u
        tradeoff=BASELINES["tradeoff"],
    script:
        "../workflow_scripts/baseline_tradeoff.py"


rule flow:
    input:
        clips=lambda w: rep_clips(f"{w.fam}original", w.split),
    output:
        clips=f"{RES}/reps/{{fam}}flow/{{split}}.npy",
    log:
        "logs/baselines/{fam}flow/{split}.log",
    benchmark:
        "benchmarks/flow/{fam}{split}.tsv"
    wildcard_constraints:
        fam=f"({OPEN})?",  # split family, as in rule blur
        split="train|test",
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        flow=BASELINES["flow"],
    script:
        "../workflow_scripts/baseline_flow.py"


# Image Swapping's landmarks (baselines.swap.landmarks): estimated from pixels by a landmark CNN trained
# on the train split's frames against their landmarks (rule bottleneck_landmarks': the generator's on the
# embedded corpus) and applied to every split, or detected by dlib (real corpora). Never a test clip's
# true landmarks: those only score the regressor (swap_landmark_error, metrics only).
SWAP = BASELINES["swap"]
SWAP_REGRESSOR = SWAP["landmarks"] == "regressor" or (
    SWAP["landmarks"] == "auto" and config["data"]["source"] == "synthetic"
)
SWAP_LANDMARKS = [f"{RES}/swap/landmarks/{split}.npy" for split in SPLITS]
SWAP_LANDMARK_ERROR = f"{RES}/metrics/swap/landmarks.json"


rule swap_landmarks:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        landmarks=f"{RES}/bottleneck/landmarks/train.npy",  # rule bottleneck_landmarks' (include order free)
    output:
        model=f"{RES}/models/swap/landmarks.pt",
        train=SWAP_LANDMARKS[0],
        test=SWAP_LANDMARKS[1],
    log:
        "logs/baselines/swap_landmarks.log",
    benchmark:
        "benchmarks/swap_landmarks.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        regressor=dict(SWAP["regressor"]),
    script:
        "../workflow_scripts/swap_landmarks.py"


rule swap_landmark_error:
    input:
        test=SWAP_LANDMARKS[1],
    output:
        metrics=SWAP_LANDMARK_ERROR,
    log:
        "logs/baselines/swap_landmark_error.log",
    benchmark:
        "benchmarks/swap_landmark_error.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        # evaluation only: this rule writes metrics only
        true_landmarks=f"{RES}/data/cremad/test_landmarks.npy",
    script:
        "../workflow_scripts/swap_landmark_error.py"


rule swap:
    input:
        train=clips("cremad", "train"),
        test=clips("cremad", "test"),
        index=INDEX,
        # every split's estimated landmarks (SWAP_REGRESSOR; dlib detects them otherwise)
        landmarks=SWAP_LANDMARKS if SWAP_REGRESSOR else [],
    output:
        train=f"{RES}/reps/swap/train.npy",
        test=f"{RES}/reps/swap/test.npy",
        donor=f"{RES}/reps/swap/donor.png",
    log:
        "logs/baselines/swap.log",
    benchmark:
        "benchmarks/swap.tsv"
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        swap=SWAP,
        source=config["data"]["source"],  # real: a photograph donor unless donor_image names one
    script:
        "../workflow_scripts/baseline_swap.py"
