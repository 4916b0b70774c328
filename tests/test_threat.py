"""Threat model (recovery attack, SSIM / PSNR, adaptive attacker) and the report's figures and run-time summary."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from ppfer_core.nets import UNet
from ppfer_core.report import (
    frame_grid,
    pattern_regex,
    plot_per_class,
    plot_privacy_utility,
    plot_runtime,
    read_benchmarks,
    rule_of,
    runtime_summary,
)
from ppfer_core.tables import table3
from ppfer_core.threat import PSNR_CAP, adaptive_leakage, fit_recovery, frame_quality, recover_clips
from ppfer_core.training import Run

CPU = torch.device("cpu")
FAST = {"epochs": 20, "batch_size": 16, "lr": 0.01, "optimizer": "adam"}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train several times faster on one thread (and do not fight a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def smooth_clips(n: int, seed: int, t: int = 4, size: int = 16) -> np.ndarray:
    """uint8 clips [n, t, size, size, 3] of smooth random images spanning 0..255."""
    x = gaussian_filter(np.random.default_rng(seed).random((n, t, size, size, 3)), sigma=(0, 0, 2, 2, 0))
    x = (x - x.min()) / (x.max() - x.min())
    return (x * 255).round().astype(np.uint8)


def attack(outputs_train, originals_train, outputs_test):
    torch.manual_seed(0)
    model = UNet(base_width=8, depth=1)
    result = fit_recovery(
        model, outputs_train, originals_train, FAST, Run(CPU, 0, log=lambda _: None, desc="recovery")
    )
    return recover_clips(model, outputs_test, np.zeros_like(outputs_test), CPU), result


def test_recovery_of_an_identity_method_recovers_the_frames():
    train, test = smooth_clips(16, 0), smooth_clips(4, 1)
    recovered, result = attack(train, train, test)
    assert result.history[-1]["l1_loss"] < result.history[0]["l1_loss"]
    q = frame_quality(recovered, test)
    assert q["psnr"] > 25 and q["ssim"] > 0.9 and q["frames"] == 16


def test_recovery_of_a_constant_output_is_no_better_than_the_mean_frame():
    train, test = smooth_clips(16, 0), smooth_clips(4, 1)
    constant = np.full_like(train, 128)
    recovered, _ = attack(constant, train, np.full_like(test, 128))
    mean_frame = np.broadcast_to(
        train.reshape(-1, *train.shape[2:]).mean(0).round().astype(np.uint8), test.shape
    )
    q, q_mean = frame_quality(recovered, test), frame_quality(np.ascontiguousarray(mean_frame), test)
    assert q["psnr"] < 20 and q["psnr"] < q_mean["psnr"] + 1.0
    assert q["ssim"] < 0.4


def test_ssim_and_psnr_on_known_images():
    rng = np.random.default_rng(0)
    a = rng.integers(20, 200, size=(2, 3, 16, 16, 3), dtype=np.uint8)
    same = frame_quality(a, a.copy())
    assert same["ssim"] == pytest.approx(1.0) and same["psnr"] == PSNR_CAP and same["frames"] == 6
    shifted = frame_quality(a + np.uint8(10), a)  # MSE 100 everywhere
    assert shifted["psnr"] == pytest.approx(10 * math.log10(255**2 / 100))
    assert 0.9 < shifted["ssim"] < 1.0  # only the luminance term drops
    # averaged over frames: a frame off by 10 (28.13 dB) and one off by 20 (22.11 dB)
    b = a[:1, :2].copy()
    off = b.copy()
    off[0, 0] += 10
    off[0, 1] += 20
    two = frame_quality(off, b)
    assert two["psnr"] == pytest.approx((10 * math.log10(255**2 / 100) + 10 * math.log10(255**2 / 400)) / 2)
    with pytest.raises(ValueError, match="shape"):
        frame_quality(a[:1], a)


def test_adaptive_attacker_learns_identities_from_anonymised_frames():
    # identity i is a colour; the "method" inverts colours: V_pl (trained on originals) would fail, the
    # adaptive attacker, trained on the method's outputs, recognises everyone
    n_ids, colours = 3, np.array([[250, 10, 10], [10, 250, 10], [10, 10, 250]], dtype=np.uint8)

    def clips(labels):
        x = np.broadcast_to(colours[labels][:, None, None, None, :], (len(labels), 2, 8, 8, 3)).copy()
        return 255 - x

    y_train, y_test = np.repeat(np.arange(n_ids), 4), np.arange(n_ids)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(8 * 8 * 3, n_ids))
    m = adaptive_leakage(
        model,
        clips(y_train),
        y_train,
        clips(y_test),
        y_test,
        n_ids,
        {"epochs": 30, "batch_size": 8, "lr": 0.05, "optimizer": "adam"},
        Run(CPU, 0, log=lambda _: None, desc="adaptive"),
        leakage_seed=0,
    )
    assert (
        m["plr"] == 100.0 and m["plr_vote"] == 100.0 and m["n"] == 3 and m["chance"] == pytest.approx(100 / 3)
    )
    # trained until it converged (train accuracy at the target), not for the whole epoch cap
    assert m["converged"] and m["train_acc"] >= 0.99 and len(m["history"]) == m["epochs"] < 30


def test_table3_rows_follow_table1_representations():
    t1 = pd.DataFrame(
        {
            "approach": ["No Privacy Preservation", "Gaussian Blur 1", "Ours"],
            "representation": ["original", "blur-s2", "ours"],
            "setting": [None, "sigma=2", None],
        }
    )
    rec = {"blur-s2": {"ssim": 0.9, "psnr": 30.0}, "ours": {"ssim": 0.4, "psnr": 10.0}}
    leak = {
        "recovered-blur-s2": {"plr": 70.0, "chance": 10.0, "vpl": {"plr": 80.0}},
        "recovered-ours": {"plr": 5.0, "chance": 10.0, "vpl": {"plr": 6.0}},
    }
    adapt = {"blur-s2": {"plr": 90.0}, "ours": {"plr": 20.0}}
    t3 = table3(["Gaussian Blur 1", "Ours"], t1, rec, leak, adapt)
    assert list(t3.columns[:6]) == ["approach", "ssim", "psnr", "plr", "plr_vpl", "plr_adaptive"]
    assert list(t3["plr_vpl"]) == [80.0, 6.0]  # V_pl's reading beside the independent validator's
    assert t3.to_dict("records")[0] | {} == {
        "approach": "Gaussian Blur 1",
        "ssim": 0.9,
        "psnr": 30.0,
        "plr": 70.0,
        "plr_vpl": 80.0,
        "plr_adaptive": 90.0,
        "chance": 10.0,
        "representation": "blur-s2",
        "setting": "sigma=2",
    }
    assert t3["setting"].iloc[1] == ""


def write_benchmark(path, s, rss, cpu, repeats=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    path.write_text(
        header + "".join(f"{s + r}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n" for r in range(repeats))
    )


def test_runtime_summary_from_benchmark_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    b = tmp_path / "benchmarks"
    write_benchmark(b / "utility/original.tsv", 10.0, 800.0, 15.0)
    write_benchmark(b / "utility/ours.tsv", 20.0, 900.0, 30.0)
    write_benchmark(b / "blur/blur-s1.5.tsv", 1.0, 100.0, 1.0, repeats=2)  # mean of 1.0 and 2.0
    write_benchmark(b / "tables.tsv", 0.5, 50.0, 0.4)
    write_benchmark(b / "orphan/x.tsv", 2.0, 10.0, 1.0)  # a rule without a stage
    files = sorted(str(f.relative_to(tmp_path)) for f in b.rglob("*.tsv"))
    jobs = read_benchmarks(files, {"utility": "evaluation", "blur": "baselines", "tables": "evaluation"})
    assert dict(zip(jobs["file"], jobs["rule"])) == {
        "benchmarks/blur/blur-s1.5.tsv": "blur",
        "benchmarks/orphan/x.tsv": "orphan",
        "benchmarks/tables.tsv": "tables",
        "benchmarks/utility/original.tsv": "utility",
        "benchmarks/utility/ours.tsv": "utility",
    }
    summary = runtime_summary(jobs).set_index("rule")
    assert list(summary.index) == ["utility", "orphan", "blur", "tables"]  # slowest first
    assert summary.loc["utility", ["jobs", "s", "cpu_time", "max_rss_sum", "max_rss_peak"]].tolist() == [
        2,
        30.0,
        45.0,
        1700.0,
        900.0,
    ]
    assert summary.loc["blur", "s"] == 1.5 and summary.loc["blur", "stage"] == "baselines"
    assert summary["share"].sum() == pytest.approx(1.0, abs=1e-3)
    plot_runtime(summary.reset_index(), tmp_path / "runtime.png")
    assert (tmp_path / "runtime.png").stat().st_size > 1000


def test_benchmark_pattern_regex_and_rule_from_the_path():
    assert pattern_regex(r"benchmarks/leakage/{rep}.tsv").match("benchmarks/leakage/recovered-blur-s1.tsv")
    assert not pattern_regex("benchmarks/tables.tsv").match("benchmarks/tables.tsv.bak")
    # an empty wildcard value (the closed set's {scope} of the bottleneck rules)
    scoped = pattern_regex("benchmarks/bottleneck/{scope}fit_basis.tsv")
    assert scoped.match("benchmarks/bottleneck/fit_basis.tsv")
    assert scoped.match("benchmarks/bottleneck/open-fit_basis.tsv")
    assert not scoped.match("benchmarks/bottleneck/open-estimate_codes.tsv")
    # benchmarks/{rule}/{wildcards...}.tsv, or benchmarks/{rule}.tsv without wildcards
    assert rule_of("benchmarks/utility/ours.tsv") == "utility"
    assert rule_of("benchmarks/federated_utility/fedavg/ours.tsv") == "federated_utility"
    assert rule_of("benchmarks/table4.tsv") == "table4"
    assert rule_of("/run/bench/blur/open-blur-s2.tsv", "/run/bench") == "blur"


def test_report_figures_are_written(tmp_path):
    t1 = pd.DataFrame(
        {
            "approach": ["No Privacy Preservation", "Ours"],
            "plr": [90.0, 8.0],
            "acc": [80.0, 70.0],
            "chance": [10.0, 10.0],
            "plr_adaptive": [95.0, 30.0],
        }
    )
    plot_privacy_utility(t1, tmp_path / "fig1.png")
    t2 = pd.DataFrame(
        [
            {"exp": "NPP", "ANG": 80, "DIS": 70, "FEA": 60, "HAP": 90, "NEU": 85, "SAD": 75, "Avg": 77},
            {"exp": "Ours", "ANG": 70, "DIS": 60, "FEA": 50, "HAP": 85, "NEU": 80, "SAD": 70, "Avg": 69},
        ]
    )
    plot_per_class(t2, tmp_path / "t2.png")
    clips = smooth_clips(3, 0, t=4, size=16)
    frame_grid([("original", clips), ("inverted", 255 - clips)], [0, 2], [0, 3], tmp_path / "frames.png")
    for name in ("fig1.png", "t2.png", "frames.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_recovery_l1_runs_the_u_net_in_the_dtype_asked_and_the_l1_in_fp32():
    from ppfer_core.threat import recovery_l1

    torch.manual_seed(0)
    net = UNet(base_width=4, depth=2)
    seen = []
    net.outc.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    rng = np.random.default_rng(0)
    outputs, originals = (rng.integers(0, 255, (2, 3, 16, 16, 3), dtype=np.uint8) for _ in range(2))
    cpu = torch.device("cpu")
    fp32 = recovery_l1(net, outputs, originals, cpu)
    bf16 = recovery_l1(net, outputs, originals, cpu, torch.bfloat16)
    assert seen == [torch.float32, torch.bfloat16]
    assert 0.0 < fp32 < 1.0 and abs(fp32 - bf16) < 5e-3
