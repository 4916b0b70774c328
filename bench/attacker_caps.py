"""The attack suite's budget cells (issue 26): which attacker records of a finished run did not converge,
and what a higher epoch cap gives on one representation.

``list`` prints every attacker record of RUN/results/metrics (attacks/frames scratch, attacks/clips,
adaptive, recovery, openset/attack) whose status is not ``converged`` or whose training loss went NaN, with its train accuracy, passes,
best-validation epoch, the validation gain over its last 10 passes (a curve still rising?) and the pass
whose training loss was NaN, if any. ``rerun`` retrains one attacker family of one representation from
the run's arrays (copied to --scratch first, the run is only read) with the settings of --config, a cap
of --cap passes and optionally another --dtype, as the attack jobs do, and prints its record with the
CPU seconds it took (``time.process_time``).

    python bench/attacker_caps.py list --run /work/runs/default_after
    python bench/attacker_caps.py rerun --run RUN --rep flow --family scratch --cap 300 --scratch /tmp/caps
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import time
from pathlib import Path

SOURCES = {  # family: (metrics glob, key of the record in the file, validation figure, better)
    "scratch": ("attacks/frames/*.json", "scratch", "val_acc", 1),
    "clip": ("attacks/clips/*.json", None, "val_acc", 1),
    "adaptive": ("adaptive/*.json", None, "val_acc", 1),
    "recovery": ("recovery/*.json", None, "val_l1", -1),
    "open": ("openset/attack/*.json", "attacker", "val_acc", 1),
}


def nan_pass(history: list[dict]) -> int | str:
    """The first pass whose training loss is NaN ("" when none)."""
    return next((h["epoch"] for h in history if any(k.endswith("loss") and h[k] != h[k] for k in h)), "")


def budget_rows(metrics: Path) -> tuple[list[str], int]:
    """Markdown rows of the records that did not converge, and the number of records read."""
    rows, n = [], 0
    for family, (pattern, key, figure, sign) in SOURCES.items():
        for f in sorted(glob.glob(str(metrics / pattern))):
            record = json.loads(Path(f).read_text())
            r = record[key] if key else record
            n += 1
            if r["status"] == "converged" and nan_pass(r["history"]) == "":
                continue  # a NaN loss before a "converged" label is listed: that label predates the diverged status
            curve = [h[figure] for h in r["history"]]
            gain = sign * (curve[-1] - curve[max(0, len(curve) - 11)])
            acc = "" if family == "recovery" else f"{r['train_acc']:.3f} / {r['last_train_acc']:.3f}"
            best = r.get("val_acc", r.get("best_val_l1"))
            rows.append(
                f"| {family} | {Path(f).stem} | {r['status']} | {acc} | {r['epochs']} | {r['best_epoch']} "
                f"| {best:.3f} | {gain:+.3f} | {nan_pass(r['history'])} |"
            )
    return rows, n


def list_budget(run: Path) -> None:
    rows, n = budget_rows(run / "results" / "metrics")
    print(
        "| family | rep | status | train acc (best / last) | passes | best pass | best val | val gain, last 10 passes | NaN loss at |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows) + f"\n\n{len(rows)} of {n} attacker records not converged (or NaN)")


def copy_arrays(run: Path, rep: str, scratch: Path) -> Path:
    """The representation's train / test arrays and the original train clips, copied under ``scratch``."""
    out = scratch / rep
    out.mkdir(parents=True, exist_ok=True)
    res = run / "results"
    for src, name in (
        (res / "reps" / rep / "train.npy", "train.npy"),
        (res / "reps" / rep / "test.npy", "test.npy"),
        (res / "data" / "cremad" / "train.npy", "original_train.npy"),
    ):
        if not (out / name).exists():
            shutil.copy(src, out / name)
    return out


SUMMARY_KEYS = (
    "status",
    "epochs",
    "stopped",
    "train_acc",
    "best_epoch",
    "val_acc",
    "best_val_l1",
    "plr",
    "train_dtype",
)
"""The record keys ``rerun`` prints."""


