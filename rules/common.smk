# Shared paths and helpers of the PPFER workflow.
import json

RES = "results"
SPLITS = ["train", "test"]
LEVELS = list(range(1, config["wavelet"]["level"] + 1))


def clips(corpus, split):
    """Ingested uint8 clips of a corpus split."""
    return f"{RES}/data/{corpus}/{split}.npy"


def band_files(split):
    """Wavelet band files of a split of the main corpus."""
    return [f"{RES}/wavelet/{split}/low.npy"] + [
        f"{RES}/wavelet/{split}/high_{k}.npy" for k in LEVELS
    ]


def training(stage):
    """A stage's training settings, passed through params so that editing them reruns the stage."""
    return dict(config["train"][stage])


FINAL_OUTPUTS = [
    f"{RES}/tables/table1.csv",
    f"{RES}/tables/table2.csv",
    f"{RES}/tables/table4.csv",
    f"{RES}/tables/table3.csv",
    f"{RES}/tables/table5.csv",  # open-set mode (rules/openset.smk)
    f"{RES}/report/runtime.csv",  # the report rule (rules/report.smk)
    f"{RES}/data/cremad/index.parquet",
    f"{RES}/data/dfew/index.parquet",
    *band_files("train"),
    *band_files("test"),
]


def rep_clips(rep, split):
    """Clips of a representation: the ingested originals or a producer rule's output."""
    if rep == "original":
        return clips("cremad", split)
    if rep == f"{OPEN}original":
        return clips("cremad-open", split)
    return f"{RES}/reps/{rep}/{split}.npy"


# Open-set mode (rules/openset.smk): representations of the identity-disjoint split are named
# "open-*"; their rules get the split's label-free index (no actor column).
OPEN = "open-"
OPEN_INDEX = f"{RES}/data/cremad-open/index.parquet"


def rep_index(rep):
    """Index of the split family a representation belongs to: the open split's label-free one for "open-*"."""
    return OPEN_INDEX if rep.startswith(OPEN) else INDEX


def family_original(rep):
    """The original clips' representation of a representation's split family."""
    return f"{OPEN}original" if rep.startswith(OPEN) else "original"


INDEX = f"{RES}/data/cremad/index.parquet"
WILD_INDEX = f"{RES}/data/dfew/index.parquet"
# Scheduling of the GPU rules (ppfer_core.scheduling): with CUDA each takes all cores and gpu=1;
# without, each takes gpu_threads (1 on 2 cores) and no gpu unit, so independent trainings run side
# by side even under --resources gpu=1. profiles/slurm sets gpu=1 and threads per rule itself.
from ppfer_core.scheduling import gpu_rule_policy

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


# Baselines (rules/baselines.smk): the blur sweep (rep -> sigma); Table 1's two blur rows are the
# placeholders MATCH_PLR / MATCH_ACC, resolved from the sweep's metrics by the tables rule.
from ppfer_core.baselines import MATCH_ACC, MATCH_PLR, blur_sweep

BLUR_SWEEP = blur_sweep(config["baselines"]["blur"]["sigmas"], config["ingest"]["size"])
# Rows of the paper's tables: (name, representation). Baselines add theirs here.
TABLE1 = [
    ("No Privacy Preservation", "original"),
    ("Gaussian Blur 1", MATCH_PLR),
    ("Gaussian Blur 2", MATCH_ACC),
    ("Trade-off Framework", "tradeoff"),
    ("Optical Flow", "flow"),
    ("Image Swapping", "swap"),
    ("Ours", "ours"),
    ("Ours (robust)", "ours-robust"),  # issue 14: rules/robust.smk
]
TABLE2 = [("NPP", "original"), ("Ours", "ours")]
MATCHED = (MATCH_PLR, MATCH_ACC)
TABLE1_REPS = [rep for _, rep in TABLE1 if rep not in MATCHED] + list(BLUR_SWEEP)
# Table 3 (threat model, rules/threat.smk): Table 1's methods; every blur sigma is attacked, the rows picked as in Table 1.
TABLE3 = [name for name, rep in TABLE1 if rep != "original"]
THREAT_REPS = [
    rep for name, rep in TABLE1 if name in TABLE3 and rep not in MATCHED
] + list(BLUR_SWEEP)

# Feature-compensated representations: name -> (input representation, compensator loss).
# "ours" is the paper's method (C = F_fc(G) against C_fc); the others are ablation tasks.
COMPENSATED = {
    "ours": ("G", "ce"),
    "pe-frames-fc": ("pe-frames", "ce"),
    "joint-frames-fc": ("joint-frames", "ce"),
    "G-fcmse": ("G", "mse"),
    "G-fcmse-G": ("G", "mse"),
    "open-ours": ("open-G", "ce"),  # open-set, label-free (rules/openset.smk)
}
# Target of an MSE compensator (ablation task 4, two readings of the paper's "trained with mean
# squared error loss"): the original frames (re-injects identity by construction) or G itself.
COMPENSATION_TARGET = {"G-fcmse": "original", "G-fcmse-G": "G"}

# Table 4: the paper's ablation tasks as method specifications -> the representation they produce.
ABLATION = [
    dict(
        task=1,
        transform=False,
        enhancers=True,
        controller=True,
        compensator=True,
        compensator_controller=True,
        rep="pe-frames-fc",
    ),
    dict(
        task=2,
        transform=False,
        enhancers=True,
        controller=False,
        compensator=True,
        compensator_controller=True,
        rep="joint-frames-fc",
    ),
    dict(
        task=3,
        transform=False,
        enhancers=True,
        controller=True,
        compensator=False,
        compensator_controller=False,
        rep="pe-frames",
    ),
    dict(
        task=4,
        transform=True,
        enhancers=True,
        controller=True,
        compensator=True,
        compensator_controller=False,
        rep="G-fcmse",
        mse_target="original frames",
    ),
    dict(
        task=4,
        transform=True,
        enhancers=True,
        controller=True,
        compensator=True,
        compensator_controller=False,
        rep="G-fcmse-G",
        mse_target="G (identity-free)",
    ),
    dict(
        task=5,
        transform=True,
        enhancers=True,
        controller=True,
        compensator=False,
        compensator_controller=False,
        rep="G",
    ),
    dict(
        task=6,
        transform=True,
        enhancers=True,
        controller=False,
        compensator=False,
        compensator_controller=False,
        rep="joint-wavelet",
    ),
    dict(
        task="full",
        transform=True,
        enhancers=True,
        controller=True,
        compensator=True,
        compensator_controller=True,
        rep="ours",
    ),
]
ABLATION_REPS = [t["rep"] for t in ABLATION]


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


# For the run-time part of the report (rules/report.smk), benchmark files and stage per rule.
def benchmark_patterns(wildcards):
    """Benchmark file pattern of every rule (rule -> pattern), to attribute benchmark files to rules."""
    return {
        r.name: str(r.benchmark)
        for r in workflow.rules
        if r.benchmark and r.name != "report"
    }


def rule_stages(wildcards):
    """Stage of every rule: the rules/*.smk file (or Snakefile) it is defined in."""
    return {r.name: Path(r.snakefile).stem for r in workflow.rules}


FRAME_REPS = list(dict.fromkeys(["original", "G", "ours", *TABLE1_REPS]))


# Threads of a rule that uses every core (`threads: all_cores`): workflow.cores, read when a job is
# created rather than when the rule is parsed, so that commands that run no job (`--report`,
# `--lint`, `--summary`) need no --cores (Snakemake 9 raises on reading workflow.cores without it).
def all_cores(wildcards):
    """Every core given with --cores (or the profile's `cores`)."""
    return workflow.cores
