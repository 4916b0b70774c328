"""The CPU-sized video classifier frame_cnn (ppfer_core.video_nets) through the one builder."""

from __future__ import annotations

import pytest
import torch

from ppfer_core.nets import build_video_classifier
from ppfer_core.video_nets import FrameConvNet


def test_frame_cnn_builds_through_build_video_classifier_and_classifies_clips():
    model = build_video_classifier("frame_cnn", 6, None, width=8).eval()
    x = torch.rand(2, 3, 8, 64, 64)
    assert model(x).shape == (2, 6)
    assert model(torch.rand(3, 3, 5, 48, 48)).shape == (3, 6)  # any clip length and frame size
    out = model(x)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_motion_input_removes_what_stays_the_same_through_the_clip():
    """``motion``: each frame minus the clip's mean frame (a static clip gives all zeros);
    ``both``: frames and motion stacked; ``frames``: the frames as they are."""
    seen = {}

    def first_conv_input(net):
        net.frames[0][0].register_forward_hook(lambda m, inp, out: seen.update(x=inp[0]))
        return net

    static = torch.rand(1, 1, 1, 16, 16).expand(1, 3, 4, 16, 16).contiguous()
    moving = torch.rand(1, 3, 4, 16, 16)
    net = first_conv_input(FrameConvNet(6, width=4).eval())
    net(static)
    assert seen["x"].shape[1] == 3 and torch.count_nonzero(seen["x"]) == 0
    net(moving)
    assert torch.count_nonzero(seen["x"]) > 0
    net = first_conv_input(FrameConvNet(6, width=4, input="both").eval())
    net(static)
    assert (
        seen["x"].shape[1] == 6
        and torch.count_nonzero(seen["x"][:, 3:]) == 0
        and torch.count_nonzero(seen["x"][:, :3]) > 0
    )
    net = first_conv_input(FrameConvNet(6, width=4, input="frames").eval())
    net(static)
    assert torch.equal(seen["x"], static.transpose(1, 2).reshape(4, 3, 16, 16))


def test_frame_cnn_rejects_bad_sizes_and_unknown_archs_are_named():
    with pytest.raises(ValueError, match="depth"):
        FrameConvNet(6, width=8, depth=0)
    with pytest.raises(ValueError, match="input"):
        FrameConvNet(6, input="flow")
    with pytest.raises(ValueError, match="time_pool"):
        FrameConvNet(6, time_pool="median")
    with pytest.raises(ValueError, match="frame_cnn"):
        build_video_classifier("c3d", 6)
