"""Probe of the attack suite's from-scratch attacker and of the robust enhancers on an existing
results/ folder, outside Snakemake (prints figures and seconds; used to measure issue 14 on a busy
machine, where the full DAG does not fit the time at hand).

    python bench/attack_probe.py --workdir RUN --config config.yaml --reps flow
    python bench/attack_probe.py --workdir RUN --config config.yaml --robust   # G-robust without the controller

``--reps``: representations whose reps/{rep}/{train,test}.npy exist (or ``original``); each gets the 4-layer CNN from
scratch (threat.attacks.scratch) scored on one random frame per test clip and by voting.
``--robust``: trains both robust enhancers (enhancer.adversary: retrained, robust.*) from
models/enhancer_init.pt on the wavelet bands, without the frozen controller in the ensemble (it needs
V_pl and C_lpr / C_hpr), writes reps/G-robust-probe/ and attacks it the same way.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from ppfer_core.arrays import band_dataset, identity_labels, load_clips, npy_output
from ppfer_core.attacks import Convergence, build_small_cnn, frame_attack
from ppfer_core.enhancer import enhance_bands
from ppfer_core.nets import UNet
from ppfer_core.robust import fit_privacy_enhancer
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
    settings = {
        **cfg["enhancer"],
        "adversary": "retrained",
        "objective": cfg["robust"]["objective"],
        "l1_weight": cfg["robust"]["l1_weight"],
        "adversaries": {**cfg["enhancer"]["adversaries"], "with_controller": False},
    }
    unet = cfg["models"]["unet"]
    highs = [str(res / f"wavelet/train/high_{k}.npy") for k in range(1, cfg["wavelet"]["level"] + 1)]
    nets = {}
    for band in ("low", "high"):
        t0 = time.time()
        net = load_weights(
            UNet(base_width=unet["base_width"], depth=unet["depth"]), res / "models/enhancer_init.pt"
        )
        data = band_dataset(str(res / "wavelet/train/low.npy") if band == "low" else None, highs, y_train)
        r = fit_privacy_enhancer(
            net,
            None,
            n_ids,
            data,
            cfg["robust"]["train"],
            settings,
            Run(torch.device("cpu"), cfg["seed"], None, lambda s: None, f"robust_{band}"),
        )
        last = r.history[-1]
        print(
            f"robust {band}: {time.time() - t0:.1f} s, last epoch adversary_acc {last['adversary_acc']:.3f} "
            f"mean {last['adversary_acc_mean']:.3f}, adversary_train_acc {last['adversary_train_acc']:.3f}",
            flush=True,
        )
        nets[band] = net
    rep = "G-robust-probe"
    for split in ("train", "test"):
        bands = [np.load(res / f"wavelet/{split}/low.npy", mmap_mode="r")] + [
            np.load(res / f"wavelet/{split}/high_{k}.npy", mmap_mode="r")
            for k in range(1, cfg["wavelet"]["level"] + 1)
        ]
        with npy_output(
            res / f"reps/{rep}/{split}.npy", (*bands[0].shape[:2], *cfg["ingest"]["size"], 3)
        ) as out:
            enhance_bands(
                nets["low"],
                nets["high"],
                bands[0],
                bands[1:],
                cfg["wavelet"]["name"],
                tuple(cfg["ingest"]["size"]),
                out,
                torch.device("cpu"),
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
