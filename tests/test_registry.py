"""The model registry (ppfer_core.registry): names registered by decorator, built by create_model, the
config schema's architecture enums equal to the registry's names, and unknown names listing them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _schema() -> dict:
    return yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())


def test_schema_architecture_enums_are_the_registry_names():
    from ppfer_core.registry import list_models

    schema = _schema()
    utility = schema["properties"]["models"]["properties"]["utility"]["properties"]["arch"]
    assert sorted(utility["enum"]) == list_models("video")
    # the clip attacker is a video model of the R3D family (frame_cnn sees motion only, by design)
    clip = schema["$defs"]["attacks"]["properties"]["clip"]["properties"]["arch"]
    assert sorted(clip["enum"]) == [n for n in list_models("video") if n.startswith("r3d")]
    # frame classifiers: the registered names, or any timm name (no enum), as the description says
    image = schema["$defs"]["classifier"]["properties"]["arch"]
    assert "enum" not in image and all(n in image["description"] for n in list_models("image"))


def test_create_model_builds_the_registered_architectures():
    import torch

    from ppfer_core.nets import R3DSmall, SmallCNN, UNet
    from ppfer_core.registry import create_model
    from ppfer_core.uvit import UViT
    from ppfer_core.video_nets import FrameConvNet

    assert isinstance(create_model("unet", "unet", settings={"base_width": 4, "depth": 2}), UNet)
    comp = create_model(
        "compensator", "uvit", settings={"patch": 4, "dim": 16, "depth": 1, "heads": 2}, img_size=16
    )
    assert isinstance(comp, UViT) and comp.img_size == 16
    assert isinstance(create_model("image", "small_cnn", num_classes=3, width=4).net, SmallCNN)
    timm_net = create_model("image", "resnet18", num_classes=0).eval()
    assert timm_net(torch.rand(1, 3, 32, 32)).shape == (1, 512)
    assert isinstance(create_model("video", "r3d_small", num_classes=3, width=4).net, R3DSmall)
    assert isinstance(create_model("video", "frame_cnn", num_classes=3, width=8).net, FrameConvNet)


def test_unknown_names_list_the_registered_ones():
    from ppfer_core.registry import create_model

    with pytest.raises(
        ValueError, match=r"unknown video model 'c3d' \(registered: frame_cnn, r3d_18, r3d_small\)"
    ):
        create_model("video", "c3d", num_classes=3)
    with pytest.raises(ValueError, match="unknown image model 'no_such_net'.*small_cnn.*timm"):
        create_model("image", "no_such_net", num_classes=3)
    with pytest.raises(ValueError, match="unknown model family 'audio'.*unet, compensator, image, video"):
        create_model("audio", "x")


def test_register_model_decorator():
    from ppfer_core import registry

    @registry.register_model("unet", "test_double")
    def double(settings):
        return 2 * settings

    try:
        assert registry.create_model("unet", "test_double", settings=21) == 42
        assert "test_double" in registry.list_models("unet")
        with pytest.raises(ValueError, match="registered twice"):
            registry.register_model("unet", "test_double")(lambda settings: settings)
    finally:
        registry._BUILDERS["unet"].pop("test_double")


def test_registry_imports_no_torch():
    code = "import sys, ppfer_core.registry; print(sorted(m for m in ('torch', 'timm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_nets_and_the_unet_and_video_builders_import_no_timm():
    code = (
        "import sys; from ppfer_core.registry import create_model; import ppfer_core.nets; "
        "create_model('unet', 'unet', settings={'base_width': 4, 'depth': 1}); "
        "create_model('video', 'frame_cnn', num_classes=2, width=4); "
        "create_model('image', 'small_cnn', num_classes=2, width=4); print('timm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "False"
