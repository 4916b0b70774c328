"""Open-set mode: identity-disjoint split, the video prior, retrieval metrics, and that no rule of
the label-free path receives an identity column."""

import itertools
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ppfer_core import EMOTIONS
from ppfer_core.falsification import equal_error_rate, source_retrieval
from ppfer_core.openset import (
    LABEL_FREE_COLUMNS,
    VideoPairDataset,
    copy_rows,
    emotion_gap,
    identity_disjoint_split,
    negative_pair_audit,
    open_indexes,
    video_prior_loss,
)
from ppfer_core.stats import actor_bootstrap
from ppfer_core.tables import table5

ROOT = Path(__file__).resolve().parents[1]


def corpus_index(actors: int, per_cell: int = 3, seed: int = 0) -> pd.DataFrame:
    """A CREMA-D-form ingest index: every actor x emotion cell, closed split alternating."""
    rows = []
    for a in range(actors):
        for e, emo in enumerate(EMOTIONS):
            for k in range(per_cell):
                rows.append(
                    {
                        "clip_id": f"{1001 + a}_S{k}_{emo}_XX",
                        "actor": str(1001 + a),
                        "emotion": emo,
                        "label": e,
                        "source": f"VideoFlash/{1001 + a}_S{k}_{emo}_XX.flv",
                    }
                )
    df = pd.DataFrame(rows)
    df["split"] = np.where(np.arange(len(df)) % 4 == 0, "test", "train")
    df["row"] = df.groupby("split").cumcount()
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def test_split_is_identity_disjoint_stratified_and_seeded():
    index = corpus_index(16)
    s = identity_disjoint_split(index, 6, seed=0)
    assert len(s.test_actors) == 6
    test_actors = set(index["actor"][s.split == "test"])
    train_actors = set(index["actor"][s.split == "train"])
    assert test_actors == set(s.test_actors) and not test_actors & train_actors
    assert len(train_actors) == 10
    # stratified: every emotion in both splits, in the corpus' proportions (here exactly: balanced corpus)
    for name in ("train", "test"):
        share = index["emotion"][s.split == name].value_counts(normalize=True)
        assert set(share.index) == set(EMOTIONS) and np.allclose(share, 1 / 6)
    # seeded and independent of row order
    again = identity_disjoint_split(index.sample(frac=1.0, random_state=5), 6, seed=0)
    assert again.test_actors == s.test_actors
    others = {identity_disjoint_split(index, 6, seed=k).test_actors for k in range(1, 6)}
    assert len(others | {s.test_actors}) > 1


def test_split_prefers_the_emotion_balanced_actor_set():
    index = corpus_index(8)
    drop = index[(index["actor"].isin(["1001", "1002", "1003"])) & (index["emotion"] != "ANG")].index
    skewed = index.drop(drop)  # actors 1001-1003 have only ANG clips
    s = identity_disjoint_split(skewed, 3, seed=0)
    overall = skewed["emotion"].value_counts(normalize=True).sort_index()
    gaps = [
        emotion_gap(skewed["emotion"][skewed["actor"].isin(c)], overall)
        for c in itertools.combinations(sorted(skewed["actor"].unique()), 3)
    ]
    assert s.emotion_gap == pytest.approx(min(gaps)) and min(gaps) < max(gaps)
    assert set(s.test_actors) != {"1001", "1002", "1003"}


def test_split_fails_clearly_with_too_few_actors():
    with pytest.raises(ValueError, match=r"openset\.test_actors = 4.*\(4 in the corpus"):
        identity_disjoint_split(corpus_index(4), 4, seed=0)
    no_actor = corpus_index(4).assign(actor=None)
    with pytest.raises(ValueError, match="needs an actor"):
        identity_disjoint_split(no_actor, 2, seed=0)


def test_real_cremad_layout_91_actors():
    index = corpus_index(91, per_cell=1)
    s = identity_disjoint_split(index, 27, seed=0)
    labels, ids = open_indexes(index, s)
    assert ids[ids["split"] == "test"]["actor"].nunique() == 27
    assert ids[ids["split"] == "train"]["actor"].nunique() == 64


