"""Issue 27 in federated mode (Table 6): the bottleneck's basis from the sites' summed statistics equals
the central fit, the code estimator by FedAvg across the sites (Flower's message API, in process) resumes
between rounds, and the federated rules read only the sites' folders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("flwr", reason="flwr (Flower) is not installed: pip install -e . installs it")

from flwr.app import Context, RecordDict  # noqa: E402
from test_bottleneck import _flat, rule_reads  # noqa: E402
from test_federated import InProcessGrid, task_identity  # noqa: E402, F401 (autouse: Flower's message ids)

from ppfer_core.bottleneck import BasisSettings, BottleneckSettings, EstimatorSettings, fit_basis  # noqa: E402
from ppfer_core.bottleneck.basis import basis_from_stats, first_round  # noqa: E402
from ppfer_core.bottleneck.estimator import code_targets, load_estimator, target_scale  # noqa: E402
from ppfer_core.bottleneck.shapes import normalise  # noqa: E402
from ppfer_core.federated.code_apps import (  # noqa: E402
    CodeOutputs,
    basis_from_record,
    basis_record,
    make_code_client_app,
    run_code_rounds,
    stats_from_record,
    stats_record,
)
from ppfer_core.federated.code_task import (  # noqa: E402
    CodeFedSettings,
    scale_from_moments,
    site_shape_stats,
    target_moments,
    write_code_site,
)
from ppfer_core.federated.server_app import FedOutputs  # noqa: E402

SETTINGS = BasisSettings(k=3, reference="relative", neutral_fraction=0.25, amplitude_norm=False)


def _shapes(clips: int = 12, frames: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks [clips, frames, 68, 2] in pixels (per clip an identity offset, a pose, and motion along
    three expression directions; two frames missing) and the canonical shape."""
    rng = np.random.default_rng(seed)
    angle = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    base = np.c_[np.cos(angle), np.sin(angle) * 1.3] + 0.05 * rng.normal(size=(68, 2))
    motion = rng.normal(size=(3, 68, 2)) * 0.04
    out = np.empty((clips, frames, 68, 2))
    for c in range(clips):
        who = base + 0.04 * rng.normal(size=(68, 2))
        theta, scale, shift = rng.normal() * 0.1, 20 + 3 * rng.random(), rng.normal(size=2) * 2 + 32
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        for t in range(frames):
            shape = who + np.einsum("e,epj->pj", rng.normal(size=3) * (1 + c % 3), motion)
            out[c, t] = scale * shape @ rot.T + shift
    out[1, 2] = np.nan
    out[5, 0] = np.nan
    return out, normalise(base)[0]


def _sites(landmarks: np.ndarray) -> list[np.ndarray]:
    return [landmarks[:3], landmarks[3:8], landmarks[8:]]  # uneven sites, disjoint, covering all


def _assert_same_basis(a, b) -> None:
    for key in ("canonical", "mu", "b0", "basis", "eigenvalues"):
        np.testing.assert_allclose(getattr(a, key), getattr(b, key), rtol=1e-7, atol=1e-10, err_msg=key)
    assert a.code_rms == pytest.approx(b.code_rms, rel=1e-9)


def test_summed_site_statistics_through_flower_records_equal_the_central_basis():
    landmarks, canonical = _shapes()
    central = fit_basis(landmarks, canonical, SETTINGS)

    def summed(first):  # each site's sums, sent as a Flower ArrayRecord and read back by the server
        stats = [
            stats_from_record(stats_record(site_shape_stats(lm, canonical, first, SETTINGS)))
            for lm in _sites(landmarks)
        ]
        return sum(stats[1:], stats[0])

    r1 = summed(None)
    r2 = summed(first_round(r1, SETTINGS.k))
    federated = basis_from_stats(canonical, r1, r2, SETTINGS)
    _assert_same_basis(federated, central)
    s = _code_settings(sites=3)
    _assert_same_basis(basis_from_record(basis_record(federated), s), central)
    # the pooled standard deviation of the estimator's targets from the sites' moments
    moments = [target_moments(lm, central) for lm in _sites(landmarks)]
    np.testing.assert_allclose(
        scale_from_moments(moments), target_scale(code_targets(landmarks, central)), rtol=1e-6
    )


def test_one_site_is_not_the_pool():  # the test above can fail: a single site's basis differs
    landmarks, canonical = _shapes()
    with pytest.raises(AssertionError):
        _assert_same_basis(
            fit_basis(landmarks[:3], canonical, SETTINGS), fit_basis(landmarks, canonical, SETTINGS)
        )


def _code_settings(sites: int = 2, rounds: int = 2) -> CodeFedSettings:
    return CodeFedSettings(
        bottleneck=BottleneckSettings(
            SETTINGS, EstimatorSettings(width=2, epochs=1, batch_size=8, lr=0.01, shift=1, inputs="motion")
        ),
        size=16,
        rounds=rounds,
        local_epochs=1,
        strategy="fedavg",
        proximal_mu=0.0,
        sites=sites,
        seed=3,
        device="cpu",
        cpu_dtype="float32",
        lr_decay="cosine",
    )


