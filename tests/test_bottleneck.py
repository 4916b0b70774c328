"""Issue 27's library: the expression-code bottleneck (ppfer_core.bottleneck)."""

import inspect

import numpy as np
import pytest
import torch

from ppfer_core import EMOTIONS
from ppfer_core.bottleneck import (
    AttackSettings,
    BasisSettings,
    BottleneckSettings,
    LandmarkRegressor,
    RegressorSettings,
    code_attacks,
    encode,
    fit_basis,
    fit_basis_federated,
    neutral_reference,
    normalise,
    point_errors,
    predict_landmarks,
    procrustes,
    render_codes,
    synthetic_template,
    train_regressor,
)
from ppfer_core.synthetic import render_clip


@pytest.fixture(scope="module")
def corpus():
    """Clips [N, 8, 32, 32, 3] and landmarks [N, 8, 68, 2] of 3 actors x 6 emotions."""
    clips, lms = [], []
    for actor in (1001, 1002, 1003):
        for key, emo in enumerate(EMOTIONS):
            f, lm = render_clip(actor, emo, 1.0, 8, 32, 0, clip_key=key)
            clips.append(f)
            lms.append(lm)
    return np.stack(clips), np.stack(lms)


@pytest.fixture(scope="module")
def template():
    return synthetic_template(9004, 32, 0)


def _rotate(shapes, angle, scale, shift):
    c, s = np.cos(angle), np.sin(angle)
    return scale * shapes @ np.array([[c, s], [-s, c]]) + shift


def test_procrustes_removes_scale_rotation_translation(corpus):
    shape = corpus[1][0, 3].astype(np.float64)
    canonical, _ = normalise(corpus[1][1, 0])
    moved = _rotate(shape, 0.4, 2.7, np.array([13.0, -5.0]))
    a, _ = procrustes(shape, canonical)
    b, tf = procrustes(moved, canonical)
    np.testing.assert_allclose(a, b, atol=1e-9)
    np.testing.assert_allclose(tf.invert(b), moved, atol=1e-9)
    c, _ = procrustes(shape[:, ::-1], canonical)  # a reflected shape is not aligned onto the original
    assert np.abs(c - a).max() > 0.1


def test_fit_basis_reads_train_landmarks_only(corpus, template):
    """No identity label, no emotion, no test clip: the signature has nothing to pass them through,
    and the fit does not depend on the clips' order (no label hidden in the position)."""
    assert list(inspect.signature(fit_basis).parameters) == ["train_landmarks", "canonical", "settings"]
    lms = corpus[1]
    s = BasisSettings(k=4)
    a = fit_basis(lms, template.canonical, s)
    b = fit_basis(lms[np.random.default_rng(0).permutation(len(lms))], template.canonical, s)
    np.testing.assert_allclose(a.basis, b.basis, atol=1e-8)
    np.testing.assert_allclose(a.mu, b.mu, atol=1e-10)


def test_neutral_reference_is_not_the_median(corpus, template):
    """A sustained expression: 2 neutral frames then 6 at the apex; the reference is the neutral shape."""
    neutral = render_clip(1001, "NEU", 0.0, 2, 32, 0)[1][0]
    smile = render_clip(1001, "HAP", 1.0, 16, 32, 0)[1]
    apex = smile[np.argmax(np.abs(smile - neutral).sum((1, 2)))]
    clip = np.stack([neutral, neutral] + [apex] * 6)[None]
    basis = fit_basis(corpus[1], template.canonical, BasisSettings(k=6))
    from ppfer_core.bottleneck import align

    x = align(clip, template.canonical)
    ref = neutral_reference(x, basis.mu, basis.b0, 0.25)
    np.testing.assert_allclose(ref[0], x[0, 0], atol=1e-9)
    assert np.abs(np.median(x[0], 0) - x[0, 0]).max() > 1e-3


def test_render_is_a_function_of_the_code_alone(corpus, template):
    """Two clips of different actors with the same code render to identical frames: actor 1002's clip
    is given actor 1001's expression landmarks under another pose (scale, roll, position) and frames;
    the codes agree, and so do the renders, pixel for pixel."""
    clips, lms = corpus
    basis = fit_basis(lms, template.canonical, BasisSettings(k=5, reference="relative"))
    other = _rotate(lms[:1], -0.2, 0.8, np.array([4.0, 2.0]))
    codes_a, codes_b = encode(lms[:1], basis), encode(other, basis)
    np.testing.assert_allclose(codes_a, codes_b, atol=1e-5)
    assert "frames" not in inspect.signature(render_codes).parameters
    outs = []
    for codes in (codes_a, codes_b.round(4)):
        out = np.zeros((1, 8, 32, 32, 3), np.uint8)
        render_codes(codes.round(4), template, basis, out)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(clips[6], clips[0])  # the sources differ (actor 1002 vs 1001)
    varied = np.zeros((1, 8, 32, 32, 3), np.uint8)
    render_codes(codes_a * 3, template, basis, varied)
    assert not np.array_equal(varied, outs[0])  # and the code does move the render