def test_label_free_index_and_copied_rows():
    index = corpus_index(5, per_cell=2)
    s = identity_disjoint_split(index, 2, seed=1)
    labels, ids = open_indexes(index, s)
    assert list(labels.columns) == LABEL_FREE_COLUMNS
    assert "actor" not in labels.columns and "clip_id" not in labels.columns
    rng = np.random.default_rng(0)
    sources = {
        sp: rng.integers(0, 255, size=((index["split"] == sp).sum(), 2, 4, 4, 3), dtype=np.uint8)
        for sp in ("train", "test")
    }
    for name in ("train", "test"):
        part = labels[labels["split"] == name]
        assert list(part["row"]) == list(range(len(part)))
        out = copy_rows(sources, ids, name, np.zeros((len(part), 2, 4, 4, 3), np.uint8))
        for _, r in ids[ids["split"] == name].iterrows():
            assert np.array_equal(out[r["row"]], sources[r["source_split"]][r["source_row"]])
            src = index[(index["split"] == r["source_split"]) & (index["row"] == r["source_row"])].iloc[0]
            assert src["actor"] == r["actor"]
            assert src["label"] == part[part["row"] == r["row"]]["label"].iloc[0]


def test_video_prior_pairs_are_two_frames_of_one_clip():
    # frame f of clip c is filled with value 10 * c + f, so a pair tells its clip and frames
    clips = np.zeros((5, 4, 2, 2, 3), np.uint8)
    for c in range(5):
        for f in range(4):
            clips[c, f] = 10 * c + f
    ds = VideoPairDataset(clips, groups=np.array([4, 4, 2, 0, 1]))
    torch.manual_seed(0)
    for _ in range(50):
        i = int(torch.randint(5, ()))
        a, b, row, group = ds[i]
        va, vb = round(float(a[0, 0, 0]) * 255), round(float(b[0, 0, 0]) * 255)
        assert int(row) == i and va // 10 == vb // 10 == i and va != vb
        assert int(group) == [4, 4, 2, 0, 1][i]
    assert int(VideoPairDataset(clips)[3][3]) == 0  # no groups: one group
    with pytest.raises(ValueError, match="4 group ids for 5 clips"):
        VideoPairDataset(clips, groups=np.zeros(4))


def test_video_prior_loss_positives_on_the_diagonal():
    class Pick(torch.nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :4]

    seen: list = []
    loss_fn = video_prior_loss(Pick(), temperature=0.1, views=False, seen=seen)
    x = torch.eye(4).view(4, 1, 2, 2).expand(4, 3, 2, 2).contiguous()
    rows = torch.tensor([3, 1, 0, 2])
    one = torch.zeros(4, dtype=torch.long)
    matched, _ = loss_fn([x, x.clone(), rows, one])
    shuffled, _ = loss_fn([x, x[[1, 2, 3, 0]], rows, one])
    assert float(matched) < 0.01 < float(shuffled)  # the same clip's frames are the positives
    assert [list(s) for s in seen] == [[3, 1, 0, 2]] * 2


def test_grouped_video_prior_contrasts_only_clips_of_the_same_group():
    class Pick(torch.nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :4]

    # clip 1 looks exactly like clip 0 (its confusable negative): ungrouped, that costs; when the
    # two are in different groups (e.g. emotions) they are not compared and the loss is ~0
    x = torch.eye(4)[[0, 0, 2, 3]].view(4, 1, 2, 2).expand(4, 3, 2, 2).contiguous()
    rows = torch.arange(4)
    plain = video_prior_loss(Pick(), 0.1, False, [])([x, x.clone(), rows, torch.zeros(4, dtype=torch.long)])[
        0
    ]
    grouped_fn = video_prior_loss(Pick(), 0.1, False, [], grouped=True)
    apart = grouped_fn([x, x.clone(), rows, torch.tensor([0, 1, 0, 1])])[0]
    together = grouped_fn([x, x.clone(), rows, torch.tensor([0, 0, 1, 1])])[0]
    assert float(apart) < 0.01 < float(plain)
    assert float(together) == pytest.approx(float(plain), rel=1e-3) and float(plain) > 0.3  # 0, 1 compared


def test_grouped_suppression_pushes_to_uniform_within_each_group_only():
    from ppfer_core.openset import suppression_loss

    ident = torch.nn.Identity()

    class Pick(torch.nn.Module):
        def forward(self, x):
            return x.flatten(1)[:, :4]

    # every frame embeds the same: similarities uniform, pair_acc by argmax of ties
    x = torch.full((4, 3, 8, 8), 0.5)
    groups = torch.tensor([0, 0, 1, 1])
    batch = [x, x.clone(), torch.arange(4), groups]
    value, _ = suppression_loss(ident, ident, Pick(), "haar", 1, 0.2, 0.0, grouped=True)(batch)
    assert float(value) == pytest.approx(np.log(2), abs=1e-4)  # uniform over the 2 clips of a group
    value, _ = suppression_loss(ident, ident, Pick(), "haar", 1, 0.2, 0.0)(batch)
    assert float(value) == pytest.approx(np.log(4), abs=1e-4)  # uniform over all 4


