"""Probe of the attack suite's from-scratch attacker and of the robust enhancers on an existing
results/ folder, outside Snakemake (prints figures and seconds; used to measure issue 14 on a busy
machine, where the full DAG does not fit the time at hand).

    python bench/attack_probe.py --workdir RUN --config config.yaml --reps flow
    python bench/attack_probe.py --workdir RUN --config config.yaml --robust   # G-robust as rule train_robust

``--reps``: representations whose reps/{rep}/{train,test}.npy exist (or ``original``); each gets the 4-layer CNN from
scratch (threat.attacks.scratch) scored on one random frame per test clip and by voting.
``--robust``: trains both robust enhancers jointly as rule train_robust does (ppfer_core.robust.fit_robust,
robust.*) from models/enhancer_init.pt on the wavelet bands, the validator member from
models/controller_frames.pt (without that file, the ensemble has no validator member), writes
reps/G-robust-probe/ and attacks it the same way (robust.through_compensator is not probed).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from ppfer_core.arrays import identity_labels, load_clips, npy_output
from ppfer_core.attacks import Convergence, build_small_cnn, frame_attack
from ppfer_core.enhancer import enhance_bands
from ppfer_core.registry import create_model
from ppfer_core.robust import BandClips, JointEnhancer, RobustSettings, fit_robust
from ppfer_core.training import Run, load_weights, seed_everything


def attack(res: Path, rep: str, cfg: dict, y_train, y_test, n_ids: int) -> dict:
    a = cfg["threat"]["attacks"]
    seed_everything(cfg["seed"])
    t0, c0 = time.time(), time.process_time()
    folder = res / ("data/cremad" if rep == "original" else f"reps/{rep}")
    m = frame_attack(
        build_small_cnn(n_ids, a["scratch"]["width"]),
        load_clips(folder / "train.npy"),
        y_train,
        load_clips(folder / "test.npy"),
        y_test,
        a["scratch"]["train"],
        Convergence.from_config(a["convergence"]),
        Run(torch.device("cpu"), cfg["seed"], log=lambda s: None, desc=f"scratch_{rep}"),
        cfg["leakage"]["seed"],
    )
    out = {k: m[k] for k in ("plr", "plr_vote", "train_acc", "val_acc", "epochs", "stopped")}
    out["seconds"], out["cpu_seconds"] = round(time.time() - t0, 1), round(time.process_time() - c0, 1)
    print(rep, json.dumps(out), flush=True)
    return out


def robust(res: Path, cfg: dict, y_train, n_ids: int) -> str:
    seed_everything(cfg["seed"])
    wave, size = cfg["wavelet"], tuple(cfg["ingest"]["size"])
    highs = [f"high_{k}.npy" for k in range(1, wave["level"] + 1)]
    load = [np.load(res / "wavelet/train" / f, mmap_mode="r") for f in ("low.npy", *highs)]
    clips = BandClips(load[0], load[1:], y_train)
    settings = RobustSettings.from_config(cfg["robust"])
    validator, controller = None, res / "models/controller_frames.pt"
    if settings.adversaries.validator and controller.exists():
        validator = load_weights(
            create_model("image", cfg["models"]["identity"]["arch"], num_classes=n_ids), controller
        )
    elif settings.adversaries.validator:
        print(f"{controller} missing: no validator member", flush=True)
        settings = replace(settings, adversaries=replace(settings.adversaries, validator=False))
    unet = cfg["models"]["unet"]
    joint = JointEnhancer(
        *(
            create_model("unet", "unet", settings=unet, weights=res / "models/enhancer_init.pt")
            for _ in range(2)
        ),
        wave["name"],
        size,
    )
    t0 = time.time()
    run = Run(torch.device("cpu"), cfg["seed"], None, lambda s: None, "robust")
    result, ens = fit_robust(joint, clips, cfg["robust"]["train"], settings, run, validator)
    summary = {k: v for k, v in result.summary().items() if k != "history"}
    print(
        f"robust: {time.time() - t0:.1f} s, {int(ens.step)} enhancer steps, {json.dumps(summary)}", flush=True
    )
    rep = "G-robust-probe"
    for split in ("train", "test"):
        bands = [np.load(res / f"wavelet/{split}" / f, mmap_mode="r") for f in ("low.npy", *highs)]
        with npy_output(res / f"reps/{rep}/{split}.npy", (*bands[0].shape[:2], *size, 3)) as out:
            enhance_bands(
                joint.low, joint.high, bands[0], bands[1:], wave["name"], size, out, torch.device("cpu")
            )
    return rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--config", type=Path, nargs="+", default=[Path("config.yaml")])
    ap.add_argument("--reps", nargs="*", default=[])
    ap.add_argument("--robust", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg: dict = {}
    for f in args.config:
        _merge(cfg, yaml.safe_load(f.read_text()))
    res = args.workdir / "results"
    index = pd.read_parquet(res / "data/cremad/index.parquet")
    y_train, actors = identity_labels(index, "train")
    y_test, _ = identity_labels(index, "test")
    reps = list(args.reps)
    if args.robust:
        reps.append(robust(res, cfg, y_train, len(actors)))
    for rep in reps:
        attack(res, rep, cfg, y_train, y_test, len(actors))


def _merge(base: dict, new: dict) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
        else:
            base[k] = v


if __name__ == "__main__":
    main()
