"""The image-swapping donor (issue 12): a real photograph for a real corpus, the synthetic donor for
the synthetic corpus, a named photograph when given."""

import numpy as np
import pytest

from ppfer_core.baselines import PHOTO_DONOR, choose_donor

CFG = {"donor_actor": 9001, "donor_image": None}
FAKE_LM = np.zeros((68, 2), np.float32)


def test_real_corpus_defaults_to_a_photograph():
    seen = []
    donor, lm, what = choose_donor(
        CFG, "real", 112, 0, {"1001", "1002"}, lambda img: seen.append(img.shape) or FAKE_LM
    )
    assert PHOTO_DONOR in what and donor.shape == (512, 512, 3) and seen == [(512, 512, 3)]
    from skimage import data

    assert np.array_equal(donor, data.astronaut())


def test_synthetic_corpus_keeps_the_synthetic_donor():
    donor, lm, what = choose_donor(
        CFG, "synthetic", 64, 0, {"1001"}, lambda img: pytest.fail("no detection needed")
    )
    assert "synthetic actor 9001" in what and donor.shape == (64, 64, 3) and lm.shape == (68, 2)
    with pytest.raises(ValueError, match="donor_actor 9001 is in the corpus"):
        choose_donor(CFG, "synthetic", 64, 0, {"9001"}, lambda img: None)


def test_named_photograph_wins_and_a_faceless_one_is_named(tmp_path):
    from skimage.io import imsave

    path = tmp_path / "donor.png"
    imsave(path, np.full((40, 40, 3), 128, np.uint8), check_contrast=False)
    donor, _, what = choose_donor(
        {**CFG, "donor_image": str(path)}, "synthetic", 64, 0, set(), lambda img: FAKE_LM
    )
    assert str(path) in what and donor.shape == (40, 40, 3)
    with pytest.raises(ValueError, match="no face found in the donor photograph.*donor.png"):
        choose_donor({**CFG, "donor_image": str(path)}, "real", 64, 0, set(), lambda img: None)


def test_astronaut_has_a_face_for_dlib():
    pytest.importorskip("dlib", reason='needs the faces extra (pip install -e ".[faces]")')
    from ppfer_core.baselines import DlibLandmarks

    _, lm, _ = choose_donor(CFG, "real", 112, 0, set(), DlibLandmarks(1).detect)
    assert lm.shape == (68, 2) and np.isfinite(lm).all()