def test_federated_summed_covariances_equal_pooled_fit(corpus, template):
    lms = corpus[1]
    for s in (BasisSettings(k=4), BasisSettings(k=3, reference="absolute", amplitude_norm=True)):
        pooled = fit_basis(lms, template.canonical, s)
        fed = fit_basis_federated([lms[:5], lms[5:11], lms[11:]], template.canonical, s)
        np.testing.assert_allclose(fed.basis, pooled.basis, atol=1e-8)
        np.testing.assert_allclose(fed.eigenvalues, pooled.eigenvalues, rtol=1e-8)
        np.testing.assert_allclose(fed.mu, pooled.mu, atol=1e-10)
        np.testing.assert_allclose(encode(lms, fed), encode(lms, pooled), atol=1e-5)


@pytest.fixture
def one_thread():
    """Tiny CNNs: one torch thread (a second one only adds contention on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _shifted(corpus):
    """Two clips (16 frames) moved by up to 6 px, landmarks with them: the mean shape is off by pixels."""
    from ppfer_core.bottleneck.landmarks import shift_batch

    torch.manual_seed(0)
    x = torch.from_numpy(corpus[0][[0, 7]].reshape(-1, 32, 32, 3)).permute(0, 3, 1, 2).float()
    y = torch.from_numpy(corpus[1][[0, 7]].reshape(-1, 68, 2) / 16 - 1).float()
    x, y = shift_batch(x, y, 6)
    clips = x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy().reshape(2, 8, 32, 32, 3)
    return clips, ((y.numpy() + 1) * 16).reshape(2, 8, 68, 2)


def _run(state=None, log=lambda _: None):
    from ppfer_core.training import Run

    return Run(torch.device("cpu"), 0, state, log, "landmarks")


@pytest.mark.parametrize(
    ("motion", "head", "upsample"),
    [(False, "regression", 1), (True, "heatmap", 2)],  # the default, and every option at once
)
def test_landmark_regressor_learns(corpus, motion, head, upsample, one_thread):
    """A few shifted frames: the trained regressor beats the mean-shape baseline by a wide margin."""
    clips, lms = _shifted(corpus)
    before = point_errors(np.broadcast_to(lms.mean((0, 1)), lms.shape), lms)[0]
    s = RegressorSettings(
        width=4, epochs=30, batch_size=8, lr=0.01, shift=0, motion=motion, head=head, upsample=upsample
    )
    net, _ = train_regressor(clips, lms, s, _run())
    after = point_errors(predict_landmarks(net, clips), lms)[0]
    assert after < 0.6 * before, (before, after)


def test_landmark_regressor_resumes_after_interruption(corpus, tmp_path, one_thread):
    """Killed during epoch 2, the rerun resumes from the state of epoch 1 and ends with the weights
    of an uninterrupted training; the registry builds the architecture."""
    from ppfer_core.registry import create_model, list_models

    assert list_models("landmarks") == ["landmark_cnn"]
    assert isinstance(create_model("landmarks", "landmark_cnn", size=32, width=4), LandmarkRegressor)
    clips, lms = _shifted(corpus)
    s = RegressorSettings(width=4, epochs=3, batch_size=8, lr=0.01, shift=2)
    whole, _ = train_regressor(clips, lms, s, _run())

    def killed(line):
        if "epoch=2" in line:
            raise KeyboardInterrupt

    state = tmp_path / "landmarks.state"
    with pytest.raises(KeyboardInterrupt):
        train_regressor(clips, lms, s, _run(state, killed))
    assert state.exists()
    resumed, result = train_regressor(clips, lms, s, _run(state))
    assert result.resumed_from == 1 and len(result.history) == 3
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)


def _sequences(n_ids, per_id, signal, seed):
    """Code sequences [n, 6, 4]: noise plus ``signal`` x a per-identity offset (the same identities,
    offsets drawn once, in every split; ``seed`` draws the noise)."""
    ids = np.repeat(np.arange(n_ids), per_id)
    offsets = np.random.default_rng(123).normal(0, 1, (n_ids, 1, 4))
    x = np.random.default_rng(seed).normal(0, 1, (len(ids), 6, 4)) + signal * offsets[ids]
    return x, ids


def test_code_attackers_at_chance_without_identity_and_high_with_it(one_thread):
    s = AttackSettings(mlp_max_iter=200, gru_hidden=16, gru_epochs=10, seed=0)
    for signal, check in ((0.0, lambda a: a < 2 * 100 / 4), (3.0, lambda a: a > 90)):
        xtr, ytr = _sequences(4, 30, signal, 0)
        xte, yte = _sequences(4, 30, signal, 1)
        scores = code_attacks(xtr, ytr, xte, yte, s)
        assert [sc.attacker for sc in scores] == ["logreg", "mlp", "gru"]
        for sc in scores:
            assert check(sc.test_acc), (signal, sc)


def test_settings_from_config_names_bad_keys():
    s = BottleneckSettings.from_config({"k": 6, "reference": "absolute", "regressor": {"epochs": 2}})
    assert s.basis.k == 6 and s.regressor.epochs == 2
    with pytest.raises(ValueError, match="bogus"):
        BottleneckSettings.from_config({"bogus": 1})
    with pytest.raises(ValueError, match="reference"):
        BasisSettings(reference="median")