class QueryGrid(InProcessGrid):
    """test_federated's in-process grid, also for query messages (no round number): an interruption
    at ``fail_at_round`` hits training messages only."""

    def send_and_receive(self, messages, *, timeout=None):
        messages = list(messages)
        if any(m.metadata.message_type.startswith("query") for m in messages):
            return [self.app(m, self._context(m)) for m in messages]
        return super().send_and_receive(messages, timeout=timeout)

    def _context(self, msg):
        node = msg.metadata.dst_node_id
        return Context(
            run_id=1,
            node_id=node,
            node_config={"partition-id": self.nodes[node], "num-partitions": 2},
            state=RecordDict(),
            run_config={},
        )


@pytest.fixture(scope="module")
def code_sites(tmp_path_factory):
    landmarks, canonical = _shapes(clips=8, frames=4, seed=1)
    landmarks = landmarks / 4  # 64-px shapes onto 16-px frames
    frames = np.random.default_rng(0).integers(0, 256, (8, 4, 16, 16, 3), dtype=np.uint8)
    root = tmp_path_factory.mktemp("code_sites")
    for k, rows in enumerate((slice(0, 3), slice(3, 8)), start=1):
        write_code_site(root / f"site-{k}", k, frames[rows], landmarks[rows])
    return root, landmarks, canonical


def _outputs(d) -> CodeOutputs:
    d.mkdir(parents=True, exist_ok=True)
    return CodeOutputs(d / "basis.npz", FedOutputs.in_dir(d))


def test_federated_fit_of_basis_and_estimator_resumes_to_the_same_model(code_sites, tmp_path):
    root, landmarks, canonical = code_sites
    s = _code_settings()
    client = make_code_client_app(s, str(root))
    whole = _outputs(tmp_path / "whole")
    m = run_code_rounds(QueryGrid(client, root), s, whole, canonical)
    from ppfer_core.bottleneck import ExpressionBasis

    _assert_same_basis(ExpressionBasis.load(str(whole.basis)), fit_basis(landmarks, canonical, SETTINGS))
    rounds = pd.read_csv(whole.fed.rounds)
    assert list(rounds["round"]) == [1, 2] and m["sites"] == 2 and not whole.fed.state.exists()
    net = load_estimator(str(whole.fed.model))
    scale = target_scale(code_targets(landmarks, fit_basis(landmarks, canonical, SETTINGS)))
    np.testing.assert_allclose(net.scale.numpy(), scale, rtol=1e-4)  # the pooled spread, not a site's
    part = _outputs(tmp_path / "part")
    with pytest.raises(KeyboardInterrupt):
        run_code_rounds(QueryGrid(client, root, fail_at_round=2), s, part, canonical)
    assert part.fed.state.exists() and not part.fed.model.exists()
    logs = []
    run_code_rounds(QueryGrid(client, root), s, part, canonical, log=logs.append)
    assert any("resuming" in line and "after round 1/2" in line for line in logs)
    a, b = torch.load(whole.fed.model)["state"], torch.load(part.fed.model)["state"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_settings_come_from_the_config_and_name_a_missing_key():
    import yaml
    from workflow_facts import REPO

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    s = CodeFedSettings.from_config(config, seed=0, device="cpu")
    code = config["federated"]["code_estimator"]
    assert (s.rounds, s.local_epochs, s.sites) == (
        code["rounds"],
        code["local_epochs"],
        config["federated"]["sites"],
    )
    assert s.strategy == config["federated"]["strategies"][0] and s.k == config["bottleneck"]["k"]
    del config["federated"]["code_estimator"]
    with pytest.raises(ValueError, match="federated.code_estimator.rounds"):
        CodeFedSettings.from_config(config, seed=0, device="cpu")


def test_the_federated_rules_read_only_the_sites_folders(tmp_path):
    """The basis and estimator rule reads the site folders and nothing else (no pooled clip, landmark,
    index or test file); the codes and renders read no landmark (the codes no index either)."""
    rules = [
        "federated_bottleneck_sites",
        "federated_code_estimator",
        "fed_estimate_codes",
        "render_fed_bottleneck",
    ]
    reads = rule_reads(tmp_path, rules)
    own_state = "results/federated/bottleneck"  # param work: where it writes its resumable state
    inputs = [
        str(v)
        for v in _flat(reads["federated_code_estimator"])
        if str(v).startswith("results/") and str(v) != own_state
    ]
    assert inputs and all(v.startswith("results/federated/bottleneck/sites/site-") for v in inputs), inputs
    sites = {v.split("/")[4] for v in inputs}
    assert sites == {"site-1", "site-2", "site-3"}  # config.yaml's federated.sites
    for rule in ("fed_estimate_codes", "render_fed_bottleneck"):
        paths = [str(v) for v in _flat(reads[rule]) if str(v).startswith("results/")]
        assert not any("landmarks" in v for v in paths), (rule, paths)
    # the codes read the clips, the federated basis and estimator: no index (labels)
    assert not any("index" in str(v) for v in _flat(reads["fed_estimate_codes"]))
    split = [str(v) for v in _flat(reads["federated_bottleneck_sites"])]
    assert "results/bottleneck/landmarks/train.npy" in split and not any("test" in v for v in split)
