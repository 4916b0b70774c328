# Shared paths and input functions of the PPFER workflow, and the experiment's design (config/design.yaml,
# read once here). Standard library only at parse time: planning helpers come from rules/planning.py.
from pathlib import Path

import yaml
from snakemake.utils import validate

from planning import blur_sweep, check_producers, gpu_rule_policy, rule_stages

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


# The experiment's design (config/design.yaml, schemas/design.schema.yaml): representations and their
# producer rules, and the rows of the paper's tables. Stages that generate representations from the
# config (rules/robust.smk) add theirs to COMPENSATED.
# the workflow's folder (Snakefile, config/, rules/), also when another Snakefile includes this one
WORKFLOW_DIR = Path(workflow.current_basedir.get_path_or_uri(secret_free=True)).parent
DESIGN = yaml.safe_load((WORKFLOW_DIR / "config" / "design.yaml").read_text())
validate(DESIGN, "../schemas/design.schema.yaml")
REPRESENTATIONS = DESIGN["representations"]
# The blur sweep (rules/baselines.smk): rep -> sigma (px); Table 1's two blur rows are placeholders
# (DESIGN blur_matched), resolved from the sweep's metrics by the tables rule.
BLUR_SWEEP = blur_sweep(config["baselines"]["blur"]["sigmas"], config["ingest"]["size"])
MATCHED = tuple(DESIGN["blur_matched"])
# Rows of the paper's tables: (approach, representation).


def design_rows(table):
    """(approach, representation) rows of a table of the design; a per_blur_sigma row stands for one
    row per sigma of BLUR_SWEEP (its {rep} and {sigma} filled in)."""
    rows = []
    for r in DESIGN[table]:
        if not r["per_blur_sigma"]:
            rows.append((r["approach"], r["representation"]))
            continue
        for rep, sigma in BLUR_SWEEP.items():
            fill = dict(rep=rep, sigma=sigma)
            rows.append(
                (r["approach"].format(**fill), r["representation"].format(**fill))
            )
    return rows


TABLE1 = design_rows("table1")
TABLE2 = design_rows("table2")
TABLE1_REPS = [rep for _, rep in TABLE1 if rep not in MATCHED] + list(BLUR_SWEEP)
# Table 3 (threat model, rules/threat.smk): Table 1's methods; every blur sigma is attacked, the rows picked as in Table 1.
TABLE3 = list(DESIGN["table3"])
THREAT_REPS = [
    rep for name, rep in TABLE1 if name in TABLE3 and rep not in MATCHED
] + list(BLUR_SWEEP)

# Feature-compensated representations: name -> (input representation, compensator loss), and the
# target of an MSE compensator where it is not the originals of the split family.
COMPENSATED = {
    rep: (r["compensate"]["input"], r["compensate"]["loss"])
    for rep, r in REPRESENTATIONS.items()
    if "compensate" in r
}
COMPENSATION_TARGET = {
    rep: r["compensate"]["target"]
    for rep, r in REPRESENTATIONS.items()
    if "target" in r.get("compensate", {})
}

# Table 4: the paper's ablation tasks as method specifications -> the representation they produce.
ABLATION = DESIGN["table4"]
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


FRAME_REPS = list(dict.fromkeys([*DESIGN["frame_grid"], *TABLE1_REPS]))


# Threads of the rules that use every core (`threads: all_cores`): workflow.cores, read when a job is
# created rather than when the rule is parsed, so that commands that run no job (`--report`,
# `--lint`, `--summary`) need no --cores (Snakemake 9 raises on reading workflow.cores without it).
def all_cores(wildcards):
    """Every core given with --cores (or the profile's `cores`)."""
    return workflow.cores
