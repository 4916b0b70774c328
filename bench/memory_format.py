"""Training and inference cost per model family in contiguous and channels-last memory, fp32 and bf16.

What :func:`ppfer_core.training.channels_last` (every convolution weight in channels-last memory, since
issue 30) and the CPU dtype buy each model family of the default DAG: for each family, a training step
(forward, cross-entropy or L1, backward, Adam step) and a no-grad forward on one batch of the shape the
workflow gives it, in fp32 and under CPU bf16 autocast, with the weights contiguous and in channels-last
memory. Prints process-CPU milliseconds per item (one torch thread, as a CPU-policy job runs), so the
figures hold on a loaded machine better than wall time does, and the ratio each change buys.

    python bench/memory_format.py                       # every family
    python bench/memory_format.py --families resnet18 unet16x3 --steps 10
    python bench/memory_format.py --size 48             # what a smaller ingest.size would cost
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from ppfer_core.nets import UNet, build_image_classifier, build_video_classifier  # noqa: E402
from ppfer_core.training import autocast, channels_last, train_autocast  # noqa: E402

CPU = torch.device("cpu")


@dataclass
class Family:
    """A model family as the default DAG uses it: a builder, one input batch and its targets (None: L1 to the input)."""

    name: str
    what: str
    build: Callable[[], nn.Module]
    batch: Callable[[], torch.Tensor]
    targets: Callable[[], torch.Tensor | None]


def families(size: int = 64) -> list[Family]:
    """The default config's convolutional families (models.*, threat.attacks.*) at frame size ``size`` (the
    default's 64 px; the clip attacker's pooled frames at half of it)."""
    frames = lambda b, px=size: lambda: torch.rand(b, 3, px, px)  # noqa: E731
    labels = lambda b, k: lambda: torch.randint(0, k, (b,))  # noqa: E731
    clips = lambda b, px: lambda: torch.rand(b, 3, 8, px, px)  # noqa: E731
    return [
        Family("resnet18", "V_pl, C_lpr / C_hpr, adaptive attacker", lambda: build_image_classifier("resnet18", 18), frames(64), labels(64, 18)),
        Family("small_cnn16", "scratch attacker", lambda: build_image_classifier("small_cnn", 18, width=16), frames(64), labels(64, 18)),
        Family("small_cnn32", "C_fc", lambda: build_image_classifier("small_cnn", 6, width=32), frames(64), labels(64, 6)),
        Family("mobilenetv3", "independent validator", lambda: build_image_classifier("mobilenetv3_small_100", 18), frames(64), labels(64, 18)),
        Family("unet16x3", "recovery U-Net (F_lpr / F_hpr: on bands)", lambda: UNet(base_width=16, depth=3), frames(32), lambda: None),
        Family("frame_cnn16", "F_u", lambda: build_video_classifier("frame_cnn", 6, width=16), clips(16, size), labels(16, 6)),
        Family("r3d_small8", "clip attacker (pool 2: 32 px)", lambda: build_video_classifier("r3d_small", 18, width=8), clips(16, size // 2), labels(16, 18)),
    ]  # fmt: skip


def ms_per_item(fam: Family, train: bool, dtype: torch.dtype, last: bool, steps: int) -> float:
    """Process-CPU milliseconds per item of ``steps`` training steps or forward passes (after 2 warm-up steps)."""
    torch.manual_seed(0)
    net, x, y = fam.build(), fam.batch(), fam.targets()
    if last:
        channels_last(net)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    net.train(train)

    def step() -> None:
        if not train:
            with torch.no_grad(), autocast(CPU, dtype):
                net(x)
            return
        with train_autocast(CPU, dtype):
            out = net(x).float()
            loss = nn.functional.cross_entropy(out, y) if y is not None else (out - x).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    t0 = time.process_time()
    for _ in range(steps):
        step()
    return 1000.0 * (time.process_time() - t0) / steps / len(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="*", default=None, help="names to run (default: all)")
    ap.add_argument("--steps", type=int, default=6, help="timed steps per cell (after 2 warm-up steps)")
    ap.add_argument("--size", type=int, default=64, help="frame side in px (ingest.size; default 64)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cells = [(d, cl) for d in (torch.float32, torch.bfloat16) for cl in (False, True)]
    head = "fp32 | fp32 CL | bf16 | bf16 CL"
    print(f"| family | used as | pass | {head} | CL gain fp32 | CL gain bf16 | bf16 CL / fp32 |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for fam in families(args.size):
        if args.families and fam.name not in args.families:
            continue
        for train in (True, False):
            ms = [ms_per_item(copy.copy(fam), train, d, cl, args.steps) for d, cl in cells]
            cols = " | ".join(f"{m:.3f}" for m in ms)
            gains = f"{ms[0] / ms[1]:.2f}x | {ms[2] / ms[3]:.2f}x | {ms[0] / ms[3]:.2f}x"
            print(
                f"| {fam.name} | {fam.what} | {'train' if train else 'infer'} | {cols} | {gains} |",
                flush=True,
            )
    print("ms per item, process CPU, one thread; CL: convolution weights in channels-last memory")


if __name__ == "__main__":
    main()