def rerun(args: argparse.Namespace) -> None:
    """Retrain one family on copied arrays (see the module) and print its record's summary."""
    import pandas as pd
    import torch
    import yaml

    from ppfer_core.arrays import identity_labels, load_clips
    from ppfer_core.attacks import (
        Convergence,
        build_clip_attacker,
        build_small_cnn,
        clip_attack,
        frame_attack,
    )
    from ppfer_core.evaluation import load_scorer
    from ppfer_core.registry import create_model
    from ppfer_core.threat import RecoveryStop, fit_recovery
    from ppfer_core.training import Run, load_weights, resolve_cpu_dtype, seed_everything

    cfg, res = yaml.safe_load(Path(args.config).read_text()), args.run / "results"
    arrays = copy_arrays(args.run, args.rep, Path(args.scratch))
    index = pd.read_parquet(res / "data" / "cremad" / "index.parquet")
    (ytr, actors), (yte, _) = identity_labels(index, "train"), identity_labels(index, "test")
    train, test = load_clips(arrays / "train.npy"), load_clips(arrays / "test.npy")
    att, seed, vpl = cfg["threat"]["attacks"], cfg["seed"], str(res / "models" / "identity.pt")
    conv = Convergence.from_config(att["convergence"])
    torch.set_num_threads(1)
    seed_everything(seed)
    dtype = resolve_cpu_dtype(args.dtype or cfg["cpu_dtype"])
    run = Run(torch.device("cpu"), seed, None, print, f"{args.family}_{args.rep}", 0, dtype)
    cpu = time.process_time()
    if args.family == "recovery":
        model = load_weights(
            create_model("unet", "unet", settings=cfg["models"]["unet"]), res / "models" / "enhancer_init.pt"
        )
        rec = fit_recovery(
            model,
            train,
            load_clips(arrays / "original_train.npy"),
            {**cfg["threat"]["recovery"], "epochs": args.cap},
            run,
            RecoveryStop.from_config(cfg["threat"]["recovery"]),
        ).record
    elif args.family == "clip":
        c = att["clip"]
        model = build_clip_attacker(c["arch"], len(actors), c["width"], c["pool"])
        rec = clip_attack(model, train, ytr, test, yte, {**c["train"], "epochs": args.cap}, conv, run)
    else:  # scratch (built after V_pl, as frames_record does) or adaptive (fine-tuned from V_pl)
        net = load_scorer(cfg["models"]["identity"], len(actors), vpl)
        if args.family == "scratch":
            net, train_cfg = build_small_cnn(len(actors), att["scratch"]["width"]), att["scratch"]["train"]
        else:
            train_cfg = cfg["threat"]["adaptive"]
        rec = frame_attack(
            net, train, ytr, test, yte, {**train_cfg, "epochs": args.cap}, conv, run, cfg["leakage"]["seed"]
        )
    print(json.dumps({**{k: rec[k] for k in SUMMARY_KEYS if k in rec}, "cpu_s": time.process_time() - cpu}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    ls = sub.add_parser("list", help="attacker records of a run that did not converge")
    ls.add_argument("--run", type=Path, required=True)
    rr = sub.add_parser("rerun", help="retrain one attacker family of one representation with another cap")
    rr.add_argument("--run", type=Path, required=True)
    rr.add_argument("--rep", required=True)
    rr.add_argument("--family", choices=["scratch", "clip", "adaptive", "recovery"], required=True)
    rr.add_argument("--cap", type=int, required=True)
    rr.add_argument("--config", default="config.yaml")
    rr.add_argument("--dtype", choices=["float32", "bfloat16"], help="cpu_dtype (default: the config's)")
    rr.add_argument("--scratch", default=os.environ.get("TMPDIR", "/tmp") + "/attacker_caps")
    args = ap.parse_args()
    list_budget(args.run) if args.command == "list" else rerun(args)


if __name__ == "__main__":
    main()
