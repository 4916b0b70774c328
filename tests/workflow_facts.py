"""Facts about the workflow that several tests check against (one list, not one per test file)."""

# Rules that declare gpu=1 (rules/*.smk: `resources: **GPU`); profiles/slurm maps each to partition gpu.
GPU_RULES = frozenset(
    {
        "train_identity",
        "train_controller",
        "pretrain_enhancer",
        "train_enhancer",
        "merge_enhanced",
        "train_expression",
        "train_compensator",
        "utility",
        "train_tradeoff",
        "recover",
        "adaptive_leakage",
        "enhance_frames",
        "train_joint",
        "attack_frames",
        "attack_clips",
        "train_robust",  # issue 14
        "federated_utility",  # rules/federated.smk (issue 17)
        "train_embedder",
        "train_open_enhancers",
        "openset_apply_closed",  # rules/openset.smk (issue 15)
    }
)


def _planning():
    """rules/planning.py, the workflow's standard-library planning helpers (Snakemake imports it from
    rules/ when it parses the rules; here it is loaded from that folder)."""
    import importlib
    import sys
    from pathlib import Path

    rules = str(Path(__file__).resolve().parents[1] / "rules")
    if rules not in sys.path:
        sys.path.insert(0, rules)
    return importlib.import_module("planning")


planning = _planning()
