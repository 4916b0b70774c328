"""CPU cost of "Ours (robust)"'s training per sweep point, from its parts timed on inputs of the config's shape.

Builds the default config's enhancers (JointEnhancer), adversary ensemble (per ensemble size of the sweep)
and fresh-attacker stop exactly as ``fit_robust`` does, on random wavelet bands of ``--clips`` train clips
of the config's frame count and size (weights are random: the CPU cost of a step does not depend on them),
and times in process CPU seconds, one torch thread: one adversary update, one enhancer step (both
through ``ppfer_core.robust.train``'s players) and one fresh-attacker stop. It then prints, per point of
``robust.sweep`` (``--configfile config/robust_sweep.yaml``), the estimated ``train_robust`` CPU at the
round cap: rounds x (enhancer steps x (adversary steps x update + enhancer step) + restart catch-ups +
stop). With ``--benchmarks`` (a finished run's ``benchmarks/``) it adds the mean CPU of the jobs every
robust point also runs (compensator, F_u, attack suite, recovery, clip attacker) from its
``ours-robust*`` benchmark files.

    python bench/robust_cost.py --configfile config/robust_sweep.yaml
    python bench/robust_cost.py --configfile config/robust_sweep.yaml --benchmarks RUN/benchmarks
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from snakemake.utils import update_config  # noqa: E402

from ppfer_core import wavelet  # noqa: E402
from ppfer_core.families import ROBUST_DEFAULT, robust_variants  # noqa: E402
from ppfer_core.registry import create_model  # noqa: E402
from ppfer_core.robust import BandClips, Ensemble, JointEnhancer, RobustSettings, holdout_clips  # noqa: E402
from ppfer_core.robust.stop import BestRound, fresh_attacker  # noqa: E402
from ppfer_core.robust.train import AdversaryBatches, adversary_player, privacy_player  # noqa: E402
from ppfer_core.training import Run, optimizer  # noqa: E402

CPU = torch.device("cpu")


def cpu_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Mean process CPU seconds of ``fn`` over ``repeats`` calls after one untimed call."""
    fn()
    t0 = time.process_time()
    for _ in range(repeats):
        fn()
    return (time.process_time() - t0) / repeats


def random_bands(cfg: dict, n: int, n_ids: int) -> BandClips:
    """Wavelet bands of ``n`` random clips of the config's frame count and size, ``n_ids`` identities."""
    t, (h, w) = cfg["ingest"]["frames"], cfg["ingest"]["size"]
    frames = torch.rand(n * t, 3, h, w, generator=torch.Generator().manual_seed(0))
    low, highs = wavelet.dwt(frames, cfg["wavelet"]["name"], cfg["wavelet"]["level"])
    unflat = [x.unflatten(0, (n, t)).numpy() for x in (low, *highs)]
    return BandClips(unflat[0], unflat[1:], np.arange(n) % n_ids)


def step_costs(cfg: dict, s: RobustSettings, clips: BandClips, repeats: int) -> tuple[float, float]:
    """CPU seconds of one adversary update and one enhancer step at settings ``s`` (``robust.train``'s batch)."""
    train = cfg["robust"]["train"]
    size, run = tuple(cfg["ingest"]["size"]), Run(CPU, 0, None, lambda _: None, "bench")
    unet = cfg["models"]["unet"]
    joint = JointEnhancer(
        *(create_model("unet", "unet", settings=unet) for _ in range(2)), cfg["wavelet"]["name"], size
    )
    n_ids = int(clips.ids.max()) + 1
    validator = create_model("image", cfg["models"]["identity"]["arch"], num_classes=n_ids)
    ens = Ensemble(n_ids, s.adversaries, (clips.low.shape[1], *size), 0, validator)
    ens.warmed.fill_(True)
    adv_opt = optimizer(ens.parameters(), s.adversaries.optimizer, s.adversaries.lr)
    enh_opt = optimizer(joint.parameters(), train["optimizer"], float(train["lr"]))
    fit_rows, _ = holdout_clips(clips, s.stop.holdout, run.seed)
    draw = AdversaryBatches(joint, ens, clips, fit_rows, run.seed, CPU)
    batch = clips.take(fit_rows[: int(train["batch_size"])], CPU)
    adv = adversary_player(ens, adv_opt, draw, 1)
    enh = privacy_player(joint, BestRound(joint), ens, s, enh_opt, adv_opt, draw)

    def step(player, opt, data) -> None:
        opt.zero_grad(set_to_none=True)
        player.loss(data)[0].backward()
        opt.step()

    ens.train(), joint.train()
    return (
        cpu_seconds(lambda: step(adv, adv_opt, None), repeats),
        cpu_seconds(lambda: step(enh, enh_opt, (batch[0], *batch[1], batch[2])), repeats),
    )


