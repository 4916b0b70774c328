"""Issue 27's library: the expression-code bottleneck (ppfer_core.bottleneck)."""

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ppfer_core import EMOTIONS
from ppfer_core.bottleneck import (
    AttackSettings,
    BasisSettings,
    BottleneckSettings,
    CodeEstimator,
    EstimatorSettings,
    LandmarkRegressor,
    RegressorSettings,
    code_attacks,
    code_point_errors,
    code_targets,
    encode,
    fit_basis,
    fit_basis_federated,
    neutral_reference,
    normalise,
    point_errors,
    predict_codes,
    predict_landmarks,
    procrustes,
    relative_codes,
    render_codes,
    synthetic_template,
    train_code_estimator,
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
    s = BottleneckSettings.from_config({"k": 6, "reference": "absolute", "estimator": {"epochs": 2}})
    assert s.basis.k == 6 and s.estimator.epochs == 2
    with pytest.raises(ValueError, match="bogus"):
        BottleneckSettings.from_config({"bogus": 1})
    assert BottleneckSettings.from_config({"landmarks": "dlib"}).landmarks == "dlib"
    with pytest.raises(ValueError, match="bottleneck.landmarks must be one of"):
        BottleneckSettings.from_config({"landmarks": "generator"})
    with pytest.raises(ValueError, match="estimator: unknown keys"):
        BottleneckSettings.from_config({"estimator": {"motion": True}})
    with pytest.raises(ValueError, match="inputs"):
        EstimatorSettings(inputs="landmarks")
    with pytest.raises(ValueError, match="reference"):
        BasisSettings(reference="median")


# ---------------------------------------------------------------- the code estimator (pixels -> code)


def test_relative_codes_of_the_true_targets_are_the_codes_of_the_landmarks(corpus, template):
    """In code space, the within-clip codes minus their mean over the least expressive frames (picked
    by the expressiveness code) are exactly :func:`encode`'s relative codes of the shapes; a wrong
    neutral pick (the most expressive frames) is not."""
    lms = corpus[1]
    for s in (BasisSettings(k=5), BasisSettings(k=3, neutral_fraction=0.5, amplitude_norm=True)):
        basis = fit_basis(lms, template.canonical, s)
        targets = code_targets(lms, basis)
        assert targets.shape == (len(lms), 8, 2 * s.k)
        np.testing.assert_allclose(relative_codes(targets, basis), encode(lms, basis), atol=1e-5)
        e = targets[..., s.k :]
        flipped = np.concatenate([targets[..., : s.k], e / (e**2).sum(-1, keepdims=True)], -1)
        assert np.abs(relative_codes(flipped, basis) - encode(lms, basis)).max() > 1e-3
    with pytest.raises(ValueError, match="relative"):
        relative_codes(targets, fit_basis(lms, template.canonical, BasisSettings(k=3, reference="absolute")))


def _within_error(net, clips, lms, basis):
    """RMS of the estimated minus the true within-clip codes, and of the true ones."""
    k = basis.settings.k
    est, true = predict_codes(net, clips)[..., :k], code_targets(lms, basis)[..., :k]
    return float(np.sqrt(((est - true) ** 2).mean())), float(np.sqrt((true**2).mean()))


def test_code_estimator_learns(corpus, template, one_thread):
    """On the corpus' 18 clips the trained estimator's within-clip codes are far closer to the true
    ones than the zero code (their clip mean), and its relative codes' shapes closer to the truth's."""
    clips, lms = corpus
    basis = fit_basis(lms, template.canonical, BasisSettings(k=3))
    s = EstimatorSettings(width=4, epochs=40, batch_size=16, lr=0.01, shift=0, inputs="motion")
    net, result = train_code_estimator(clips, lms, basis, s, _run())
    err, scale = _within_error(net, clips, lms, basis)
    assert err < 0.6 * scale, (err, scale)
    assert result.history[-1]["within_mse"] < 0.5 * result.history[0]["within_mse"]
    codes = relative_codes(predict_codes(net, clips), basis)
    assert code_point_errors(codes, lms, basis)[0] < 0.8 * code_point_errors(0 * codes, lms, basis)[0]


def test_code_estimator_resumes_after_interruption(corpus, template, tmp_path, one_thread):
    """Killed during epoch 2, the rerun resumes from the state of epoch 1 and ends with the weights
    (and output scale) of an uninterrupted training; the registry builds the architecture."""
    from ppfer_core.bottleneck import load_estimator, save_estimator
    from ppfer_core.registry import create_model, list_models

    assert list_models("expression_code") == ["code_cnn"]
    assert isinstance(create_model("expression_code", "code_cnn", size=32, k=3, width=4), CodeEstimator)
    clips, lms = corpus
    basis = fit_basis(lms, template.canonical, BasisSettings(k=3))
    s = EstimatorSettings(width=4, epochs=3, batch_size=16, lr=0.01, shift=1, inputs="difference")
    whole, _ = train_code_estimator(clips, lms, basis, s, _run())

    def killed(line):
        if "epoch=2" in line:
            raise KeyboardInterrupt

    state = tmp_path / "code.state"
    with pytest.raises(KeyboardInterrupt):
        train_code_estimator(clips, lms, basis, s, _run(state, killed))
    assert state.exists()
    resumed, result = train_code_estimator(clips, lms, basis, s, _run(state))
    assert result.resumed_from == 1 and len(result.history) == 3
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)
    save_estimator(resumed, str(tmp_path / "estimator.pt"))
    loaded = load_estimator(str(tmp_path / "estimator.pt"))
    np.testing.assert_array_equal(predict_codes(loaded, clips), predict_codes(resumed, clips))
    # what rules estimate_codes / fed_estimate_codes write: the estimates and their relative codes
    from ppfer_core.bottleneck import write_codes

    np.save(tmp_path / "clips.npy", clips)
    paths = (tmp_path / "clips.npy", tmp_path / "est.npy", tmp_path / "codes.npy")
    assert write_codes(loaded, basis, *paths) == len(clips)
    np.testing.assert_allclose(np.load(paths[1]), predict_codes(loaded, clips), atol=1e-6)
    np.testing.assert_allclose(np.load(paths[2]), relative_codes(np.load(paths[1]), basis), atol=1e-6)


