"""Throughput of ``ppfer anonymize`` on this machine: frames per second on a 480 x 360 video with
one face (scikit-image's astronaut, panned and zoomed, with a tone), and the share of the time in
decoding, face detection, the models, crop/paste-back and encoding.

    python bench/anonymize_speed.py                                   # the DAG's bundle if built
    python bench/anonymize_speed.py --bundle results/models/anonymizer.pt --frames 150
    python bench/anonymize_speed.py --random-bundle --config config.yaml   # untrained, same networks
    taskset -c 0 python bench/anonymize_speed.py --method bottleneck --basis results/models/bottleneck/basis.npz --threads 1

Without a trained bundle (``results/models/anonymizer.pt``) the script builds a randomly
initialised one with the config's hyper-parameters: the same networks, so the same compute.
Both passes decode the video (tracking, then anonymising), so decoding counts twice.
``--method bottleneck`` with ``--basis`` (and no ``--bundle``) packs the expression-code bottleneck
from that basis file into a temporary bundle; its dlib landmarks (both passes), codes and template
render count as "models". Besides the wall time the script prints the process CPU time (all
threads), which still means something when other jobs share the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def get_bundle(args, tmp: Path) -> tuple[str, str]:
    """(bundle path, what it is)."""
    import yaml

    from ppfer_core.bundle import random_bundle, settings_from_config

    if args.bundle and not args.random_bundle:
        return args.bundle, f"trained bundle {args.bundle}"
    config = yaml.safe_load(Path(args.config).read_text())
    for extra in args.configfile:
        for k, v in yaml.safe_load(Path(extra).read_text()).items():
            config[k] = {**config[k], **v} if isinstance(v, dict) and isinstance(config.get(k), dict) else v
    if args.basis:
        from ppfer_core.anonymize.bottleneck import BottleneckParts
        from ppfer_core.bottleneck.realface import TemplateSettings
        from ppfer_core.bundle import write_bundle

        template = TemplateSettings(
            actor=int(config["bottleneck"]["template_actor"]), seed=int(config["seed"])
        )
        path = tmp / "bottleneck.pt"
        write_bundle(
            path, settings_from_config(config), {"bottleneck": BottleneckParts(args.basis, template)}
        )
        return str(path), f"bottleneck packed from {args.basis}"
    path = tmp / "random.pt"
    random_bundle(path, settings_from_config(config))
    return str(
        path
    ), f"randomly initialised bundle with the hyper-parameters of {args.config} {' '.join(args.configfile)}"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--bundle",
        default=str(ROOT / "results/models/anonymizer.pt")
        if (ROOT / "results/models/anonymizer.pt").is_file()
        else None,
    )
    ap.add_argument("--random-bundle", action="store_true", help="ignore --bundle, use random weights")
    ap.add_argument("--method", help="method of the bundle (default: its default method)")
    ap.add_argument("--basis", help="without --bundle: pack the bottleneck from this basis (rule fit_basis)")
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument(
        "--configfile", nargs="*", default=[], help="configs merged over --config (one level deep)"
    )
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--size", default="480x360", help="W x H")
    ap.add_argument("--detect-every", type=int, default=1)
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: PyTorch's choice)")
    ap.add_argument("--json", help="also write the figures here")
    return ap.parse_args()


def main() -> None:
    args = parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from ppfer_core.anonymize import Anonymizer, Options
    from ppfer_core.anonymize.demo import astronaut_frames, write_video
    from ppfer_core.bundle import load_bundle

    w, h = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bundle_path, what = get_bundle(args, tmp)
        write_video(tmp / "in.mp4", astronaut_frames(args.frames, (h, w)), fps=25)
        method = args.method or ("bottleneck" if args.basis else None)
        anonymizer = Anonymizer(
            load_bundle(bundle_path), Options(method=method, detect_every=args.detect_every)
        )
        t0, c0 = time.perf_counter(), time.process_time()
        r = anonymizer.process(tmp / "in.mp4", tmp / "out", progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    stages = {k: round(v, 3) for k, v in r.timings.__dict__.items()}
    stages["other"] = round(wall - sum(r.timings.__dict__.values()), 3)
    res = {
        "bundle": what,
        "method": anonymizer.method_name,
        "size": [w, h],
        "frames": r.frames,
        "faces": r.faces,
        "detect_every": args.detect_every,
        "torch_threads": torch.get_num_threads(),
        "seconds": round(wall, 2),
        "fps": round(r.frames / wall, 2),
        "cpu_seconds": round(cpu, 2),
        "fps_cpu_time": round(r.frames / cpu, 2),
        "stage_seconds": stages,
        "stage_share_percent": {k: round(100 * v / wall, 1) for k, v in stages.items()},
        "per_frame_ms": {k: round(1000 * v / r.frames, 1) for k, v in stages.items()},
    }
    print(
        f"{what}\n{w} x {h}, {r.frames} frames, {r.faces} faces, detect every {args.detect_every}, "
        f"{torch.get_num_threads()} torch threads, method {anonymizer.method_name}: {wall:.1f} s, "
        f"{r.frames / wall:.2f} frames/s; process CPU time {cpu:.1f} s, {r.frames / cpu:.2f} frames per CPU second"
    )
    print(f"{'stage':<8} {'s':>8} {'ms/frame':>9} {'share':>7}")
    for k, v in stages.items():
        print(f"{k:<8} {v:8.2f} {1000 * v / r.frames:9.1f} {100 * v / wall:6.1f}%")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
