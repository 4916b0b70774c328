# Shared paths and input functions of the PPFER workflow, and the run's plan: config/design.yaml and the
# config expanded once, here, before any stage file (ppfer_core.design.build_plan). The stage files
# only read PLAN (and the names below, taken from it); none adds to it, so their order does not matter.
# Standard library only at parse time: ppfer_core.design / .suite and rules/planning.py import no
# numpy, pandas or torch.
import json
from pathlib import Path

import yaml
from snakemake.utils import validate

from planning import (
    check_metrics_only_readers,
    check_not_trained_against_validator,
    check_producers,
    gpu_rule_policy,
    rule_stages,
)
from ppfer_core.design import (
    OPEN,
    RES,
    SPLITS,
    blur_match_reps,
    build_plan,
    rep_pattern,
)
from ppfer_core.validator import check_independent, check_validator_inputs

# the workflow's folder (Snakefile, config/, rules/), also when another Snakefile includes this one
WORKFLOW_DIR = Path(workflow.current_basedir.get_path_or_uri(secret_free=True)).parent
DESIGN = yaml.safe_load((WORKFLOW_DIR / "config" / "design.yaml").read_text())
validate(DESIGN, "../schemas/design.schema.yaml")
PLAN = build_plan(DESIGN, config)
# models.validator shares no architecture family or initialisation with V_pl / C_lpr / C_hpr, C_fc or the adversaries
check_independent(config)
LEVELS = list(PLAN.levels)


def clips(corpus, split):
    """Ingested uint8 clips of a corpus split."""
    return f"{RES}/data/{corpus}/{split}.npy"


def band_files(split):
    """Wavelet band files of a split of the main corpus."""
    return PLAN.band_files(split)


# "Ours (closed-set training)" (rules/openset.smk): its models, trained on the open-train actors only,
# by the recipe of the method it applies (design.yaml: open-ours-closed's `applies`)
OPEN_CLOSED = f"{RES}/openset/closed"
CLOSED_RECIPE = PLAN.representations[PLAN.representations[f"{OPEN}ours-closed"].applies]


def open_closed_bands(split):
    """Wavelet band files of a split of the open-train actors' closed-set training clips."""
    return [f"{OPEN_CLOSED}/wavelet/{split}/low.npy"] + [
        f"{OPEN_CLOSED}/wavelet/{split}/high_{k}.npy" for k in LEVELS
    ]


def training(stage):
    """A stage's training settings, passed through params so that editing them reruns the stage."""
    return dict(config["train"][stage])


def code_inputs(wildcards):
    """A coded representation's (design.yaml `coding`) code and input arrays by split (rule
    attack_codes): codes_train, inputs_train, codes_test, inputs_test, and its basis when it has one.
    """
    coding = PLAN.coded[wildcards.rep]
    arrays = {
        f"{name}_{split}": path
        for split in SPLITS
        for name, path in coding.files(split).items()
    }
    return {**arrays, **({"basis": coding.basis_file()} if coding.basis else {})}


def rep_clips(rep, split):
    """Clips of a representation: the ingested originals or a producer rule's output."""
    if rep == "original":
        return clips("cremad", split)
    if rep == f"{OPEN}original":
        return clips("cremad-open", split)
    return f"{RES}/reps/{rep}/{split}.npy"


# Open-set mode (rules/openset.smk): representations of the identity-disjoint split are named
# "open-*" (OPEN); their rules get the split's label-free index (no actor column).
OPEN_INDEX = f"{RES}/data/cremad-open/index.parquet"


def scope_clips(split):
    """The ingested clips of a split of a {scope} wildcard's split family (rules/bottleneck.smk: scope ""
    the closed set, "open-" the open set), as an input function."""
    return lambda w: rep_clips(f"{w.scope}original", split)


def ingest_train_landmarks(scope):
    """The generator's landmarks of a split family's TRAIN clips (scope "" the closed set, "open-" the
    open set), written beside the clips when the corpus has them, not a declared output: by ingest, and
    by openset_split for the open-train clips only (rules/bottleneck.smk reads them)."""
    return (
        f"{RES}/data/{'cremad-open' if scope == OPEN else 'cremad'}/train_landmarks.npy"
    )


def rep_index(rep):
    """Index of the split family a representation belongs to: the open split's label-free one for "open-*"."""
    return OPEN_INDEX if rep.startswith(OPEN) else INDEX


def family_original(rep):
    """The original clips' representation of a representation's split family."""
    return f"{OPEN}original" if rep.startswith(OPEN) else "original"