def stop_cost(cfg: dict, s: RobustSettings, clips: BandClips) -> float:
    """CPU seconds of one fresh-attacker stop (enhancing its clips, training and scoring the attacker)."""
    size = tuple(cfg["ingest"]["size"])
    joint = JointEnhancer(
        *(create_model("unet", "unet", settings=cfg["models"]["unet"]) for _ in range(2)),
        cfg["wavelet"]["name"],
        size,
    )
    fit_rows, held = holdout_clips(clips, s.stop.holdout, 0)
    run = Run(CPU, 0, None, lambda _: None, "bench")
    t0 = time.process_time()
    fresh_attacker(joint, clips, fit_rows, held, s.stop, run)
    return time.process_time() - t0


def downstream_cpu(benchmarks: Path) -> float:
    """Mean summed CPU seconds of the jobs after train_robust per sweep point of a finished run: over the
    ours-robust-* representations that ran every job kind any of them ran (a stopped sweep leaves some
    short); ours-robust itself is left out, as it also runs Table 1's jobs (federated ACC and others)."""
    per_rep: dict[str, dict[str, float]] = {}
    for f in benchmarks.glob("*/**/ours-robust-*.tsv"):
        cpu = float(pd.read_csv(f, sep="\t")["cpu_time"].iloc[-1])
        per_rep.setdefault(f.stem, {})[str(f.parent.relative_to(benchmarks))] = cpu
    if not per_rep:
        raise ValueError(f"{benchmarks}: no ours-robust-* benchmark files")
    full = max(len(jobs) for jobs in per_rep.values())
    complete = {rep: sum(jobs.values()) for rep, jobs in per_rep.items() if len(jobs) == full}
    print(
        f"jobs after train_robust ({full} kinds), {benchmarks}: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in complete.items())
    )
    return float(np.mean(list(complete.values())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configfile", nargs="*", default=[], help="files merged over config.yaml")
    ap.add_argument("--clips", type=int, default=648, help="train clips (648: the default corpus's)")
    ap.add_argument("--identities", type=int, default=18)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--benchmarks", type=Path, help="a finished run's benchmarks/ (downstream jobs' CPU)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    for f in a.configfile:
        update_config(cfg, yaml.safe_load(Path(f).read_text()) or {})
    robust, clips = cfg["robust"], random_bands(cfg, a.clips, a.identities)
    points = robust_variants(robust)
    default = RobustSettings.from_config(robust)
    costs = {}  # ensemble size -> (adversary update, enhancer step) CPU seconds
    for m in sorted({p.scratch for p in points.values()}):
        s = RobustSettings.from_config(replace(points[ROBUST_DEFAULT], scratch=m).settings(robust))
        costs[m] = step_costs(cfg, s, clips, a.repeats)
        print(f"{m} scratch: adversary update {costs[m][0]:.2f} s, enhancer step {costs[m][1]:.2f} s CPU")
    t_stop = stop_cost(cfg, default, clips)
    print(f"fresh-attacker stop {t_stop:.1f} s CPU")
    extra = downstream_cpu(a.benchmarks) if a.benchmarks else 0.0
    train, adv = robust["train"], default.adversaries
    enh_steps = int(train["items_per_epoch"]) // int(train["batch_size"])
    restarts = enh_steps // adv.restart_every if adv.restart_every else 0
    total = 0.0  # the sweep's extra CPU: every point but the default, which the default DAG trains anyway
    for name, pt in points.items():
        u, e = costs[pt.scratch]
        per_round = enh_steps * (pt.steps * u + e) + restarts * adv.restart_steps * u + t_stop
        cpu = int(train["epochs"]) * per_round + adv.warmup_steps * u
        total += (cpu + extra) * (name != ROBUST_DEFAULT)
        print(
            f"{name}: {pt}: train_robust <= {cpu:.0f} s CPU at {train['epochs']} rounds (+ {extra:.0f} s after it)"
        )
    print(
        f"the sweep's extra CPU, {len(points) - 1} points beside the default's: <= {total:.0f} s = {total / 60:.0f} CPU min"
    )


if __name__ == "__main__":
    main()