ROOT = Path(__file__).resolve().parents[1]
_RULE_READS = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.iocontainers import Wildcards
from snakemake.settings.types import ConfigSettings, ResourceSettings, StorageSettings

snakefile, root, scope, rules = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
with SnakemakeApi() as api:
    wf = api.workflow(
        resource_settings=ResourceSettings(), storage_settings=StorageSettings(),
        config_settings=ConfigSettings(configfiles=[root / "config.yaml"]),
        snakefile=snakefile, workdir=snakefile.parent,
    )._workflow
    reads = {}
    for name in rules:
        rule = wf.get_rule(name)
        wc = Wildcards(fromdict={"scope": scope} if "scope" in rule.wildcard_names else {})
        inputs, outputs = rule.expand_input(wc)[0], rule.expand_output(wc)[0]
        params = rule.expand_params(wc, inputs, outputs, None)[0]
        reads[name] = [*map(str, inputs), *map(str, params)]
print("READS" + json.dumps(reads))
"""


def _flat(values):
    for v in values:
        yield from _flat(v) if isinstance(v, list | tuple) else [v]


def rule_reads(tmp_path: Path, rules: list[str], scope: str = "") -> dict[str, list[str]]:
    """The input files and parameters (as strings) of ``rules`` in the parsed workflow, their input
    functions and wildcards resolved for ``scope`` ("" the closed set, "open-" the open set), with
    rules/bottleneck.smk included (by the Snakefile, or here while it is not)."""
    snakefile = tmp_path / "Snakefile"
    lines = [f'include: "{ROOT / "Snakefile"}"']
    if "bottleneck.smk" not in (ROOT / "Snakefile").read_text():
        lines.append(f'include: "{ROOT / "rules" / "bottleneck.smk"}"')
    snakefile.write_text("\n".join(lines) + "\n")
    cmd = [sys.executable, "-c", _RULE_READS, str(snakefile), str(ROOT), scope, *rules]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    out = [line for line in res.stdout.splitlines() if line.startswith("READS")]
    assert res.returncode == 0 and out, res.stderr[-2000:]
    return json.loads(out[-1][len("READS") :])


def test_basis_and_estimator_rules_read_no_test_landmarks_and_no_labels(tmp_path):
    """The rules that make the codes (and so the representation) read the train split's true
    landmarks and pixels only: no test landmarks, no corpus landmark file of every split, no index
    (identity and emotion labels). Only metrics-only rules (attack_codes, swap_landmark_error) read the test
    landmarks: the Snakefile's check_metrics_only_readers, test_plan's tests of it."""
    rules = ["bottleneck_landmarks", "fit_basis", "estimate_codes", "render_bottleneck"]
    reads = rule_reads(tmp_path, rules)
    train_marks = {"bottleneck_landmarks": "results/data/cremad/train_landmarks.npy"}
    for rule in ("bottleneck_landmarks", "fit_basis", "estimate_codes"):
        strings = [str(v) for v in _flat(reads[rule])]
        assert train_marks.get(rule, "results/bottleneck/landmarks/train.npy") in strings, (rule, strings)
        for bad in ("test_landmarks", "index.parquet", "landmarks.npz", "labels", "test.npy"):
            assert not any(bad in v for v in strings) or rule == "estimate_codes" and bad == "test.npy", (
                rule,
                bad,
                strings,
            )
    assert not any(
        "landmarks/" in str(v) or "landmarks.np" in str(v) for v in _flat(reads["render_bottleneck"])
    )


def test_image_swapping_reads_landmarks_estimated_from_pixels_never_the_test_truth(tmp_path):
    """Issue 27: no representation is made from a test clip's true landmarks, Image Swapping's included
    (it was exempt): swap reads the landmark CNN's estimates of every split (swap_landmarks, trained on
    the train split's frames and landmarks); only swap_landmark_error (metrics only) reads the test truth."""
    reads = rule_reads(tmp_path, ["swap", "swap_landmarks", "swap_landmark_error"])
    swap, regressor = (list(map(str, _flat(reads[r]))) for r in ("swap", "swap_landmarks"))
    assert "results/swap/landmarks/test.npy" in swap and "results/swap/landmarks/train.npy" in swap
    assert "results/bottleneck/landmarks/train.npy" in regressor
    for strings in (swap, regressor):
        assert not any("_landmarks.npy" in v for v in strings), strings
    assert "results/data/cremad/test_landmarks.npy" in map(str, _flat(reads["swap_landmark_error"]))


