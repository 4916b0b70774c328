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
    return f"{RES}/reps/{rep}/{split}.npy"


INDEX = f"{RES}/data/cremad/index.parquet"
WILD_INDEX = f"{RES}/data/dfew/index.parquet"
# Scheduling of the GPU rules (ppfer_core.scheduling): with CUDA each takes all cores and gpu=1;
# without, each takes GPU_THREADS (1 on 2 cores) and no gpu unit, so independent trainings run side
# by side even under --resources gpu=1. profiles/slurm sets gpu=1 and threads per rule itself.
from ppfer_core.scheduling import gpu_rule_policy

GPU_POLICY = gpu_rule_policy(config["device"], workflow.cores)
GPU_THREADS = GPU_POLICY.threads
GPU = GPU_POLICY.resources(
    config["resources"]["gpu_mem_mb"], config["resources"]["gpu_runtime"]
)


def weights_file(model):
    """A model's local pretrained weights as a rule input (missing file fails at planning)."""
    return config["models"][model]["weights"] or []


# Baselines (rules/baselines.smk): the blur sweep (rep -> sigma); Table 1's two blur rows are the
# placeholders MATCH_PLR / MATCH_ACC, resolved from the sweep's metrics by the tables rule.
from ppfer_core.baselines import MATCH_ACC, MATCH_PLR, blur_rep

BLUR_SWEEP = {blur_rep(s): float(s) for s in config["baselines"]["blur"]["sigmas"]}
# Rows of the paper's tables: (name, representation). Baselines add theirs here.
TABLE1 = [
    ("No Privacy Preservation", "original"),
    ("Gaussian Blur 1", MATCH_PLR),
    ("Gaussian Blur 2", MATCH_ACC),
    ("Trade-off Framework", "tradeoff"),
    ("Optical Flow", "flow"),
    ("Image Swapping", "swap"),
    ("Ours", "ours"),
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
}

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