INDEX = f"{RES}/data/cremad/index.parquet"
WILD_INDEX = f"{RES}/data/dfew/index.parquet"
# Models that rules of several stage files read (as paths, not rules.X.output: no include order).
IDENTITY_MODEL = f"{RES}/models/identity.pt"  # V_pl (rules/privacy.smk: train_identity)
IDENTITY_METRICS = f"{RES}/metrics/identity.json"
# the independent validator of the PLR column (rules/evaluation.smk: train_validator)
VALIDATOR_MODEL = f"{RES}/models/validator.pt"
VALIDATOR_METRICS = f"{RES}/metrics/validator.json"
ENHANCER_INIT = f"{RES}/models/enhancer_init.pt"  # rules/privacy.smk: pretrain_enhancer
# C_fc (rules/compensation.smk: train_expression)
EXPRESSION_MODEL = f"{RES}/models/expression.pt"
EXPRESSION_METRICS = f"{RES}/metrics/expression.json"
# Scheduling of the GPU rules (rules/planning.py): with CUDA each takes all cores and gpu=1;
# without, each takes gpu_threads (1 on 2 cores) and no gpu unit, so independent trainings run side
# by side even under --resources gpu=1. profiles/slurm sets gpu=1 and threads per rule itself.
# gpu or cpu; the threads follow --cores per job
GPU_POLICY = gpu_rule_policy(config["device"], 1)


def gpu_threads(wildcards):
    """Threads of a GPU-rule job under GPU_POLICY, from --cores read when the job is created (so that
    --report / --lint, which give no --cores, never read workflow.cores; see all_cores).
    """
    return gpu_rule_policy(
        config["device"], workflow.cores, cuda=GPU_POLICY.name == "gpu"
    ).threads


GPU = GPU_POLICY.resources(
    config["resources"]["gpu_mem_mb"], config["resources"]["gpu_runtime"]
)


def weights_file(model):
    """A model's local pretrained weights as a rule input (missing file fails at planning)."""
    return config["models"][model]["weights"] or []


# Names of the plan that several stage files read (ppfer_core.design.Plan says what each is).
# the blur sweep: rep -> sigma (px); Table 1's blur rows are placeholders (MATCHED)
BLUR_SWEEP = PLAN.blur_sweep
MATCHED = PLAN.matched
TABLE1 = list(PLAN.table1)  # (approach, representation)
TABLE2 = list(PLAN.table2)
TABLE1_REPS = PLAN.table1_reps
TABLE3 = list(PLAN.table3)  # Table 1 approaches attacked in Table 3 (rules/threat.smk)
THREAT_REPS = PLAN.threat_reps
BLUR_MATCH = f"{RES}/metrics/blur_match.json"  # the checkpoint blur_match's pick (rules/baselines.smk)


def matched_blur_reps(wildcards=None):
    """The blur sigmas Table 1's blur rows took (checkpoint blur_match): the recovery attack's
    representations beyond THREAT_REPS. Calling it makes the caller wait for the checkpoint.
    """
    with open(checkpoints.blur_match.get().output.match) as f:
        return list(dict.fromkeys(json.load(f)["reps"].values()))


def table3_reps(wildcards=None):
    """Every representation the recovery attack runs on for Table 3: its methods and the matched blurs."""
    return [*THREAT_REPS, *matched_blur_reps()]


COMPENSATED = PLAN.compensated  # rep -> (input representation, compensator loss)
COMPENSATION_TARGET = PLAN.compensation_target
# Table 4: the ablation tasks as method specifications
ABLATION = [dict(t) for t in PLAN.table4]
ABLATION_REPS = PLAN.ablation_reps
ROBUST_SWEEP_REPS = PLAN.robust_sweep_reps


def corpus_root(corpus):
    """Folder ingest reads: the generated corpus, or the real one named in config."""
    if config["data"]["source"] == "synthetic":
        return f"{RES}/corpus/{corpus}"
    key = {"cremad": "cremad_root", "dfew": "dfew_root"}[corpus]
    if not config["data"][key]:
        raise ValueError(
            f"config key data.{key} must name a folder when data.source is 'real'"
        )
    return config["data"][key]


def ingest_input(corpus):
    if config["data"]["source"] != "synthetic":
        return [
            corpus_root(corpus)
        ]  # the real corpus folder: a missing one stops the run before any job
    if corpus == "cremad":
        return rules.generate_corpus.output
    return rules.generate_wild_corpus.output


FRAME_REPS = PLAN.frame_reps


# Threads of the rules that use every core (`threads: all_cores`): workflow.cores, read when a job is
# created rather than when the rule is parsed, so that commands that run no job (`--report`,
# `--lint`, `--summary`) need no --cores (Snakemake 9 raises on reading workflow.cores without it).
def all_cores(wildcards):
    """Every core given with --cores (or the profile's `cores`)."""
    return workflow.cores