def test_negative_pair_audit_counts_same_actor_negatives():
    actors = np.array(["a", "a", "b", "c"])
    audit = negative_pair_audit([np.array([0, 1, 2]), np.array([2, 3])], actors)
    # batch 1: ordered negative pairs 6, same actor (0,1),(1,0) = 2; batch 2: 2 pairs, 0 same
    assert audit["same_actor_negatives"] == 2 and audit["negative_pairs"] == 8
    assert audit["observed_rate"] == pytest.approx(0.25)
    assert audit["expected_rate"] == pytest.approx(2 / 12)


def test_retrieval_metrics_hand_computed():
    q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    g = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    # similarities (rows: queries): [1, .6, 0], [0, .8, 1], [1, .6, 0]
    r = source_retrieval(q, g, seed=0, actors=np.array(["x", "x", "y"]))
    assert (r.rank1_correct, r.rank5_correct, r.n) == (1, 3, 3)
    assert r.chance == pytest.approx(100 / 3) and r.chance5 == pytest.approx(100.0)
    # positives 1, .8, 0 vs negatives .6, 0, 0, 1, 1, .6: AUC = P(pos > neg) + ties / 2
    wins = {1.0: 4 + 2 * 0.5, 0.8: 4, 0.0: 0.5 * 2}
    assert r.auc == pytest.approx(sum(wins.values()) / 18)
    # identity rank-1: top-1 of query 0 is gallery 0 (x = x), of 1 is 2 (y != x), of 2 is 0 (x != y)
    assert r.identity_rank1_correct == 1 and r.identity_chance == pytest.approx(100 * 5 / 9)


def test_equal_error_rate_hand_computed():
    labels = np.array([1, 1, 0, 0])
    assert equal_error_rate(labels, np.array([0.9, 0.8, 0.2, 0.1])) == pytest.approx(0.0)
    assert equal_error_rate(labels, np.array([0.9, 0.3, 0.5, 0.1])) == pytest.approx(0.5)


def test_collapsed_embeddings_score_chance_not_perfect():
    z = np.ones((200, 4)) / 2.0
    r = source_retrieval(z, z.copy(), seed=0)
    assert r.rank1 < 5.0 and r.auc == pytest.approx(0.5)


def test_table5_rates_with_wilson_intervals():
    f = {
        "rank1_correct": 5,
        "rank5_correct": 9,
        "n": 20,
        "rank1": 25.0,
        "rank5": 45.0,
        "chance": 5.0,
        "auc": 0.7,
        "eer": 30.0,
        "identity_rank1_correct": 10,
        "identity_rank1": 50.0,
        "identity_chance": 33.3,
        "openset": {
            "n": 20,
            "rank1_correct": 4,
            "rank5_correct": 12,
            "rank1": 20.0,
            "rank5": 60.0,
            "chance": 21.1,
            "chance5": 80.0,
            "auc": 0.55,
            "eer": 45.0,
        },
    }
    index = pd.DataFrame(
        {
            "split": ["test"] * 20,
            "row": range(20),
            "actor": [f"u{i % 5}" for i in range(20)],
            "label": [i % 4 for i in range(20)],
        }
    )
    hits = [1 if i % 5 < 3 else 0 for i in range(20)]
    t = table5(
        [("NPP", "open-original")],
        {"open-original": {"video_prior": f, "vpl": f, "retrained": {**f, "attacker": {"status": "budget"}}}},
        {"open-original": {"acc": 60.0, "n": 20, "hits": hits}},
        index.drop(columns="actor"),  # the label-free index
        index[["split", "row", "actor"]],  # the evaluation-only identities
    )
    row = t.iloc[0]
    assert (row["rank1"], row["identity_rank1"], row["acc"], row["acc_chance"]) == (25.0, 50.0, 60.0, 25.0)
    assert row["rank1_lo"] < 25.0 < row["rank1_hi"] and row["acc_lo"] < 60.0 < row["acc_hi"]
    ci = actor_bootstrap(hits, index["actor"])
    assert (row["acc_lo"], row["acc_hi"]) == (round(ci.lo, 3), round(ci.hi, 3))
    # identity level (source clip left out), under both priors
    assert (row["id_rank1"], row["id_rank5"], row["id_chance"], row["id_auc"]) == (20.0, 60.0, 21.1, 0.55)
    assert row["id_rank1_vpl"] == 20.0 and row["id_rank1_lo"] < 20.0 < row["id_rank1_hi"]
    # the retrained open-set attacker's columns, with its training status
    assert (row["id_rank1_retrained"], row["id_auc_retrained"], row["status_retrained"]) == (
        20.0,
        0.55,
        "budget",
    )
    with pytest.raises(ValueError, match="lack recogniser 'retrained'"):
        table5(
            [("NPP", "open-original")],
            {"open-original": {"video_prior": f, "vpl": f}},
            {"open-original": {"acc": 60.0, "n": 20, "hits": hits}},
            index.drop(columns="actor"),
            index[["split", "row", "actor"]],
        )


