"""Config key ``cpu_dtype`` (issue 30, lever 3): CPU trainings in bf16 autocast where the CPU has it,
weights and optimiser in fp32, and every metrics file with a training history naming the dtype."""

import copy
import logging
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate
from torch import nn
from torch.utils.data import TensorDataset

from ppfer_core import training
from ppfer_core.runtime import read_json
from ppfer_core.training import Player, Run, TrainSettings, fit, optimizer, resolve_cpu_dtype

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "schemas" / "config.schema.yaml")
CPU = torch.device("cpu")
BF16 = torch.bfloat16


def _config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_schema_accepts_the_three_values_and_defaults_to_auto():
    for value in ("auto", "float32", "bfloat16"):
        validate({**_config(), "cpu_dtype": value}, SCHEMA)
    cfg = _config()
    del cfg["cpu_dtype"]
    validate(cfg, SCHEMA)  # a config written before the key still validates ...
    assert cfg["cpu_dtype"] == "auto"  # ... and gets the default
    assert yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())["cpu_dtype"] == "float32"


def test_schema_and_resolver_refuse_a_bad_value_naming_the_key():
    with pytest.raises(WorkflowError, match="cpu_dtype"):
        validate({**copy.deepcopy(_config()), "cpu_dtype": "float16"}, SCHEMA)
    with pytest.raises(ValueError, match="cpu_dtype"):
        resolve_cpu_dtype("fp16")


def test_auto_follows_the_capability_check(monkeypatch):
    monkeypatch.setattr(training, "cpu_has_bf16", lambda: False)
    assert resolve_cpu_dtype("auto") == torch.float32
    assert resolve_cpu_dtype("bfloat16") == BF16  # asked for explicitly: honoured
    monkeypatch.setattr(training, "cpu_has_bf16", lambda: True)
    assert resolve_cpu_dtype("auto") == BF16
    assert resolve_cpu_dtype("float32") == torch.float32


def test_capability_check_needs_a_bf16_flag_in_cpuinfo(tmp_path):
    without = tmp_path / "without"
    without.write_text("flags\t\t: fpu sse avx2 avx512f avx512bw\n")
    assert not training.cpu_has_bf16(without)
    assert not training.cpu_has_bf16(tmp_path / "missing")
    with_flag = tmp_path / "with"
    with_flag.write_text("flags\t\t: fpu sse avx2 avx512f avx512bw avx512_bf16\n")
    assert training.cpu_has_bf16(with_flag) == bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _train(cpu_dtype: torch.dtype) -> tuple[nn.Module, list[torch.dtype], training.TrainResult]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 3))
    g = torch.Generator().manual_seed(1)
    data = TensorDataset(torch.rand(24, 3, 8, 8, generator=g), torch.randint(0, 3, (24,), generator=g))
    seen: list[torch.dtype] = []

    def loss(batch):
        logits = model(batch[0])
        seen.append(logits.dtype)
        return nn.functional.cross_entropy(logits, batch[1]), {}

    player = Player("ce", [model], optimizer(model.parameters(), "adam", 0.01), loss)
    settings = TrainSettings(epochs=2, batch_size=8, lr=0.01)
    result = fit([player], data, settings, Run(CPU, 0, log=lambda _: None, cpu_dtype=cpu_dtype), {"t": 1})
    return model, seen, result


def test_bf16_training_steps_in_bf16_and_keeps_fp32_weights_deterministically():
    torch.manual_seed(0)
    before = [p.detach().clone() for p in _train(torch.float32)[0].parameters()]
    torch.manual_seed(0)
    initial = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 3))
    model, seen, result = _train(BF16)
    assert set(seen) == {BF16}  # the forward ran under bf16 autocast
    assert result.dtype == "bfloat16"
    for p, p0 in zip(model.parameters(), initial.parameters(), strict=True):
        assert p.dtype == torch.float32
        assert not torch.equal(p.detach(), p0.detach())  # the steps changed the weights
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))  # not fp32's
    again, _, _ = _train(BF16)
    for p, q in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)  # same config, same machine: same weights
    _, seen32, result32 = _train(torch.float32)
    assert set(seen32) == {torch.float32} and result32.dtype == "float32"


