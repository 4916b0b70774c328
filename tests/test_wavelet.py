import numpy as np
import pytest
import torch

from ppfer_core import wavelet


@pytest.mark.parametrize(
    "name,level,size", [("haar", 1, (32, 32)), ("haar", 2, (64, 48)), ("db2", 2, (30, 22))]
)
def test_unmodified_bands_reproduce_clips(name, level, size):
    clips = np.random.default_rng(0).integers(0, 256, (2, 3, *size, 3), dtype=np.uint8)
    low, highs = wavelet.clips_to_bands(clips, name, level)
    assert low.shape[:3] == (2, 3, 3) and len(highs) == level
    assert all(h.shape[2:4] == (3, 3) for h in highs)
    assert np.array_equal(wavelet.bands_to_clips(low, highs, name, size), clips)


def test_band_image_maps_are_inverse_and_in_range():
    frames = torch.rand(4, 3, 32, 32)
    low, (high,) = wavelet.dwt(frames, "haar", 1)
    img = wavelet.low_to_image(low, 1)
    assert 0 <= img.min() and img.max() <= 1.0 + 1e-6
    himg = wavelet.high_to_image(high, 1)
    assert 0 <= himg.min() and himg.max() <= 1.0
    assert torch.allclose(wavelet.image_to_high(himg, 1), high, atol=1e-6)
    assert torch.allclose(wavelet.image_to_low(img, 1), low)


def test_low_band_carries_the_coarse_image_and_high_the_detail():
    frames = torch.rand(1, 3, 16, 16)
    low, (high,) = wavelet.dwt(frames, "haar", 1)
    pooled = torch.nn.functional.avg_pool2d(frames, 2)
    assert torch.allclose(wavelet.low_to_image(low, 1), pooled, atol=1e-5)
    flat = torch.full((1, 3, 16, 16), 0.3)
    _, (flat_high,) = wavelet.dwt(flat, "haar", 1)
    assert flat_high.abs().max() < 1e-6


def test_streaming_alloc_writes_into_given_arrays(tmp_path):
    clips = np.random.default_rng(1).integers(0, 256, (3, 2, 16, 16, 3), dtype=np.uint8)
    made = {}

    def alloc(name, shape):
        made[name] = np.lib.format.open_memmap(
            tmp_path / f"{name}.npy", mode="w+", dtype=np.float32, shape=shape
        )
        return made[name]

    low, highs = wavelet.clips_to_bands(clips, "haar", 2, alloc=alloc)
    assert set(made) == {"low", "high_1", "high_2"}
    assert low is made["low"] and highs[1] is made["high_2"]
    ref_low, _ = wavelet.clips_to_bands(clips, "haar", 2)
    assert np.array_equal(np.load(tmp_path / "low.npy"), ref_low) or np.allclose(np.asarray(low), ref_low)