def test_coding_figures_score_the_codes_against_the_true_landmarks(corpus, template):
    """attack_codes' evaluation-only figures (the former code_attacks'): the true landmarks' own codes
    have no error; noise on the codes has, in proportion; the emotion probe reads emotion from the codes."""
    from ppfer_core.bottleneck.attacks import coding_figures

    _, lms = corpus
    basis = fit_basis(lms, template.canonical, BasisSettings(k=5, reference="relative"))
    codes = encode(lms, basis).astype(np.float32)
    emotions = np.tile(np.arange(len(EMOTIONS)), 3)
    exact = coding_figures(codes, codes, lms, basis, emotions, emotions)
    assert exact["landmark_error_px"] < 1e-4 and exact["code_error_share"] < 1e-4
    assert exact["emotion_probe_test_acc"] == 100.0
    noisy = codes + np.random.default_rng(0).normal(0, 1, codes.shape).astype(np.float32) * codes.std()
    worse = coding_figures(codes, noisy, lms, basis, emotions, emotions)
    assert (
        0.5 < worse["code_error_share"] < 2.0
        and worse["landmark_error_px"] > 100 * exact["landmark_error_px"]
    )


def test_open_scope_basis_and_estimator_read_only_the_open_train_clips(tmp_path):
    """Table 5's "Ours (bottleneck)" (scope "open-"): the landmarks, the basis and the estimator are
    learned on the open-TRAIN clips and their landmarks only (copied by openset_split, open-train rows
    only); the estimator is applied to open-test; no index, identity table, closed-set clip or landmark
    file, no test landmarks."""
    rules = ["bottleneck_landmarks", "fit_basis", "estimate_codes", "render_bottleneck"]
    reads = rule_reads(tmp_path, rules, scope="open-")
    strings = {rule: [str(v) for v in _flat(reads[rule])] for rule in rules}
    assert strings["bottleneck_landmarks"] == [
        "results/data/cremad-open/train.npy",
        "auto",
        "results/data/cremad-open/train_landmarks.npy",
    ]
    assert strings["fit_basis"][0] == "results/open-bottleneck/landmarks/train.npy"
    assert set(strings["estimate_codes"]) >= {
        "results/data/cremad-open/train.npy",
        "results/data/cremad-open/test.npy",  # applied to, never trained on
        "results/models/open-bottleneck/basis.npz",
        "results/open-bottleneck/landmarks/train.npy",
    }
    for rule in ("bottleneck_landmarks", "fit_basis", "estimate_codes"):
        for v in strings[rule]:
            assert "results/" not in v or v.startswith(
                ("results/data/cremad-open/", "results/open-bottleneck/", "results/models/open-bottleneck/")
            ), (rule, v)
            assert not any(bad in v for bad in ("test_landmarks", "index.parquet", "identities")), (rule, v)
    # the render reads the open codes and basis; the corpus' index only for its actor ids (the template check)
    assert [v for v in strings["render_bottleneck"] if v.startswith("results/")] == [
        "results/models/open-bottleneck/basis.npz",
        "results/open-bottleneck/codes/train.npy",
        "results/open-bottleneck/codes/test.npy",
        "results/data/cremad/index.parquet",
    ]


