"""Federated mode (Flower): partition by actor, FedAvg aggregation, the server loop's resumption,
Table 6, and Flower's deployment engine (SuperLink + 2 SuperNodes on loopback, `flwr run`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

flwr = pytest.importorskip("flwr", reason="flwr (Flower) is not installed: pip install -e . installs it")

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict  # noqa: E402
from flwr.serverapp import Grid  # noqa: E402
from flwr.supercore.task_identity import TaskIdentity  # noqa: E402

from ppfer_core import EMOTIONS  # noqa: E402
from ppfer_core.arrays import ClipDataset, emotion_labels  # noqa: E402
from ppfer_core.classifiers import predict_labels  # noqa: E402
from ppfer_core.design import Table6Row  # noqa: E402
from ppfer_core.federated import server_app  # noqa: E402
from ppfer_core.federated.client_app import make_client_app  # noqa: E402
from ppfer_core.federated.partition import (  # noqa: E402
    check_partition,
    export_sites,
    load_site,
    partition_by_actor,
    site_summary,
)
from ppfer_core.federated.server_app import FedOutputs, finish, make_strategy, run_rounds  # noqa: E402
from ppfer_core.federated.table6 import table6  # noqa: E402
from ppfer_core.federated.task import FedSettings, GlobalTest, build_model  # noqa: E402
from ppfer_core.runtime import read_json  # noqa: E402
from ppfer_core.stats import ActorInterval, mcnemar  # noqa: E402


def fed_settings(**kw) -> FedSettings:
    """A small test recipe (FedSettings has no defaults: the workflow's come from config.yaml)."""
    base = dict(
        rounds=6,
        local_epochs=2,
        strategy="fedavg",
        proximal_mu=0.0,
        sites=3,
        seed=0,
        device="cpu",
        cpu_dtype="float32",
        lr_decay="none",
    )
    return FedSettings(**{**base, **kw})


@pytest.fixture(autouse=True)
def task_identity(monkeypatch):
    """Messages need the identity of the task that creates them (set by Flower's runtimes)."""
    for key, value in (("_task_id", 1), ("_run_id", 1), ("_node_id", 0)):
        monkeypatch.setattr(TaskIdentity, key, value)


def toy_index(actors: int = 5, per_actor: int = 6, test_per_actor: int = 2) -> pd.DataFrame:
    rows = []
    for split, k in (("train", per_actor), ("test", test_per_actor)):
        i = 0
        for a in range(actors):
            for j in range(k):
                rows.append(
                    dict(split=split, row=i, actor=str(1001 + a), emotion=EMOTIONS[j % 6], label=j % 6)
                )
                i += 1
    return pd.DataFrame(rows)


def test_partition_by_actor_is_disjoint_complete_and_seeded():
    index = toy_index(actors=7)
    part = partition_by_actor(index, 3, seed=1)
    check_partition(index, part)
    assert sorted(part["actor"]) == sorted(index.loc[index["split"] == "train", "actor"].unique())
    assert not part["actor"].duplicated().any()
    assert sorted(part.groupby("site").size()) == [2, 2, 3]
    assert part.equals(partition_by_actor(index, 3, seed=1))
    assert not part.equals(partition_by_actor(index, 3, seed=2))
    summary = site_summary(index, part)
    assert summary["train_clips"].sum() == (index["split"] == "train").sum()
    with pytest.raises(ValueError, match="federated.sites = 8 exceeds the 7 actors"):
        partition_by_actor(index, 8, seed=0)
    with pytest.raises(ValueError, match="more than one site"):
        check_partition(index, pd.concat([part, part.head(1)]))


def test_site_folders_hold_only_their_actors_clips(tmp_path):
    index = toy_index(actors=4)
    clips = {
        s: np.arange(int((index["split"] == s).sum()), dtype=np.uint8)[:, None, None, None, None]
        * np.ones((1, 2, 4, 4, 3), np.uint8)
        for s in ("train", "test")
    }
    part = partition_by_actor(index, 2, seed=0)
    export_sites(clips, index, part, tmp_path)
    seen = []
    for site in (1, 2):
        data = load_site(tmp_path / f"site-{site}")
        actors = set(part.loc[part["site"] == site, "actor"])
        rows = index[(index["split"] == "train") & index["actor"].isin(actors)]
        assert sorted(data.train[:, 0, 0, 0, 0]) == sorted(rows["row"])
        assert list(data.train_labels) == list(rows.sort_values("row")["label"])
        seen += list(data.test[:, 0, 0, 0, 0])
    assert sorted(seen) == list(range((index["split"] == "test").sum()))


def _reply(msg: Message, arrays: dict[str, np.ndarray], n: int) -> Message:
    content = RecordDict(
        {
            "arrays": ArrayRecord({k: torch.from_numpy(v) for k, v in arrays.items()}),
            "metrics": MetricRecord({"train-loss": 1.0, "num-examples": n}),
        }
    )
    return Message(content=content, reply_to=msg)


def test_one_fedavg_round_of_two_clients_is_the_weighted_mean():
    rng = np.random.default_rng(0)
    states = [
        {"w": rng.normal(size=(3, 4)).astype(np.float32), "b": rng.normal(size=4).astype(np.float32)}
        for _ in range(2)
    ]
    sizes = [30, 90]
    strategy = make_strategy(fed_settings(arch="r3d_small", width=4, augment=False, train={}, sites=2))
    sent = [Message(content=RecordDict(), dst_node_id=node, message_type="train") for node in (1, 2)]
    arrays, metrics = strategy.aggregate_train(1, [_reply(m, s, n) for m, s, n in zip(sent, states, sizes)])
    got = arrays.to_torch_state_dict()
    for k in ("w", "b"):
        expected = (sizes[0] * states[0][k] + sizes[1] * states[1][k]) / sum(sizes)
        np.testing.assert_allclose(got[k].numpy(), expected, rtol=1e-6)
    assert metrics["train-loss"] == pytest.approx(1.0)


class InProcessGrid(Grid):
    """A Grid whose SuperNodes are ClientApps called in this process (no Ray, no network)."""

    def __init__(self, client_app, sites_dir, fail_at_round: int | None = None):
        self.app, self.sites_dir, self.fail_at = client_app, sites_dir, fail_at_round
        self.nodes = {101: 0, 102: 1}

    def get_node_ids(self):
        return list(self.nodes)

    def send_and_receive(self, messages, *, timeout=None):
        replies = []
        for msg in messages:
            if self.fail_at is not None and msg.content["config"]["server-round"] >= self.fail_at:
                raise KeyboardInterrupt("simulated interruption")
            ctx = Context(
                run_id=1,
                node_id=msg.metadata.dst_node_id,
                node_config={"partition-id": self.nodes[msg.metadata.dst_node_id], "num-partitions": 2},
                state=RecordDict(),
                run_config={"sites-dir": str(self.sites_dir)},
            )
            replies.append(self.app(msg, ctx))
        return replies

    # unused by the server loop
    def create_message(self, *a, **k):
        raise NotImplementedError

    def push_messages(self, *a, **k):
        raise NotImplementedError

    def pull_messages(self, *a, **k):
        raise NotImplementedError

    def set_run(self, *a, **k):
        raise NotImplementedError

    @property
    def run(self):
        raise NotImplementedError


@pytest.fixture(scope="module")
def toy_split():
    """A toy index and its train / test clips (rows as in the index)."""
    index = toy_index(actors=4, per_actor=6, test_per_actor=3)
    rng = np.random.default_rng(0)
    clips = {
        s: rng.integers(0, 256, ((index["split"] == s).sum(), 4, 16, 16, 3), dtype=np.uint8)
        for s in ("train", "test")
    }
    return index, clips


@pytest.fixture(scope="module")
def toy_sites(tmp_path_factory, toy_split):
    root = tmp_path_factory.mktemp("sites")
    index, clips = toy_split
    export_sites(clips, index, partition_by_actor(index, 2, seed=0), root)
    return root


@pytest.mark.parametrize("strategy", ["fedavg", "fedprox"])
def test_server_loop_resumes_between_rounds_to_the_same_model(toy_sites, toy_split, tmp_path, strategy):
    s = fed_settings(
        arch="r3d_small",
        width=4,
        augment=False,
        train={"batch_size": 6, "lr": 0.01, "optimizer": "adam"},
        rounds=2,
        local_epochs=1,
        strategy=strategy,
        proximal_mu=0.1,
        sites=2,
        seed=3,
    )
    client = make_client_app(s, str(toy_sites))
    whole = FedOutputs.in_dir(tmp_path / "whole")
    index, clips = toy_split
    test = GlobalTest(clips["test"], emotion_labels(index, "test"))
    m = run_rounds(InProcessGrid(client, toy_sites), s, whole, global_test=test)
    rounds = pd.read_csv(whole.rounds)
    assert list(rounds["round"]) == [1, 2] and m["n"] == 12 and set(m["per_site_acc"]) == {"1", "2"}
    # the whole test split, in index row order, tests the same final model the sites tested
    assert len(m["hits"]) == 12 and sum(m["hits"]) == m["correct"] == rounds["correct"].iloc[-1]
    assert m["tested_on"] == "test split"
    assert m["bytes_per_round"] == 2 * 2 * m["model_bytes"] and not whole.state.exists()
    part = FedOutputs.in_dir(tmp_path / "part")
    with pytest.raises(KeyboardInterrupt):
        run_rounds(InProcessGrid(client, toy_sites, fail_at_round=2), s, part)
    assert part.state.exists() and not part.model.exists()
    logs = []
    run_rounds(InProcessGrid(client, toy_sites), s, part, log=logs.append)
    assert any("resuming" in line and "after round 1/2" in line for line in logs)
    a, b = torch.load(whole.model), torch.load(part.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert pd.read_csv(part.rounds)["acc"].tolist() == rounds["acc"].tolist()


def _site_reply(site: int, correct: int, n: int) -> dict:
    """A site's evaluate metrics (every clip of emotion 0, for the per-class counts)."""
    per_emotion = {f"correct-{e}": correct if i == 0 else 0 for i, e in enumerate(EMOTIONS)}
    per_emotion |= {f"n-{e}": n if i == 0 else 0 for i, e in enumerate(EMOTIONS)}
    return {"metrics": {"site": site, "correct": correct, "num-examples": n, **per_emotion}}


def test_final_model_is_tested_on_the_test_split_with_hits_in_index_order(tmp_path):
    """The federated metrics carry per-clip hits of the final global model, one per test clip in the
    test index rows' order (as the centralised F_u's), and the figures they sum to."""
    s = fed_settings(arch="r3d_small", width=4, augment=False, train={}, sites=2)
    model = build_model(s)
    clips = np.random.default_rng(1).integers(0, 256, (10, 4, 16, 16, 3), dtype=np.uint8)
    pred, _ = predict_labels(model, ClipDataset(clips, np.zeros(10, np.int64)), torch.device("cpu"), 16)
    right = np.array([1, 0, 0, 1, 1, 0, 1, 0, 1, 1])
    labels = np.where(right == 1, pred, (pred + 1) % len(EMOTIONS))  # clip i right iff right[i]
    history = [
        {"round": 1, **server_app.test_row([_site_reply(1, 2, 4), _site_reply(2, 5, 6)]), "seconds": 1.0}
    ]
    out = FedOutputs.in_dir(tmp_path / "split")
    arrays = ArrayRecord(model.state_dict())
    m = finish(s, out, arrays, history, {"rep": "ours"}, print, GlobalTest(clips, labels))
    assert m["hits"] == right.tolist() and read_json(out.metrics)["hits"] == right.tolist()
    assert (m["correct"], m["n"], m["acc"], m["tested_on"]) == (6, 10, 60.0, "test split")
    for c, e in enumerate(EMOTIONS):
        if (labels == c).any():
            assert m["per_class"][e] == pytest.approx(100.0 * right[labels == c].mean())
    assert m["per_site_acc"] == {"1": 50.0, "2": pytest.approx(500 / 6)}
    # without a test split (flwr run): the sites' own counts, summed, and no hits
    m = finish(s, FedOutputs.in_dir(tmp_path / "sites"), arrays, history, {}, print)
    assert "hits" not in m and (m["correct"], m["n"], m["tested_on"]) == (7, 10, "sites")
    with pytest.raises(ValueError, match="10 test clips but 9 labels"):
        GlobalTest(clips, labels[:9])


def _fed_metrics(hits: list[int]) -> dict:
    return {
        "hits": hits,
        "correct": sum(hits),
        "n": len(hits),
        "rounds": 6,
        "local_epochs": 2,
        "sites": 3,
        "model_bytes": 100,
        "bytes_per_round": 600,
        "per_site_acc": {"1": 40.0, "2": 55.0, "3": 50.0},
    }


def test_table6_actor_intervals_paired_test_and_spread():
    actors = [str(1001 + i // 5) for i in range(20)]  # 4 actors of 5 test clips
    central_hits = {"original": [1, 0] * 10, "ours": [1] * 12 + [0] * 8}
    fed_hits = {"original": [1, 0, 0, 0] * 5, "ours": [1] * 12 + [0] * 8}
    central = {
        rep: {"rep": rep, "hits": h, "acc": 100.0 * sum(h) / 20, "n": 20} for rep, h in central_hits.items()
    }
    fed = {"fedavg": {rep: _fed_metrics(h) for rep, h in fed_hits.items()}}
    rows = [Table6Row("No Privacy Preservation", "original", "original"), Table6Row("Ours", "ours", "ours")]
    t = table6(rows, central, fed, actors)
    assert list(t["approach"]) == ["No Privacy Preservation", "Ours"] and list(t["central_rep"]) == [
        "original",
        "ours",
    ]
    assert t["acc_central"].tolist() == [50.0, 60.0]
    assert t["acc_fedavg"].tolist() == [25.0, 60.0] and t["gap_fedavg"].tolist() == [-25.0, 0.0]
    for i, rep in enumerate(("original", "ours")):  # the actor-clustered interval of Tables 1-5
        for col, hits in (("central", central_hits[rep]), ("fedavg", fed_hits[rep])):
            ci = ActorInterval().of(hits, actors)
            assert (t[f"acc_{col}_lo"][i], t[f"acc_{col}_hi"][i]) == (round(ci.lo, 3), round(ci.hi, 3))
    # McNemar over the same clips: only the centralised F_u gets clips 2, 6, 10, 14, 18 right
    assert t["only_central_fedavg"].tolist() == [5, 0] and t["only_fedavg"].tolist() == [0, 0]
    p = mcnemar(central_hits["original"], fed_hits["original"]).p_value
    assert t["p_vs_central_fedavg"].tolist() == [pytest.approx(p, rel=1e-3), 1.0] and p == 0.0625
    assert t["site_acc_spread"].tolist() == [15.0, 15.0] and t["bytes_per_round"].tolist() == [600, 600]
    del fed["fedavg"]["ours"]["hits"]
    with pytest.raises(KeyError, match="fedavg metrics of .* no per-clip 'hits'"):
        table6(rows, central, fed, actors)
    fed["fedavg"]["ours"]["hits"] = [1] * 19  # not the same test clips
    with pytest.raises(ValueError, match="20 actors for 19 clips"):
        table6(rows, central, fed, actors)


def test_a_table6_row_of_its_own_compares_with_its_central_representation():
    actors = [str(1001 + i // 5) for i in range(20)]
    central = {"render": {"rep": "render", "hits": [1] * 10 + [0] * 10}}
    fed = {"fedavg": {"fed-render": _fed_metrics([1] * 15 + [0] * 5)}}
    t = table6([Table6Row("Ours (bottleneck, without F_fc)", "fed-render", "render")], central, fed, actors)
    assert (t["rep"][0], t["central_rep"][0], t["acc_central"][0], t["acc_fedavg"][0]) == (
        "fed-render",
        "render",
        50.0,
        75.0,
    )
    assert (t["only_central_fedavg"][0], t["only_fedavg"][0], t["gap_fedavg"][0]) == (0, 5, 25.0)


def test_fedprox_hooks_add_the_proximal_gradient():
    from ppfer_core.federated.task import proximal_hooks

    model = torch.nn.Linear(3, 2)
    anchor = [p.detach().clone() for p in model.parameters()]
    handles = proximal_hooks(model, mu=0.5)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # w - w_global = 1 everywhere
    model.zero_grad()
    (model(torch.ones(1, 3)).sum() * 0).backward()  # zero task gradient
    for p, a in zip(model.parameters(), anchor):
        torch.testing.assert_close(p.grad, 0.5 * (p.detach() - a))
    for h in handles:
        h.remove()


def test_round_learning_rate_follows_a_cosine_over_the_rounds():
    s = fed_settings(arch="frame_cnn", width=4, augment=False, train={"lr": 0.004, "epochs": 8}, rounds=4)
    assert [s.local_settings(r)["lr"] for r in (1, 4)] == [0.004, 0.004]  # lr_decay none: every round
    c = FedSettings(**{**s.__dict__, "lr_decay": "cosine"})
    lrs = [c.local_settings(r)["lr"] for r in range(1, 5)]
    assert lrs[0] == pytest.approx(0.004) and lrs[2] == pytest.approx(0.002)
    assert all(a > b for a, b in zip(lrs, lrs[1:])) and lrs[-1] > 0
    assert c.local_settings(2)["epochs"] == c.local_epochs
    assert FedSettings.from_run_config(c.to_run_config()).lr_decay == "cosine"
    with pytest.raises(ValueError, match="lr_decay"):
        FedSettings(**{**s.__dict__, "lr_decay": "step"})


def test_the_sites_ray_workers_keep_the_jobs_niceness():
    """Issue 30: the Ray instance a Flower job starts (backend_config's init_args, as Flower passes
    them to ray.init) runs the sites' actors at the job's own niceness, not Ray's default +15, under
    which a federated job crawled whenever another job ran beside it."""
    import os

    import ray

    from ppfer_core.federated.simulation import backend_config

    init_args = dict(
        backend_config(1, 3, cuda=False)["init_args"], logging_level="error", include_dashboard=False
    )
    ray.init(**init_args)
    try:

        @ray.remote(num_cpus=1)
        class Site:
            def niceness(self) -> int:
                return os.nice(0)

        assert ray.get(Site.remote().niceness.remote()) == os.nice(0)
    finally:
        ray.shutdown()
