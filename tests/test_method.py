"""Unit tests of the paper's components: privacy enhancers against frozen controllers, the merge,
the feature compensator, the joint (controller-free) ablation loss and the leakage validator."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from ppfer_core import tables, wavelet
from ppfer_core.compensator import compensation_loss
from ppfer_core.enhancer import (
    budget_stop,
    enhance_bands,
    enhance_frames,
    fit_enhancer,
    joint_utility_loss,
    privacy_loss,
)
from ppfer_core.evaluation import leakage_frames, privacy_leakage
from ppfer_core.nets import UNet, build_image_classifier, build_video_classifier
from ppfer_core.training import Player, Run, freeze, make_loader, optimizer, train
from ppfer_core.uvit import UViT

CPU = torch.device("cpu")


def _state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def identity_problem():
    """Four 'identities' that differ in colour, and a controller that has learnt them."""
    torch.manual_seed(0)
    y = torch.arange(4).repeat(16)
    base = torch.tensor([[0.8, 0.2, 0.2], [0.2, 0.8, 0.2], [0.2, 0.2, 0.8], [0.8, 0.8, 0.2]])
    x = (base[y][:, :, None, None] + 0.05 * torch.randn(64, 3, 16, 16)).clamp(0, 1)
    controller = build_image_classifier("resnet18", 4)
    opt = optimizer(controller.parameters(), "adam", 1e-3)
    for _ in range(30):
        opt.zero_grad()
        nn.functional.cross_entropy(controller(x), y).backward()
        opt.step()
    controller.eval()
    return x, y, controller


def test_enhancer_steps_raise_the_controllers_identity_loss_and_leave_it_frozen(identity_problem):
    x, y, controller = identity_problem
    enhancer = UNet(base_width=8, depth=2)
    frozen_before = _state(controller)
    with torch.no_grad():
        ce_before = nn.functional.cross_entropy(controller(enhancer(x)), y).item()
    result = fit_enhancer(
        enhancer,
        controller,
        TensorDataset(x, y),
        dict(epochs=3, batch_size=16, lr=1e-3, optimizer="adam"),
        dict(objective="ce", l1_weight=0.0, identity_budget=None),
        Run(CPU, 0, None, lambda s: None, "test"),
    )
    with torch.no_grad():
        ce_after = nn.functional.cross_entropy(controller(enhancer(x)), y).item()
    assert ce_after > ce_before
    assert result.history[-1]["controller_acc"] <= result.history[0]["controller_acc"]
    assert _same(frozen_before, controller.state_dict())
    assert all(not p.requires_grad for p in controller.parameters())


def test_entropy_objective_moves_the_controller_towards_uniform(identity_problem):
    x, y, controller = identity_problem
    enhancer = UNet(base_width=8, depth=2)
    freeze(controller)
    loss = privacy_loss(enhancer, controller, "entropy", 0.0)
    before = loss((x, y))[0].item()
    opt = optimizer(enhancer.parameters(), "adam", 1e-3)
    for _ in range(15):
        opt.zero_grad()
        loss((x, y))[0].backward()
        opt.step()
    assert loss((x, y))[0].item() < before


def test_l1_anchor_and_unknown_objective():
    enhancer, controller = (
        UNet(base_width=4, depth=1),
        freeze(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))),
    )
    x, y = torch.rand(2, 3, 8, 8), torch.tensor([0, 1])
    plain = privacy_loss(enhancer, controller, "ce", 0.0)((x, y))[0]
    anchored = privacy_loss(enhancer, controller, "ce", 10.0)((x, y))[0]
    assert anchored > plain
    with pytest.raises(ValueError, match="objective"):
        privacy_loss(enhancer, controller, "maximise", 0.0)


def test_identity_budget_stop_rule():
    stop = budget_stop(0.1)
    assert stop({"controller_acc": 0.5}) is None
    assert "identity budget" in stop({"controller_acc": 0.05})
    assert budget_stop(None)({"controller_acc": 0.0}) is None


def test_merge_of_unmodified_bands_reproduces_the_frames():
    clips = np.random.default_rng(0).integers(0, 256, (2, 3, 16, 16, 3), dtype=np.uint8)
    low, highs = wavelet.clips_to_bands(clips, "haar", 1)
    out = np.empty_like(clips)
    enhance_bands(None, None, low, highs, "haar", (16, 16), out, CPU)
    assert np.array_equal(out, clips)


def test_enhance_frames_with_identity_enhancers_is_near_identity():
    frames = torch.rand(2, 3, 16, 16)
    same = enhance_frames(frames, None, None, "haar", 1)
    assert torch.allclose(same, frames, atol=1e-5)


def test_compensator_steps_lower_the_expression_loss_and_keep_the_controller_frozen(identity_problem):
    x, y, controller = identity_problem  # here the 4 colour classes stand for expressions
    g = (x * 0.5 + 0.25).clamp(0, 1)  # a degraded version ("G")
    compensator = UViT(img_size=16, patch_size=4, embed_dim=32, depth=3, num_heads=2)
    frozen = _state(controller)
    loss = compensation_loss(compensator, freeze(controller), "ce")
    before = loss((g, y, x))[0].item()
    opt = optimizer(compensator.parameters(), "adam", 2e-3)
    for _ in range(20):
        opt.zero_grad()
        loss((g, y, x))[0].backward()
        opt.step()
    assert loss((g, y, x))[0].item() < before
    assert _same(frozen, controller.state_dict())


def test_mse_compensator_needs_no_controller_and_ce_does():
    comp = UViT(img_size=8, patch_size=4, embed_dim=16, depth=1, num_heads=2)
    g, x = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    value, _ = compensation_loss(comp, None, "mse")((g, torch.tensor([0, 1]), x))
    assert torch.isclose(value, nn.functional.mse_loss(g, x))  # untrained U-ViT is the identity
    with pytest.raises(ValueError):
        compensation_loss(comp, None, "ce")


def test_joint_loss_updates_enhancer_and_utility_together():
    torch.manual_seed(0)
    enh = UNet(base_width=4, depth=1)
    fu = build_video_classifier("r3d_small", 6, width=4)
    clips, e = torch.rand(4, 3, 4, 16, 16), torch.tensor([0, 1, 2, 3])
    before = [_state(enh), _state(fu)]
    loader = make_loader(TensorDataset(clips, e), 4, True, 0, CPU)
    opt = optimizer([*enh.parameters(), *fu.parameters()], "adam", 1e-3)
    train([Player("joint", [enh, fu], opt, joint_utility_loss(enh, fu))], loader, 1, CPU, 0)
    assert not _same(before[0], enh.state_dict()) and not _same(before[1], fu.state_dict())


def test_leakage_is_validator_accuracy_on_one_seeded_frame_per_clip():
    class Oracle(nn.Module):  # predicts identity from the frame's mean red value
        def forward(self, x):
            return nn.functional.one_hot((x[:, 0].mean((1, 2)) * 4).long().clamp(0, 3), 4).float()

    ids = np.array([0, 1, 2, 3, 0, 1])
    clips = np.zeros((6, 5, 4, 4, 3), dtype=np.uint8)
    clips[..., 0] = ((ids[:, None, None, None] + 0.5) / 4 * 255).astype(np.uint8)
    m = privacy_leakage(Oracle(), clips, ids, 4, seed=0, device=CPU)
    assert m["plr"] == 100.0 and m["chance"] == 25.0 and m["n"] == 6
    wrong = privacy_leakage(Oracle(), clips, (ids + 1) % 4, 4, seed=0, device=CPU)
    assert wrong["plr"] == 0.0
    assert np.array_equal(leakage_frames(6, 5, 3), leakage_frames(6, 5, 3))
    assert leakage_frames(100, 5, 3).max() < 5


def test_tables_read_their_numbers_from_metrics():
    leak = {
        "original": {"plr": 98.0, "chance": 10.0, "correct": 49, "n": 50, "vpl": {"plr": 99.0}},
        "ours": {"plr": 12.0, "chance": 10.0, "correct": 6, "n": 50, "vpl": {"plr": 3.0}},
    }
    util = {
        r: {"acc": a, "per_class": {k: a for k in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")}}
        for r, a in (("original", 80.0), ("ours", 75.0))
    }
    t1 = tables.table1([("No Privacy Preservation", "original"), ("Ours", "ours")], leak, util)
    assert list(t1["plr"]) == [98.0, 12.0] and list(t1["acc"]) == [80.0, 75.0]
    assert list(t1["plr_vpl"]) == [99.0, 3.0]
    t2 = tables.table2([("NPP", "original"), ("Ours", "ours")], util)
    assert list(t2.columns) == ["exp", "ANG", "DIS", "FEA", "HAP", "NEU", "SAD", "Avg"]
