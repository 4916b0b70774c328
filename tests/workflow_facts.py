"""Facts about the workflow that several tests check against (one list, not one per test file)."""

from pathlib import Path


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

# Rules that declare `resources: **GPU` (the one declaration, rules/planning.py gpu_rules);
# profiles/slurm maps each to partition gpu (tests/test_scheduling.py checks the profile against it).
GPU_RULES = frozenset(planning.gpu_rules(Path(__file__).resolve().parents[1] / "Snakefile"))
