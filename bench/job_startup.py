"""What a rule job's start-up costs: process CPU seconds of a fresh Python process per import step.

Every Snakemake ``script:`` job is a new interpreter that unpickles the ``snakemake`` object and runs
the rule's script, whose imports come first. This prints, in process CPU seconds (user + system,
``getrusage``; so the figures hold on a shared machine, where wall time does not), the median over
``--repeats`` fresh processes of

- the start-up components, cumulative (each row includes the ones above it): the interpreter,
  Snakemake's script module, ``torch``, ``torch._dynamo`` (which torch imports on the first
  construction of an optimiser, so every training job pays it), ``pandas`` and ``timm`` (imported on
  demand by the jobs that build a timm model: V_pl, the validator, the U-ViT compensator);
- every workflow script's top-level imports (``workflow_scripts/*.py``, or ``--scripts``), with the
  heavy modules they pull in. A job pays its script's figure, plus torch._dynamo if it trains and
  timm if it builds a timm model, plus its own work;
- a job's exit with torch, torch._dynamo and pandas loaded, as the whole process's CPU seconds (the
  parent's ``RUSAGE_CHILDREN``, so the interpreter's teardown after the last Python line counts):
  the interpreter's own exit against :func:`ppfer_core.runtime.end_job`, the last statement of every
  workflow script, which runs the exit hooks and leaves without the teardown.

    python bench/job_startup.py                     # every workflow script, 3 repeats
    python bench/job_startup.py --scripts utility leakage tables --repeats 5
"""

from __future__ import annotations

import argparse
import ast
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "torch",
    "torch._dynamo",
    "timm",
    "torchvision",
    "pandas",
    "sklearn",
    "scipy",
    "skimage",
    "av",
    "flwr",
)
COMPONENTS = {
    "interpreter": "",
    "+ snakemake.script": "import snakemake.script",
    "+ torch": "import snakemake.script, torch",
    "+ torch._dynamo (first optimiser)": "import snakemake.script, torch, torch._dynamo",
    "+ pandas": "import snakemake.script, torch, torch._dynamo, pandas",
    "+ timm (and torchvision)": "import snakemake.script, torch, torch._dynamo, pandas, timm",
}
LOADED = "import snakemake.script, torch, torch._dynamo, pandas, ppfer_core.runtime\n"
EXITS = {
    "interpreter's exit (teardown)": LOADED,
    "end_job() (no teardown)": LOADED + "ppfer_core.runtime.end_job()",
}
PROBE = (
    "\nimport json as _j, resource as _r, sys as _s\n_u = _r.getrusage(_r.RUSAGE_SELF)\n"
    "print(_j.dumps([_u.ru_utime + _u.ru_stime, [m for m in {heavy!r} if m in _s.modules]]))"
)


def cpu_seconds(code: str, repeats: int) -> tuple[float, list[str]]:
    """Median process CPU seconds of a fresh interpreter running ``code``, and the heavy modules it loaded."""
    runs, mods = [], []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", code + PROBE.format(heavy=HEAVY)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if out.returncode:
            raise SystemExit(f"import failed:\n{code}\n{out.stderr[-2000:]}")
        cpu, mods = json.loads(out.stdout.strip().splitlines()[-1])
        runs.append(cpu)
    return statistics.median(runs), mods


def process_cpu_seconds(code: str, repeats: int) -> float:
    """Median CPU seconds of a fresh interpreter running ``code``, its exit included (``RUSAGE_CHILDREN``)."""
    runs = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(runs)


def script_imports(path: Path) -> str:
    """The top-level import statements of a workflow script (what runs before its first line of work)."""
    tree = ast.parse(path.read_text())
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scripts", nargs="*", default=None, help="workflow script names (default: all)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    out: dict[str, dict] = {"components": {}, "exits": {}, "scripts": {}}
    print("start-up components (cumulative), process CPU s:")
    for name, code in COMPONENTS.items():
        cpu, _ = cpu_seconds(code, args.repeats)
        out["components"][name] = cpu
        print(f"  {name:36s} {cpu:6.2f}")
    print("\na job's exit with torch, torch._dynamo and pandas loaded, whole-process CPU s:")
    for name, code in EXITS.items():
        out["exits"][name] = process_cpu_seconds(code, args.repeats)
        print(f"  {name:36s} {out['exits'][name]:6.2f}")
    names = args.scripts or sorted(p.stem for p in (ROOT / "workflow_scripts").glob("*.py"))
    print("\nworkflow script: its top-level imports, process CPU s, heavy modules loaded")
    for name in names:
        path = ROOT / "workflow_scripts" / f"{name}.py"
        if not path.exists():
            raise SystemExit(f"--scripts: no workflow script {path}")
        cpu, mods = cpu_seconds("import snakemake.script\n" + script_imports(path), args.repeats)
        out["scripts"][name] = {"cpu_s": cpu, "modules": mods}
        print(f"  {name:28s} {cpu:6.2f}  {' '.join(mods)}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