def _goal_rows(id_rank1_vpl: float, id_auc: float, id_auc_retrained: float = 0.55) -> pd.DataFrame:
    base = {
        "identity_rank1": 10.0,
        "identity_chance": 10.0,
        "auc": 0.5,
        "id_chance": 10.0,
        "id_chance_vpl": 10.0,
        "id_chance_retrained": 10.0,
    }
    method = {**base, "approach": "M", "acc": 95.0, "id_rank1": 15.0, "id_auc": id_auc}
    method |= {"id_rank1_vpl": id_rank1_vpl, "id_auc_vpl": 0.55}
    method |= {"id_rank1_retrained": 15.0, "id_auc_retrained": id_auc_retrained}
    ref = {**base, "approach": "NPP", "acc": 100.0, "id_rank1": 90.0, "id_auc": 0.9}
    ref |= {"id_rank1_vpl": 90.0, "id_auc_vpl": 0.9, "id_rank1_retrained": 90.0, "id_auc_retrained": 0.9}
    return pd.DataFrame([method, ref])


def test_open_set_goals_need_identity_level_figures_under_every_recogniser():
    from ppfer_core.tables import open_set_goals

    ok = open_set_goals(_goal_rows(id_rank1_vpl=15.0, id_auc=0.55), "M", "NPP")
    assert ok["met"] and ok["clip_level"]["auc_le_0.6"]
    # the video prior passes, V_pl's features re-identify the actor: not met
    vpl = open_set_goals(_goal_rows(id_rank1_vpl=40.0, id_auc=0.55), "M", "NPP")
    assert (
        not vpl["met"] and not vpl["id_rank1_le_2x_chance[vpl]"] and vpl["id_rank1_le_2x_chance[video_prior]"]
    )
    # same-actor pairs separable under the video prior although rank-1 is low: not met
    assert not open_set_goals(_goal_rows(id_rank1_vpl=15.0, id_auc=0.7), "M", "NPP")["met"]
    # the fixed recognisers pass, the attacker retrained on the open-train actors separates the unseen ones
    retrained = open_set_goals(_goal_rows(15.0, 0.55, id_auc_retrained=0.8), "M", "NPP")
    assert (
        not retrained["met"] and not retrained["id_auc_le_0.6[retrained]"] and retrained["id_auc_le_0.6[vpl]"]
    )


def _jobs(dry_run: str) -> list[dict]:
    """Rule, inputs and outputs of every job of a `snakemake -n` listing."""
    jobs = []
    for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule )", dry_run):
        m = re.search(r"rule (\w+):", block)
        if not m:
            continue
        field = lambda k, block=block: next(iter(re.findall(rf"^\s+{k}: (.*)$", block, re.M)), "")  # noqa: E731
        jobs.append(
            {"rule": m.group(1), "input": field("input").split(", "), "output": field("output").split(", ")}
        )
    return jobs


@pytest.fixture(scope="module")
def table5_jobs(tmp_path_factory) -> list[dict]:
    """The jobs of the tiny DAG's dry run up to Table 5."""
    tmp_path = tmp_path_factory.mktemp("table5_dry")
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(ROOT / "config.yaml"),
        str(ROOT / "config/tiny.yaml"),
        "-n",
        "--cores",
        "1",
        "results/tables/table5.csv",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return _jobs(res.stdout)


