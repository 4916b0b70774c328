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


def test_motion_input_makes_the_clip_mean_visible_only_through_the_frames():
    """With motion input the second stream is each frame minus the clip's mean frame: a static
    clip has an all-zero motion stream, a moving one does not."""
    net = FrameConvNet(6, width=4, motion=True).eval()
    seen = {}
    net.frames[0][0].register_forward_hook(lambda m, inp, out: seen.update(x=inp[0]))
    static = torch.rand(1, 1, 1, 16, 16).expand(1, 3, 4, 16, 16).contiguous()
    net(static)
    assert seen["x"].shape[1] == 6 and torch.count_nonzero(seen["x"][:, 3:]) == 0
    net(torch.rand(1, 3, 4, 16, 16))
    assert torch.count_nonzero(seen["x"][:, 3:]) > 0


def test_frame_cnn_rejects_bad_sizes_and_unknown_archs_are_named():
    with pytest.raises(ValueError, match="depth"):
        FrameConvNet(6, width=8, depth=0)
    with pytest.raises(ValueError, match="frame_cnn"):
        build_video_classifier("c3d", 6)