def test_open_train_landmarks_are_copied_for_the_open_train_rows_only(tmp_path):
    """openset_split's copy of the generator's landmarks: the open-train clips' rows, in the open train
    array's order, from both closed splits; none of an unseen actor; nothing (and no stale file) without
    the corpus' landmarks."""
    from ppfer_core.openset import copy_train_landmarks, identity_disjoint_split, open_indexes

    cells = [(str(a), e, emo) for a in (1001, 1002, 1003, 1004) for e, emo in enumerate(EMOTIONS)]
    index = pd.DataFrame(
        [
            {"clip_id": f"{a}_{emo}_{split}", "actor": a, "emotion": emo, "label": e, "source": f"{a}_{emo}_{split}.flv", "split": split, "row": r}
            for split in ("train", "test")
            for r, (a, e, emo) in enumerate(cells)
        ]
    )  # fmt: skip
    _, identities = open_indexes(index, identity_disjoint_split(index, 1, 0))
    closed = {}
    for split in ("train", "test"):
        rows = index[index["split"] == split]
        marks = np.zeros((len(rows), 2, 68, 2), np.float32)
        marks[:, :, 0, 0] = rows["actor"].astype(int).to_numpy()[:, None]
        marks[:, :, 0, 1] = (rows["row"].to_numpy() + (1000 if split == "test" else 0))[:, None]
        closed[split] = tmp_path / f"{split}_landmarks.npy"
        np.save(closed[split], marks)
    out = tmp_path / "open" / "train_landmarks.npy"
    out.parent.mkdir()
    train = identities[identities["split"] == "train"].sort_values("row")
    assert copy_train_landmarks(closed, identities, out) == (len(train), 2, 68, 2)
    got = np.load(out)
    np.testing.assert_array_equal(got[:, 0, 0, 0], train["actor"].astype(int).to_numpy())
    source = train["source_row"].to_numpy() + np.where(train["source_split"] == "test", 1000, 0)
    np.testing.assert_array_equal(got[:, 0, 0, 1], source)
    unseen = set(identities.loc[identities["split"] == "test", "actor"].astype(int))
    assert unseen and not unseen & set(got[:, 0, 0, 0].astype(int))
    closed["test"].unlink()
    assert copy_train_landmarks(closed, identities, out) is None and not out.exists()
