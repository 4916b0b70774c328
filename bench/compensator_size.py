"""How large and how long the feature compensator F_fc needs to be (issue 30, lever 2): trains the
U-ViT for every (dim, depth) of a grid on a representation's train arrays (default G) against the
frozen C_fc of a finished run (models/expression.pt), on the clips rule train_compensator fits (the
train split minus ``train.compensator.val_fraction`` of each expression's clips), and prints per epoch
C_fc's accuracy on the compensated VALIDATION slice of train (never a test clip), the CPU seconds of
the epoch's training steps and of the validation pass, and the totals. The learning rate is constant
(no plateau stop), so the curve shows where it flattens.

    python bench/compensator_size.py --workdir RUN --rep G --dims 64 96 128 --depths 1 3 5 --epochs 6

CPU seconds are the process's (``time.process_time``; one torch thread, as every DAG job on 2 cores),
which hold when the machine is shared and wall time does not. ``--json`` appends one line per model.
U-ViT depth d has d // 2 in-blocks, one mid-block and d // 2 out-blocks: depths 2 and 3 are the same model.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch
import yaml
from snakemake.utils import update_config

from ppfer_core import EMOTIONS
from ppfer_core.arrays import FrameDataset, PairedFrameDataset, emotion_labels, load_clips
from ppfer_core.classifiers import predict_labels
from ppfer_core.compensator import CompensationData, CompensatorStop, compensation_loss, validation_figures
from ppfer_core.registry import create_model
from ppfer_core.training import Player, TrainSettings, freeze, load_weights, seed_everything, train


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--workdir",
        type=Path,
        required=True,
        help="a run whose results/ has reps/REP and models/expression.pt",
    )
    ap.add_argument(
        "--config",
        type=Path,
        nargs="+",
        default=[Path("config.yaml")],
        help="the run's config files (models, train.compensator), later ones merged over earlier ones as Snakemake does",
    )
    ap.add_argument("--rep", default="G", help="the compensator's input representation")
    ap.add_argument("--dims", type=int, nargs="+", default=[64, 96, 128])
    ap.add_argument("--depths", type=int, nargs="+", default=[1, 3, 5])
    ap.add_argument("--epochs", type=int, default=8, help="epochs of train.compensator.items_per_epoch items")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (a DAG job on 2 cores has 1)")
    ap.add_argument("--json", type=Path, default=None, help="append one JSON line per model here")
    return ap.parse_args()


def controller_of(res: Path, cfg: dict) -> torch.nn.Module:
    m = cfg["models"]["expression"]
    model = create_model("image", m["arch"], num_classes=len(EMOTIONS), width=m.get("width"))
    return freeze(load_weights(model, res / "models" / "expression.pt"))


def size_one(
    dim: int, depth: int, args: argparse.Namespace, cfg: dict, data: CompensationData, controller
) -> dict:
    """Train one U-ViT size for ``args.epochs`` epochs; returns its per-epoch curve and CPU seconds."""
    seed_everything(cfg["seed"])
    u = {**cfg["models"]["uvit"], "dim": dim, "depth": depth, "weights": None}
    s = TrainSettings.from_config({**cfg["train"]["compensator"], "epochs": args.epochs})
    stop = CompensatorStop.from_config(cfg["train"]["compensator"])
    fit_data, val = data.split(stop.val_fraction, cfg["seed"])
    device = torch.device("cpu")
    model = create_model("compensator", "uvit", settings=u, img_size=data.inputs.shape[2])
    params = sum(p.numel() for p in model.parameters())
    opt = s.make_optimizer(model.parameters())
    rows: list[dict] = []
    clock = {"last": 0.0}

    def measure(row: dict) -> None:
        train_cpu = time.process_time() - clock["last"]
        c0 = time.process_time()
        acc = validation_figures(model, controller, "ce", val, device)["val_acc"]
        eval_cpu = time.process_time() - c0
        rows.append(
            {"epoch": int(row["epoch"]), "val_acc": acc, "train_cpu": train_cpu, "eval_cpu": eval_cpu}
        )
        print(
            f"dim {dim:4d} depth {depth} epoch {int(row['epoch']):2d}: val acc {acc:5.2f} %  "
            f"train {train_cpu:6.1f} CPU s  validation {eval_cpu:5.1f} CPU s",
            flush=True,
        )
        clock["last"] = time.process_time()

    loader = s.loader(
        PairedFrameDataset(fit_data.inputs, fit_data.labels, fit_data.targets), cfg["seed"], device
    )
    player = Player("compensation", [model], opt, compensation_loss(model, controller, "ce"))
    clock["last"] = time.process_time()
    train([player], loader, args.epochs, device, cfg["seed"], stop=measure, log=lambda _: None, desc="size")
    out = {
        "dim": dim,
        "depth": depth,
        "params": params,
        "val_clips": len(val.labels),
        "curve": rows,
        "train_cpu": sum(r["train_cpu"] for r in rows),
        "eval_cpu": sum(r["eval_cpu"] for r in rows),
    }
    print(
        f"dim {dim:4d} depth {depth}: {params:,} parameters, {out['train_cpu']:.1f} CPU s training, "
        f"{out['eval_cpu']:.1f} CPU s validation over {args.epochs} epochs; best val acc "
        f"{max(r['val_acc'] for r in rows):.2f} % at epoch {max(rows, key=lambda r: r['val_acc'])['epoch']}",
        flush=True,
    )
    return out


def main() -> None:
    args = parse()
    torch.set_num_threads(args.threads)
    cfg: dict = {}
    for path in args.config:
        update_config(cfg, yaml.safe_load(path.read_text()))
    res = args.workdir / "results"
    index = pd.read_parquet(res / "data" / "cremad" / "index.parquet")
    g = load_clips(res / "reps" / args.rep / "train.npy")
    data = CompensationData(g, emotion_labels(index, "train"), g)
    controller = controller_of(res, cfg)
    _, val = data.split(CompensatorStop.from_config(cfg["train"]["compensator"]).val_fraction, cfg["seed"])
    pred, true = predict_labels(controller, FrameDataset(val.inputs, val.labels), torch.device("cpu"))
    print(
        f"C_fc on the uncompensated validation slice ({len(val.labels)} clips): {100 * (pred == true).mean():.2f} %"
    )
    for dim in args.dims:
        for depth in args.depths:
            out = size_one(dim, depth, args, cfg, data, controller)
            if args.json is not None:
                with args.json.open("a") as f:
                    f.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
