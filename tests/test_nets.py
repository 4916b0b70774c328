"""Tests for ppfer_core.nets: shapes, identity initialisation, explicit weight loading (all offline, tiny sizes)."""

from __future__ import annotations

import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch
from torch import nn

from ppfer_core import nets, uvit
from ppfer_core.uvit import UViT

torch.set_num_threads(2)


# ------------------------------------------------------------------------------------------ U-Net


@pytest.mark.parametrize("hw", [(30, 22), (32, 32), (17, 17)])
@pytest.mark.parametrize("norm", ["batch", "group"])
def test_unet_any_size_in_unit_range(hw: tuple[int, int], norm: str) -> None:
    torch.manual_seed(0)
    model = nets.UNet(3, 3, base_width=8, depth=3, norm=norm)
    x = torch.rand(2, 3, *hw)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_unet_channels_and_transposed_up() -> None:
    model = nets.UNet(in_channels=9, out_channels=4, base_width=8, depth=2, bilinear=False)
    assert model(torch.rand(1, 9, 13, 19)).shape == (1, 4, 13, 19)


def test_unet_learns_identity() -> None:
    torch.manual_seed(0)
    model = nets.UNet(3, 3, base_width=8, depth=2)
    x = torch.rand(4, 3, 16, 16)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = (model(x) - x).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


# ------------------------------------------------------------------------------------------ U-ViT


def test_uvit_shape_identity_and_structure() -> None:
    torch.manual_seed(0)
    model = uvit.UViT(img_size=32, patch_size=4, embed_dim=32, depth=7, num_heads=4)
    x = torch.rand(2, 3, 32, 32)
    y = model(x)
    assert y.shape == x.shape
    assert torch.equal(y, x)  # untrained residual U-ViT is exactly the identity
    assert (
        len(model.in_blocks) == 3 and len(model.out_blocks) == 3 and isinstance(model.mid_block, uvit.Block)
    )
    for blk in model.out_blocks:
        assert isinstance(blk.skip_linear, nn.Linear)
        assert (blk.skip_linear.in_features, blk.skip_linear.out_features) == (64, 32)
    for blk in [*model.in_blocks, model.mid_block]:
        assert blk.skip_linear is None
    keys = set(model.state_dict())
    for k in (
        "in_blocks.0.norm1.weight",
        "in_blocks.0.attn.qkv.weight",
        "in_blocks.0.attn.proj.bias",
        "in_blocks.0.norm2.weight",
        "in_blocks.0.mlp.fc1.weight",
        "in_blocks.0.mlp.fc2.bias",
        "mid_block.attn.qkv.weight",
        "out_blocks.2.skip_linear.weight",
        "norm.weight",
        "decoder_pred.weight",
        "final_layer.weight",
        "pos_embed",
        "patch_embed.proj.weight",
    ):
        assert k in keys, k


def test_uvit_sigmoid_head_and_bad_size() -> None:
    model = uvit.UViT(img_size=16, patch_size=4, embed_dim=16, depth=3, num_heads=2, residual=False)
    y = model(torch.rand(1, 3, 16, 16)).detach()
    assert y.shape == (1, 3, 16, 16) and float(y.min()) > 0.0 and float(y.max()) < 1.0
    with pytest.raises(ValueError, match="divisible"):
        uvit.UViT(img_size=30, patch_size=4)
    with pytest.raises(ValueError):
        model(torch.rand(1, 3, 20, 20))


