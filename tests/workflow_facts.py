"""Facts about the workflow that several tests check against (one list, not one per test file)."""

import copy
import functools
from pathlib import Path

import yaml
from snakemake.utils import update_config, validate

REPO = Path(__file__).resolve().parents[1]


def merged(*files: str) -> dict:
    """config.yaml with each --configfile merged over it, key by key (Snakemake's update_config), validated
    against the schema; a fresh copy per call."""
    return copy.deepcopy(_merged(files))


@functools.cache
def _merged(files: tuple[str, ...]) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for f in files:
        update_config(config, yaml.safe_load((REPO / f).read_text()))
    validate(config, str(REPO / "schemas" / "config.schema.yaml"))
    return config


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