def test_rule_metrics_name_the_dtype_the_job_trained_in(tmp_path):
    rng = np.random.default_rng(0)
    low, high = tmp_path / "low.npy", tmp_path / "high.npy"
    np.save(low, rng.normal(0, 1, (2, 2, 3, 8, 8)).astype(np.float32))
    np.save(high, rng.normal(0, 0.1, (2, 2, 3, 3, 8, 8)).astype(np.float32))
    for setting, expected in (("bfloat16", "bfloat16"), ("float32", "float32")):
        out = tmp_path / setting
        sm = SimpleNamespace(
            log=[str(out / "job.log")],
            config={"seed": 0, "device": "cpu", "cpu_dtype": setting, "workers": 0},
            params=SimpleNamespace(
                seed=0,
                unet={"base_width": 4, "depth": 1},
                train={"epochs": 1, "batch_size": 4, "lr": 0.001, "optimizer": "adam"},
            ),
            input=SimpleNamespace(bands=[str(low), str(high)]),
            output=SimpleNamespace(model=str(out / "init.pt"), metrics=str(out / "init.json")),
            threads=1,
            rule="pretrain_enhancer",
            wildcards={},
        )
        stdout, stderr, threads = sys.stdout, sys.stderr, torch.get_num_threads()
        try:
            runpy.run_path(
                str(ROOT / "workflow_scripts" / "pretrain_enhancer.py"), init_globals={"snakemake": sm}
            )
        finally:
            sys.stdout, sys.stderr = stdout, stderr
            logging.captureWarnings(False)
            torch.set_num_threads(threads)
        metrics = read_json(out / "init.json")
        assert metrics["train_dtype"] == expected
        assert len(metrics["history"]) == 1


def test_channels_last_changes_strides_of_convolution_weights_only():
    from ppfer_core.nets import build_video_classifier

    net = build_video_classifier("frame_cnn", 6, width=8)  # 2-D convolutions beside 5-D normalisation buffers
    before = {k: v.clone() for k, v in net.state_dict().items()}
    training.channels_last(net)  # net.to(memory_format=torch.channels_last) raises on the 5-D buffers
    for name, p in net.named_parameters():
        assert torch.equal(p, before[name])
        if p.dim() == 4:
            assert p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous(), name
    assert all(b.is_contiguous() for b in net.buffers())
    video = training.channels_last(nn.Conv3d(3, 4, 3))
    assert (
        video.weight.is_contiguous(memory_format=torch.channels_last_3d) and not video.weight.is_contiguous()
    )
    x = torch.rand(2, 3, 4, 16, 16)
    net.eval()
    with torch.no_grad():
        plain = copy.deepcopy(net)
        for p in plain.parameters():
            p.data = p.data.contiguous()
        assert torch.allclose(net(x), plain(x), atol=1e-5)


def test_depthwise_models_train_in_float32_whatever_cpu_dtype_says():
    from ppfer_core.nets import build_image_classifier

    mobile = build_image_classifier("mobilenetv3_small_100", 4)  # the validator: depthwise convolutions
    resnet = build_image_classifier("resnet18", 4)
    assert training.has_depthwise(mobile) and not training.has_depthwise(resnet)
    assert training.cpu_dtype_for([mobile], BF16) == torch.float32
    assert training.cpu_dtype_for([resnet], BF16) == BF16
    assert training.cpu_dtype_for([resnet, mobile], BF16) == torch.float32
    assert training.cpu_dtype_for([resnet], torch.float32) == torch.float32


def test_an_attacker_is_scored_in_the_dtype_it_trains_in():
    from ppfer_core.attacks import frame_logits

    seen = []
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    net.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    clips = np.random.default_rng(0).integers(0, 255, (2, 3, 8, 8, 3), dtype=np.uint8)
    fp32 = frame_logits(net, clips, CPU)
    bf16 = frame_logits(net, clips, CPU, cpu_dtype=BF16)
    assert seen == [torch.float32, BF16]
    assert fp32.dtype == bf16.dtype == np.float32 and fp32.shape == bf16.shape == (2, 3, 4)
    assert np.allclose(fp32, bf16, atol=0.05)


def test_memory_format_bench_prints_a_row_per_pass_with_its_gains(capsys, monkeypatch):
    bench = runpy.run_path(str(ROOT / "bench" / "memory_format.py"), run_name="bench")
    monkeypatch.setattr(
        sys, "argv", ["memory_format.py", "--families", "small_cnn16", "--steps", "1", "--size", "16"]
    )
    bench["main"]()
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("| small_cnn16")]
    assert [r.split(" | ")[2] for r in rows] == ["train", "infer"]
    for r in rows:
        cells = r.strip("| ").split(" | ")
        assert all(float(c) > 0 for c in cells[3:7]) and all(c.endswith("x") for c in cells[7:])


def test_channels_last_leaves_a_lazy_module_to_its_first_forward():
    net = training.channels_last(nn.Sequential(nn.LazyConv2d(4, 3), nn.Conv2d(4, 2, 1)))
    assert net[1].weight.is_contiguous(memory_format=torch.channels_last)
    assert net(torch.rand(1, 3, 8, 8)).shape == (1, 2, 6, 6)
