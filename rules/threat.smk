# Paper §4.5 threat model (Table 3): per method, a U-Net trained with L1 to recover the original
# train frames from the method's train outputs; its recovery of the test outputs is the
# representation recovered-{rep}, scored here: SSIM / PSNR, its PLR and V_pl on it by voting.
# Beyond the paper: the adaptive attacker, an identity classifier trained on a method's outputs, and
# the rest of the attack suite (attack_suite; ppfer_core.attacks): plr_worst per rep.
# Every blur sigma of the sweep gets the attack suite (Gaussian Blur 1 is matched on it); the recovery
# attack runs on the two sigmas the checkpoint blur_match picks for Table 1's blur rows.
THREAT = config["threat"]
ATTACKS = THREAT["attacks"]  # the attack suite (issue 14)
# the PLR's readers (the independent validator, V_pl) and the seed of their frame per clip
LEAKAGE_READERS = dict(
    model=config["models"]["identity"],
    validator_model=config["models"]["validator"],
    seed=config["leakage"]["seed"],
)
if THREAT["recovery_init"] == "identity" and THREAT["unet"] not in (
    None,
    config["models"]["unet"],
):
    raise ValueError(
        "threat.recovery_init: identity starts from the enhancers' U-Net: set threat.unet to null"
    )


rule recover:
    input:
        init=(ENHANCER_INIT if THREAT["recovery_init"] == "identity" else []),
        train=lambda w: rep_clips(w.rep, "train"),
        test=lambda w: rep_clips(w.rep, "test"),
        original_train=clips("cremad", "train"),
        original_test=clips("cremad", "test"),
        validator=VALIDATOR_MODEL,  # with V_pl, the readers of the recovered frames
        vpl=IDENTITY_MODEL,
        index=INDEX,
    output:
        clips=f"{RES}/reps/recovered-{{rep}}/test.npy",
        model=f"{RES}/models/recovery/{{rep}}.pt",
        metrics=f"{RES}/metrics/recovery/{{rep}}.json",
        # the leakage of recovered-{rep} and the suite's attacker "recovered" (V_pl, one frame and vote)
        leakage=f"{RES}/metrics/leakage/recovered-{{rep}}.json",
        attack=f"{RES}/metrics/attacks/recovered/{{rep}}.json",
    log:
        "logs/threat/recover/{rep}.log",
    benchmark:
        "benchmarks/recover/{rep}.tsv"
    wildcard_constraints:
        rep=r"[^/]+",
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        unet=THREAT["unet"] or config["models"]["unet"],
        init=THREAT["recovery_init"],
        train=dict(THREAT["recovery"]),
        leakage=LEAKAGE_READERS,
    script:
        "../workflow_scripts/recover.py"


# The attack suite (issue 14, ppfer_core.attacks): every attacker trains on the rep's train split only
# and is scored on its test split (one random frame per clip and voting; the video attacker per clip).
# attack_suite (issue 30): one process per attacked rep (PLAN.attacked_reps: Table 1's and the robust
# sweep's) reads its clips once and writes one metrics file per record (ppfer_core.attack_jobs): V_pl's
# PLR (the leakage file, which rule leakage writes for every other rep), the adaptive attacker
# (fine-tuned V_pl, threat.adaptive), V_pl by voting and a 4-layer CNN from scratch (attacks/frames)
# and the video attacker (attacks/clips, threat.attacks.clip). V_pl on recovered-{rep} is scored by
# rule recover. Editing one attacker's settings (params by attacker) reruns these jobs, so all their
# records.
ruleorder: recover > attack_suite > leakage


rule attack_suite:
    input:
        validator=VALIDATOR_MODEL,  # the independent validator: the PLR column (leakage file)
        vpl=IDENTITY_MODEL,  # V_pl: its PLR beside it; the adaptive attacker and the voting start from it
        weights=weights_file("identity") if THREAT["adaptive_init"] == "scratch" else [],
        train=lambda w: rep_clips(w.rep, "train"),
        test=lambda w: rep_clips(w.rep, "test"),
        index=INDEX,
    output:
        leakage=f"{RES}/metrics/leakage/{{rep}}.json",
        adaptive=f"{RES}/metrics/adaptive/{{rep}}.json",
        frames=f"{RES}/metrics/attacks/frames/{{rep}}.json",
        clips=f"{RES}/metrics/attacks/clips/{{rep}}.json",
    log:
        "logs/threat/attack_suite/{rep}.log",
    benchmark:
        "benchmarks/attack_suite/{rep}.tsv"
    wildcard_constraints:
        rep=rep_pattern(PLAN.attacked_reps),
    conda:
        "../envs/ppfer.yaml"
    threads: gpu_threads
    resources:
        **GPU,
    params:
        seed=config["seed"],
        leakage=LEAKAGE_READERS,
        adaptive=dict(
            init=THREAT["adaptive_init"],
            train=dict(THREAT["adaptive"]),
            convergence=dict(ATTACKS["convergence"]),
        ),
        frames=dict(
            scratch=dict(ATTACKS["scratch"]), convergence=dict(ATTACKS["convergence"])
        ),
        clip=dict(ATTACKS["clip"], convergence=dict(ATTACKS["convergence"])),
    script:
        "../workflow_scripts/attack_suite.py"


# Issue 27: a representation that is a function of a code (design.yaml `coding`: the bottleneck's renders
# and F_fc on them) is attacked on that code too (its attackers count in plr_worst) and on the input
# the code is computed from (plr_landmarks, beside); for reference on the raw true landmarks, and the
# code's error and an emotion probe (the coding's own figures, evaluation only: the one code-attacker
# path). One job per coded representation (PLAN.coded).
rule attack_codes:
    input:
        unpack(code_inputs),
        index=INDEX,
    output:
        metrics=f"{RES}/metrics/attacks/codes/{{rep}}.json",
    log:
        "logs/threat/attack_codes/{rep}.log",
    benchmark:
        "benchmarks/attack_codes/{rep}.tsv"
    wildcard_constraints:
        rep=rep_pattern(list(PLAN.coded)),
    conda:
        "../envs/ppfer.yaml"
    threads: 1
    params:
        seed=config["seed"],
        codes=dict(ATTACKS["codes"]),
        convergence=dict(ATTACKS["convergence"]),
        # evaluation only (the raw landmarks' attackers, the codes' error): this rule writes metrics only
        true_landmarks=[f"{RES}/data/cremad/{split}_landmarks.npy" for split in SPLITS],
    script:
        "../workflow_scripts/attack_codes.py"


rule table3:
    input:
        # the attack suite's metric files by kind (ppfer_core.suite.ATTACKERS)
        # Table 3's methods and the blur sigmas Table 1 took (checkpoint blur_match)
        unpack(
            lambda w: PLAN.suite_inputs(table3_reps(), recovered=matched_blur_reps())
        ),
        table1=f"{RES}/tables/table1.csv",
        recovery=lambda w: expand(
            f"{RES}/metrics/recovery/{{rep}}.json", rep=table3_reps()
        ),
        leakage=lambda w: expand(
            f"{RES}/metrics/leakage/recovered-{{rep}}.json", rep=table3_reps()
        ),
    output:
        table3=report(
            f"{RES}/tables/table3.csv",
            caption="../report/table3.rst",
            category="Tables",
        ),
    log:
        "logs/table3.log",
    benchmark:
        "benchmarks/table3.tsv"
    conda:
        "../envs/ppfer.yaml"
    params:
        rows=TABLE3,
    script:
        "../workflow_scripts/table3.py"