def test_uvit_gradients_reach_in_blocks() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 3, 32, 32)
    # sigmoid head: gradients at initialisation
    plain = uvit.UViT(img_size=32, patch_size=4, embed_dim=32, depth=5, num_heads=4, residual=False)
    plain(x).mean().backward()
    assert plain.in_blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    # residual head starts at the identity (zero decoder_pred); after one step gradients flow everywhere
    model = uvit.UViT(img_size=32, patch_size=4, embed_dim=32, depth=5, num_heads=4, residual=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    target = torch.rand_like(x) * 0.5 + 0.25
    for _ in range(2):
        opt.zero_grad()
        ((model(x) - target) ** 2).mean().backward()
        opt.step()
    assert model.in_blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert model.patch_embed.proj.weight.grad.abs().sum() > 0
    assert not torch.equal(model(x), x)


def _fake_latent_uvit_state(
    dim: int = 64, depth: int = 5, in_chans: int = 4, img: int = 8, patch: int = 2, num_classes: int = 11
) -> dict[str, torch.Tensor]:
    """A state dict with the key names and shapes of baofff/U-ViT's latent class-conditional model."""
    ref = uvit.UViT(
        img_size=img,
        patch_size=patch,
        in_channels=in_chans,
        embed_dim=dim,
        depth=depth,
        num_heads=4,
        residual=False,
    )
    sd = {k: v.clone() for k, v in ref.state_dict().items() if not k.startswith("final_layer")}  # conv=False
    extras = 2
    sd["pos_embed"] = torch.randn(1, extras + (img // patch) ** 2, dim)
    sd["label_emb.weight"] = torch.randn(num_classes, dim)
    sd["time_embed.0.weight"] = torch.randn(4 * dim, dim)  # present when mlp_time_embed=True
    for k in list(sd):
        if k.split(".")[0] in uvit.UVIT_BLOCK_PREFIXES:
            sd[k] = torch.randn_like(sd[k])
    return sd


def test_load_uvit_blocks(tmp_path) -> None:
    sd = _fake_latent_uvit_state()
    path = tmp_path / "uvit_latent.pth"
    torch.save(sd, path)
    model = uvit.UViT(img_size=32, patch_size=4, in_channels=3, embed_dim=64, depth=5, num_heads=4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = uvit.load_uvit_blocks(model, path)
    after = model.state_dict()
    block_keys = [k for k in sd if k.split(".")[0] in uvit.UVIT_BLOCK_PREFIXES]
    assert sorted(report.loaded) == sorted(block_keys)
    for k in block_keys:
        assert torch.equal(after[k], sd[k]), k
    for k in ("patch_embed.proj.weight", "pos_embed", "decoder_pred.weight", "final_layer.weight"):
        assert torch.equal(after[k], before[k]), k
        assert k in report.missing
    skipped = " ".join(report.skipped)
    assert "label_emb.weight (not a block)" in skipped and "time_embed.0.weight" in skipped
    assert "patch_embed.proj.weight" in skipped and "pos_embed" in skipped
    assert f"loaded {len(block_keys)} tensors" in report.summary()
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(model(x), x)  # loaded blocks keep the residual model an identity map

    other = tmp_path / "other.pth"
    torch.save({"time_embed.0.weight": torch.zeros(3, 3), "in_blocks.0.norm1.weight": torch.zeros(7)}, other)
    with pytest.raises(ValueError):
        uvit.load_uvit_blocks(model, other)


# ------------------------------------------------------------------------------------------ loading


def test_load_matching_and_checkpoint(tmp_path) -> None:
    src = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    dst = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 5))
    sd = {"module." + k: v for k, v in src.state_dict().items()}
    report = nets.load_matching(dst, sd, "src")
    assert sorted(report.loaded) == ["0.bias", "0.weight"]
    assert sorted(report.missing) == ["2.bias", "2.weight"] and len(report.skipped) == 2
    assert torch.equal(dst[0].weight, src[0].weight)
    with pytest.raises(ValueError):
        nets.load_matching(dst, {"foo.weight": torch.zeros(2), "0.weight": torch.zeros(3, 3)}, "unrelated")
    torch.save({"state_dict": src.state_dict()}, tmp_path / "ckpt.pt")
    assert len(nets.load_checkpoint(dst, tmp_path / "ckpt.pt").loaded) == 2


# ------------------------------------------------------------------------------------------ classifiers


def test_image_classifier_from_scratch() -> None:
    model = nets.build_image_classifier("resnet18", num_classes=7)
    model.eval()
    assert isinstance(model, nets.Normalized)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 7)


def test_image_classifier_from_local_file(tmp_path) -> None:
    import timm

    src = timm.create_model("resnet18", pretrained=False, num_classes=1000)
    path = tmp_path / "resnet18_in1k.pth"
    torch.save(src.state_dict(), path)
    t0 = time.perf_counter()
    model = nets.build_image_classifier("resnet18", num_classes=5, weights_file=str(path))
    assert time.perf_counter() - t0 < 10.0  # no network retries
    sd = model.net.state_dict()
    assert torch.equal(sd["conv1.weight"], src.state_dict()["conv1.weight"])
    assert torch.equal(sd["layer4.1.bn2.running_var"], src.state_dict()["layer4.1.bn2.running_var"])
    assert sd["fc.weight"].shape == (5, 512)
    report = model.load_report
    assert "conv1.weight" in report.loaded and "fc.weight" in report.missing
    assert model.eval()(torch.rand(1, 3, 32, 32)).shape == (1, 5)
    # the identity classifier -> controller path: a PPFER checkpoint of the wrapper loads by name
    torch.save(model.state_dict(), tmp_path / "vpl.pt")
    ctrl = nets.build_image_classifier("resnet18", num_classes=5)
    assert len(nets.load_checkpoint(ctrl, tmp_path / "vpl.pt").missing) == 0
    # a file whose names do not fit must fail loudly, not load nothing
    torch.save({"x.weight": torch.zeros(2)}, tmp_path / "junk.pth")
    with pytest.raises(Exception):  # noqa: B017 (whatever the loader raises, it must not load nothing)
        nets.build_image_classifier("resnet18", num_classes=5, weights_file=tmp_path / "junk.pth")


def test_small_cnn_classifier_features_and_local_weights(tmp_path) -> None:
    build = nets.build_image_classifier
    model = build(nets.SMALL_CNN, num_classes=6, width=8).eval()
    assert isinstance(model.net, nets.SmallCNN) and model(torch.rand(2, 3, 64, 64)).shape == (2, 6)
    assert build(nets.SMALL_CNN, 0, width=8).eval()(torch.rand(2, 3, 32, 32)).shape == (2, 64)
    torch.save(model.state_dict(), tmp_path / "cfc.pt")  # a C_fc checkpoint seeds a 3-class head-less reuse
    other = build(nets.SMALL_CNN, num_classes=3, weights_file=tmp_path / "cfc.pt", width=8)
    assert torch.equal(other.net.features[0].weight, model.net.features[0].weight)
    assert "features.0.weight" in other.load_report.loaded
    assert any(k.startswith("head.weight") for k in other.load_report.skipped)
    torch.save({"x.weight": torch.zeros(2)}, tmp_path / "junk.pt")  # nothing loads: an error
    with pytest.raises(Exception):  # noqa: B017
        build(nets.SMALL_CNN, 6, weights_file=tmp_path / "junk.pt", width=8)


@pytest.mark.parametrize("arch", ["r3d_small", "r3d_18"])
def test_video_classifier_shapes(arch: str) -> None:
    model = nets.build_video_classifier(arch, num_classes=6, width=8).eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 8, 32, 32)).shape == (2, 6)