def test_no_rule_of_the_open_set_path_receives_an_identity_column(table5_jobs):
    jobs = table5_jobs
    closed_index, identities = (
        "results/data/cremad/index.parquet",
        "results/data/cremad-open/identities.parquet",
    )
    open_jobs = [j for j in jobs if any("open" in o for o in j["output"])]
    assert {
        "openset_split",
        "train_embedder",
        "train_open_enhancers",
        "train_compensator",
        "utility",
        "blur",
        "flow",
        "falsify",
        "openset_prior_audit",
        "openset_apply_closed",
        "open_attack",
        "bottleneck_landmarks",
        "fit_basis",
        "estimate_codes",
        "render_bottleneck",
    } <= {j["rule"] for j in open_jobs}
    # openset.negatives is chosen on the open-train clips: no test clip reaches the selection, and both
    # trainings that use the choice read it
    (select,) = [j for j in jobs if j["rule"] == "select_negatives"]
    assert "results/data/cremad-open/train.npy" in select["input"]
    assert not [f for f in select["input"] if f.endswith("test.npy") or "/reps/" in f], select["input"]
    chosen = "results/metrics/openset/negatives.json"
    users = {j["rule"] for j in jobs if chosen in j["input"]}
    assert users == {"train_embedder", "train_open_enhancers"}
    # the split reads the ingest index (it writes the label-free one); the falsification scoring, the
    # audit of the video prior and Table 5 (ACC's interval clustered by actor) are the evaluation rules
    # that read the identity table; nothing else does
    allowed = {"openset_split": {closed_index}, "falsify": {identities}, "openset_prior_audit": {identities}}
    allowed["open_attack"] = {identities}  # the retrained attacker: open-train actors' labels, test scoring
    allowed["select_negatives"] = {identities}  # the validation slice of every open-train actor's clips
    allowed["openset_closed_corpus"] = {closed_index, identities}  # closed-set training: open-train actors
    allowed["table5"] = {identities}
    # the bottleneck's render checks that its template is none of the corpus' actor ids (no clip's label)
    allowed["render_bottleneck"] = {closed_index}
    for j in open_jobs:
        seen = {closed_index, identities} & set(j["input"])
        assert seen <= allowed.get(j["rule"], set()), (j["rule"], j["output"], seen)
    label_free = [j for j in open_jobs if j["rule"] in ("utility", "train_compensator")]
    assert label_free and all("results/data/cremad-open/index.parquet" in j["input"] for j in label_free)


def test_closed_set_training_reads_only_the_open_train_actors_clips(table5_jobs):
    """ "Ours (closed-set training)": the models applied to the open split are trained on the open-train
    actors' clips only (openset_closed_corpus), not the closed-set models trained on every actor."""
    by_output = {o: j for j in table5_jobs for o in j["output"]}
    (apply,) = [j for j in table5_jobs if j["rule"] == "openset_apply_closed"]
    models = [f for f in apply["input"] if f.endswith(".pt")]
    assert len(models) == 3 and all(f.startswith("results/openset/closed/models/") for f in models), models
    # every job upstream of those models reads the closed corpus only through openset_closed_corpus
    upstream, todo = set(), list(models)
    while todo:
        job = by_output.get(todo.pop())
        if job is None or id(job) in upstream:
            continue
        upstream.add(id(job))
        if job["rule"] in ("openset_closed_corpus", "train_expression"):
            continue  # the one reader of the closed clips (it keeps the open-train actors'); C_fc: in-the-wild corpus
        closed_data = [f for f in job["input"] if f.startswith("results/data/cremad")]
        assert not closed_data, (job["rule"], closed_data)
        todo += job["input"]
    rules = {j["rule"] for j in table5_jobs if id(j) in upstream}
    assert {"openset_closed_corpus", "openset_closed_identity", "openset_closed_enhancer"} <= rules
    assert not rules & {"train_identity", "train_controller", "train_enhancer", "train_compensator"}


def test_closed_training_index_holds_the_open_train_actors_only():
    from ppfer_core.openset import closed_training_index

    index = corpus_index(actors=5)
    split = identity_disjoint_split(index, 2, seed=0)
    _, identities = open_indexes(index, split)
    sub = closed_training_index(index, identities)
    assert set(sub["actor"]) == set(index["actor"]) - set(split.test_actors)
    for name in ("train", "test"):
        part = sub[sub["split"] == name]
        assert part["row"].tolist() == list(range(len(part)))
        source = index[(index["split"] == name) & ~index["actor"].isin(split.test_actors)]
        assert sorted(part["source_row"]) == sorted(source["row"])
    with pytest.raises(ValueError, match="open-train actors"):
        closed_training_index(index, identities.assign(split="test"))