def test_video_classifier_loads_local_kinetics(tmp_path) -> None:
    from torchvision.models.video import r3d_18

    src = r3d_18(weights=None)
    path = tmp_path / "r3d_18_k400.pth"
    torch.save(src.state_dict(), path)
    model = nets.build_video_classifier("r3d_18", num_classes=6, weights_file=path)
    report = model.load_report
    assert len(report.loaded) == len(src.state_dict()) and not report.skipped
    assert torch.equal(model.net.stem[0].weight, src.stem[0].weight)
    assert model.net.fc.out_features == 6
    small = nets.build_video_classifier("r3d_small", num_classes=6, width=8)
    assert small.net.layer4[0].conv1[0].out_channels == 64
    with pytest.raises(ValueError):
        nets.build_video_classifier("r3d_small", num_classes=6, width=8, weights_file=path)
    with pytest.raises(ValueError):
        nets.build_video_classifier("c3d", num_classes=6)


def test_build_unet_and_uvit_from_config_entries(tmp_path):
    from ppfer_core.nets import build_unet
    from ppfer_core.training import save_weights
    from ppfer_core.uvit import build_uvit

    torch.manual_seed(0)
    unet = build_unet({"base_width": 4, "depth": 2})
    assert isinstance(unet, nets.UNet) and unet.depth == 2
    save_weights(unet, tmp_path / "u.pt")
    again = build_unet({"base_width": 4, "depth": 2}, tmp_path / "u.pt")
    assert all(torch.equal(a, b) for a, b in zip(unet.state_dict().values(), again.state_dict().values()))
    uvit = build_uvit({"patch": 4, "dim": 16, "depth": 3, "heads": 2, "weights": None}, 16)
    assert isinstance(uvit, UViT) and uvit.img_size == 16 and uvit.patch_size == 4
