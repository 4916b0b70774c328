"""The workflow as a user runs it: config validation at start, DAG planning, reruns on
parameter edits, and the tiny end-to-end run to the tables."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]


def snakemake(
    workdir: Path, *args: str, configs: tuple[str, ...] = ("config/tiny.yaml",)
) -> subprocess.CompletedProcess:
    files = [str(ROOT / "config.yaml"), *(str(ROOT / c) if not Path(c).is_absolute() else c for c in configs)]
    cmd = [*SNAKEMAKE, "--directory", str(workdir), "--configfile", *files, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1500)


def test_default_dag_plans(tmp_path):
    res = snakemake(tmp_path, "-n", "--cores", "2", configs=())
    assert res.returncode == 0, res.stderr + res.stdout
    for rule in (
        "generate_corpus",
        "ingest_cremad",
        "wavelet_split",
        "train_enhancer",
        "train_compensator",
        "leakage",
        "utility",
        "tables",
    ):
        assert rule in res.stdout


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One end-to-end run of the whole DAG on the tiny config (shared by the tests below)."""
    work = tmp_path_factory.mktemp("tiny")
    # one thread per job and no GPU serialisation: two small jobs run side by side on 2 cores
    res = snakemake(work, "--cores", "2", "--max-threads", "1")
    assert res.returncode == 0, res.stderr[-5000:]
    return work


def test_tiny_run_yields_tables(tiny_run):
    t1 = pd.read_csv(tiny_run / "results/tables/table1.csv")
    # PLR: the independent validator's (issue 26); V_pl's reading beside it
    assert list(t1.columns[:5]) == ["approach", "plr", "plr_vpl", "acc", "chance"]
    assert t1["approach"].iloc[0] == "No Privacy Preservation" and list(t1["approach"].iloc[-3:]) == [
        "Ours",
        "Ours (robust)",
        "Ours (bottleneck)",
    ]
    assert t1[["plr", "plr_vpl", "acc", "validator_acc"]].notna().all().all()
    assert t1[["plr", "plr_vpl"]].apply(lambda c: c.between(0, 100)).all().all()
    t2 = pd.read_csv(tiny_run / "results/tables/table2.csv")
    assert list(t2.columns[:8]) == ["exp", "ANG", "DIS", "FEA", "HAP", "NEU", "SAD", "Avg"]
    assert (
        (t2["Avg_lo"] <= t2["Avg"]) & (t2["Avg"] <= t2["Avg_hi"])
    ).all()  # 95 % interval, clustered by actor
    for col in ("plr", "plr_vpl", "acc"):
        assert ((t1[f"{col}_lo"] <= t1[col] + 1e-3) & (t1[col] <= t1[f"{col}_hi"] + 1e-3)).all(), col
    assert list(t2["exp"][:2]) == ["NPP", "Ours"]


def test_tiny_run_yields_federated_table6(tiny_run):
    t6 = pd.read_csv(tiny_run / "results/tables/table6.csv")
    assert list(t6["rep"]) == ["original", "ours", "ours-robust", "fed-bottleneck-render"]
    assert list(t6["approach"]) == [
        "No Privacy Preservation",
        "Ours",
        "Ours (robust)",
        "Ours (bottleneck, without F_fc)",  # issue 27: every stage federated, no F_fc
    ]
    assert list(t6["central_rep"]) == ["original", "ours", "ours-robust", "bottleneck-render"]
    t1 = pd.read_csv(tiny_run / "results/tables/table1.csv").set_index("approach")
    assert all(abs(c - t1.loc[a, "acc"]) < 1e-3 for a, c in zip(t6["approach"][:3], t6["acc_central"][:3]))
    render = json.loads((tiny_run / "results/metrics/utility/bottleneck-render.json").read_text())
    assert abs(t6["acc_central"].iloc[3] - render["acc"]) < 1e-3  # F_u on the central renders (Table 4's)
    est = json.loads((tiny_run / "results/metrics/federated/bottleneck/estimator.json").read_text())
    assert est["sites"] == 2 and est["rounds"] == 1 and len(est["eigenvalues"]) == 4
    for col in ("acc_central", "acc_fedavg"):  # 95 % interval, clustered by actor
        assert ((t6[f"{col}_lo"] <= t6[col] + 1e-3) & (t6[col] <= t6[f"{col}_hi"] + 1e-3)).all(), col
    # the final global model tested on the whole test split in index order: per-clip hits as F_u's
    fed = json.loads((tiny_run / "results/metrics/federated/fedavg/ours.json").read_text())
    central = json.loads((tiny_run / "results/metrics/utility/ours.json").read_text())
    n = len(central["hits"])
    assert fed["tested_on"] == "test split" and len(fed["hits"]) == n and sum(fed["hits"]) == fed["correct"]
    # McNemar over the same clips: the discordant clips make up the gap exactly
    gap = 100.0 * (t6["only_fedavg"] - t6["only_central_fedavg"]) / n
    assert (abs(gap - t6["gap_fedavg"]) < 1e-6).all() and t6["p_vs_central_fedavg"].between(0, 1).all()
    assert (t6["bytes_per_round"] == t6["model_bytes"] * t6["sites"] * 2).all() and (t6["sites"] == 2).all()
    part = pd.read_parquet(tiny_run / "results/federated/partition.parquet")
    assert sorted(part["site"].unique()) == [1, 2] and not part["actor"].duplicated().any()
    rounds = pd.read_csv(tiny_run / "results/federated/fedavg/ours/rounds.csv")
    assert rounds["round"].tolist() == [1]
    assert not list((tiny_run / "results/federated").rglob("state.pt")), (
        "the round state is removed on completion"
    )
    assert not list((tiny_run / "results/federated").rglob("site-*")), (
        "site folders are removed on completion"
    )


def test_tiny_run_writes_every_artifact_log_and_benchmark(tiny_run):
    for rel in (
        "results/data/cremad/train.npy",
        "results/data/cremad/rejected.parquet",
        "results/data/dfew/index.parquet",
        "results/wavelet/train/low.npy",
        "results/reps/G/test.npy",
        "results/reps/ours/test.npy",
        "results/models/enhancer_low.pt",
        "results/models/compensator/ours.pt",
        "logs/train_enhancer/high.log",
        "benchmarks/utility/ours.tsv",
    ):
        assert (tiny_run / rel).exists(), rel
    assert not list((tiny_run / "results/models").glob("*.state")), (
        "resumable states must be removed on completion"
    )


def test_tiny_run_compensators_record_their_validation_stop(tiny_run):
    """F_fc stops on a validation slice of the train clips (issue 30): every compensator's metrics say why."""
    files = sorted((tiny_run / "results/metrics/compensator").glob("*.json"))
    assert {f.stem for f in files} >= {"ours", "G-fcmse"}
    for f in files:
        m = json.loads(f.read_text())
        assert m["status"] in ("converged", "budget", "diverged") and m["stopped"], f.name
        assert m["val_clips"] > 0 and len(m["validation_curve"]) == m["epochs"] == len(m["history"]), f.name
        assert m["validation_key"] == ("val_mse" if m["loss"] == "mse" else "val_acc"), f.name


def test_tiny_run_matches_blur_2_on_the_validation_acc(tiny_run):
    """Issue 26: the F_u of Ours and of every blur sigma records its accuracy on the same validation slice
    of train (val_rows), and Gaussian Blur 2 is matched on that figure (blur_sweep's val_acc), not on
    test. Issue 30: no other F_u trains the sibling that figure comes from."""
    utility = {
        f.stem: json.loads(f.read_text()) for f in (tiny_run / "results/metrics/utility").glob("*.json")
    }
    sweep = pd.read_csv(tiny_run / "results/tables/blur_sweep.csv", keep_default_na=False)
    matched = {"ours", *sweep["rep"]}
    assert {r for r, m in utility.items() if "val_acc" in m} == matched
    assert "original" in utility and "open-ours" in utility  # F_u's of other reps: no sibling
    records = {r: utility[r] for r in matched}
    slices = {tuple(m["val_rows"]) for m in records.values()}
    assert len(slices) == 1 and all(m["val_n"] == len(m["val_rows"]) > 0 for m in records.values())
    for _, row in sweep.iterrows():
        assert abs(row["val_acc"] - records[row["rep"]]["val_acc"]) < 1e-9, row["rep"]
        assert abs(row["acc"] - records[row["rep"]]["acc"]) < 1e-9, row["rep"]
    t1 = pd.read_csv(tiny_run / "results/tables/table1.csv", keep_default_na=False).set_index("approach")
    assert t1.loc["Gaussian Blur 2", "setting"].endswith("ACC matched on F_u's validation slice of train")


def test_tiny_run_recovers_only_the_blur_sigmas_table_1_takes(tiny_run):
    """Issue 30: the checkpoint blur_match's pick is Tables 1's and 3's; the recovery ran on it only."""
    blur = ["Gaussian Blur 1", "Gaussian Blur 2"]
    t1, t3 = (
        pd.read_csv(tiny_run / f"results/tables/{t}.csv").set_index("approach").loc[blur]
        for t in ("table1", "table3")
    )
    match = json.loads((tiny_run / "results/metrics/blur_match.json").read_text())
    assert match["reps"] == dict(zip(blur, t1["representation"])) and list(t3["representation"]) == list(
        t1["representation"]
    )
    recovered = {f.stem for f in (tiny_run / "results/metrics/recovery").glob("blur-*.json")}
    assert (
        recovered == set(t1["representation"]) and t1["plr_recovered"].notna().all()
    )  # tiny: 2 sigmas, both may be taken
    assert (
        tiny_run / "results/metrics/attacks/recovered/ours-robust.json"
    ).exists()  # V_pl on it: rule recover's


def test_tiny_run_yields_threat_table_and_report(tiny_run):
    t3 = pd.read_csv(tiny_run / "results/tables/table3.csv", keep_default_na=False)
    assert list(t3.columns[:6]) == ["approach", "ssim", "psnr", "plr", "plr_vpl", "plr_adaptive"]
    assert list(t3["approach"]) == [
        "Gaussian Blur 1",
        "Gaussian Blur 2",
        "Trade-off Framework",
        "Optical Flow",
        "Image Swapping",
        "Ours",
        "Ours (robust)",
        "Ours (bottleneck)",
    ]
    assert (
        (t3["ssim"] > -1) & (t3["ssim"] <= 1) & (t3["psnr"] > 0) & (t3["plr"] >= 0) & (t3["plr"] <= 100)
    ).all()
    t1 = pd.read_csv(tiny_run / "results/tables/table1.csv", keep_default_na=False)
    assert t1["plr_adaptive"].between(0, 100).all()
    assert list(t1.set_index("approach").loc[t3["approach"], "representation"]) == list(t3["representation"])
    for rel in (
        "figure1_privacy_utility.png",
        "table2_per_class.png",
        "frames.png",
        "runtime.png",
        "runtime.csv",
    ):
        assert (tiny_run / "results/report" / rel).stat().st_size > 0, rel
    runtime = pd.read_csv(tiny_run / "results/report/runtime.csv")
    assert {
        "train_identity",
        "train_validator",
        "recover",
        "attack_suite",
        "blur_match",
        "tables",
        "table3",
        "train_robust",
        "bottleneck",  # rules/bottleneck.smk's benchmarks/bottleneck/{rule}.tsv (as openset_closed's)
        "attack_codes",
    } <= set(runtime["rule"])
    assert "attack_clips" not in set(runtime["rule"])  # issue 30: the video attacker runs in attack_suite
    # issue 30: V_pl on the recovered frames is scored by rule recover; no second suite rule
    assert "attack_suite_recovered" not in set(runtime["rule"])
    # every representation a table reads is attacked: its leakage file comes from its attack_suite job
    assert "leakage" not in set(runtime["rule"])
    assert (runtime["s"] >= 0).all() and "report" not in set(runtime["rule"])


def test_tiny_run_reports_the_attack_suite_and_the_robust_row(tiny_run):
    """Issues 14 and 26: every row of Tables 1 and 3 has each attacker's own column, plr_worst (the
    test PLR of an attacker trained here, chosen on validation) with its status and actor-clustered
    interval, the optimistic maximum over test apart; "Ours (robust)" is a row of both."""
    from ppfer_core.suite import ATTACKERS

    always = ["plr_vote", "plr_adaptive", "plr_adaptive_vote", "plr_scratch", "plr_scratch_vote", "plr_clip"]
    trained = {c: a.name for a in ATTACKERS if a.selectable for c in a.columns}
    # issue 27: the code attackers, on coded rows only
    codes = [c for a in ATTACKERS if a.needs == "coding" and a.counted for c in a.columns]
    for name in ("table1.csv", "table3.csv"):
        t = pd.read_csv(tiny_run / "results/tables" / name, keep_default_na=False, na_values=[""])
        assert "Ours (robust)" in set(t["approach"]), name
        assert (t.loc[t["approach"] == "Ours (robust)", "representation"] == "ours-robust").all()
        assert t[always].notna().all().all(), name
        leaks = t[
            always + codes + ["plr_vpl", "plr_recovered", "plr_recovered_vote"]
        ]  # Table 1's plr_vpl: V_pl on the rep, Table 3's: V_pl on the recovery (plr: the independent validator)
        assert (leaks.max(axis=1) - t["plr_max_test"]).abs().max() < 1e-6, name
        assert t["worst_attacker"].isin(list(trained)).all(), name  # never V_pl, never on the recovery
        for _, row in t.iterrows():
            assert row["plr_worst"] == row[row["worst_attacker"]], (name, row["approach"])
            assert row["worst_status"] == row[f"status_{trained[row['worst_attacker']]}"], name
        assert (t["plr_worst"] <= t["plr_max_test"] + 1e-9).all(), name
        assert (
            t[[f"status_{a}" for a in ("adaptive", "scratch", "clip")]]
            .isin(["converged", "budget", "diverged"])
            .all()
            .all()
        )
        assert (t["plr_worst_lo"] <= t["plr_worst"]).all() and (t["plr_worst"] <= t["plr_worst_hi"]).all(), (
            name
        )
        assert (
            t[["train_acc_adaptive", "train_acc_scratch", "train_acc_clip"]]
            .apply(lambda c: c.between(0, 100))
            .all()
            .all()
        )
    for corpus, names in {"cremad": (1, 2, 4, 6), "cremad-open": (5,)}.items():
        index = pd.read_parquet(tiny_run / f"results/data/{corpus}/index.parquet")
        chance = 100.0 / index.loc[index["split"] == "test", "label"].nunique()
        for n in names:  # expression chance of the test emotions
            t = pd.read_csv(tiny_run / f"results/tables/table{n}.csv")
            assert (t["acc_chance"] - chance).abs().max() < 1e-3, n
    paired = pd.read_csv(tiny_run / "results/tables/paired_tests.csv")
    assert set(paired["b"]) == {"Ours (robust)", "Ours (bottleneck)", "Gaussian Blur 1", "Gaussian Blur 2"}
    assert (
        set(paired["measure"]) == {"acc", "plr", "plr_vpl", "plr_worst"}
        and paired["p_value"].between(0, 1).all()
    )
    robust = (tiny_run / "logs/train_robust/G-robust.log").read_text()
    assert "enhancer steps" in robust and "restarts; kept round" in robust
    for rel in (
        "results/reps/ours-robust/test.npy",
        "results/metrics/attacks/frames/flow.json",
        "results/metrics/attacks/clips/ours-robust.json",
        "benchmarks/attack_suite/ours-robust.tsv",
    ):
        assert (tiny_run / rel).exists(), rel


def test_tiny_run_attacks_table4_and_the_frames_before_f_fc(tiny_run):
    """Issue 26: every Table 4 task gets plr_worst (attacker chosen on validation, actor-clustered
    interval, status) beside V_pl's PLR, with Table 1's figures for the rows they share; and
    reinjection.csv compares G / G-robust with ours / ours-robust through the same suite."""
    from ppfer_core.suite import SUITE_COLUMNS

    tables = tiny_run / "results/tables"
    t1 = pd.read_csv(tables / "table1.csv", keep_default_na=False, na_values=[""]).set_index("representation")
    t4 = pd.read_csv(tables / "table4.csv", keep_default_na=False, na_values=[""])
    assert set(SUITE_COLUMNS) - {"plr_recovered", "plr_recovered_vote"} <= set(t4.columns)
    assert (
        t4[["plr", "plr_worst", "plr_worst_lo", "plr_worst_hi", "plr_adaptive", "plr_clip"]]
        .notna()
        .all()
        .all()
    )
    assert ((t4["plr_worst_lo"] <= t4["plr_worst"]) & (t4["plr_worst"] <= t4["plr_worst_hi"])).all()
    assert t4["worst_status"].isin(["converged", "budget", "diverged"]).all()
    full = t4.set_index("representation").loc["ours"]
    for col in ("plr", "plr_worst", "plr_worst_lo", "plr_worst_hi", "worst_attacker", "worst_status"):
        assert full[col] == t1.loc["ours", col], col  # Table 1's code, Table 1's figures
    reinjection = pd.read_csv(tables / "reinjection.csv").set_index("approach")
    assert list(reinjection.index) == ["Ours", "Ours (robust)", "Ours (bottleneck)"]
    assert list(reinjection["before"]) == ["G", "G-robust", "bottleneck-render"]
    assert list(reinjection["after"]) == ["ours", "ours-robust", "bottleneck"]
    t4g = t4.set_index("representation").loc["G"]
    assert reinjection.loc["Ours", "plr_worst_before"] == t4g["plr_worst"]
    assert reinjection.loc["Ours", "plr_worst_after"] == t1.loc["ours", "plr_worst"]
    assert reinjection.loc["Ours (robust)", "plr_worst_after"] == t1.loc["ours-robust", "plr_worst"]
    assert reinjection["p_value"].between(0, 1).all()
    assert reinjection["reading"].isin(["re-injects", "removes", "no difference"]).all()


def test_tiny_run_reports_the_bottleneck_with_its_code_attackers(tiny_run):
    """Issue 27: "Ours (bottleneck)" in Tables 1 and 3, the renders without F_fc in Table 4; its
    plr_worst is chosen on validation over the pixel and the code attackers (plr_code_*), the raw
    landmarks' attacker stands beside (plr_landmarks, never chosen); uncoded rows have no code columns."""
    from ppfer_core.suite import ATTACKERS, read_suite, worst_on_validation

    tables = tiny_run / "results/tables"
    codes = [c for a in ATTACKERS if a.needs == "coding" and a.counted for c in a.columns]
    assert codes == ["plr_code_logreg", "plr_code_mlp", "plr_code_gru"]
    t1 = pd.read_csv(tables / "table1.csv", keep_default_na=False, na_values=[""]).set_index("approach")
    t4 = pd.read_csv(tables / "table4.csv", keep_default_na=False, na_values=[""]).set_index("representation")
    t3 = pd.read_csv(tables / "table3.csv", keep_default_na=False, na_values=[""]).set_index("approach")
    row = t1.loc["Ours (bottleneck)"]
    assert (
        row["representation"] == "bottleneck"
        and t3.loc["Ours (bottleneck)", "representation"] == "bottleneck"
    )
    for t, rep in (
        (t1.set_index("representation"), "bottleneck"),
        (t4, "bottleneck-render"),
        (t4, "bottleneck"),
    ):
        assert t.loc[rep, [*codes, "plr_landmarks"]].notna().all(), rep
        assert (
            t.loc[rep, [f"status_code_{m}" for m in ("logreg", "mlp", "gru")]]
            .isin(["converged", "budget"])
            .all()
        )
        assert t.loc[rep, "worst_attacker"] != "plr_landmarks"
    assert t1.drop(index="Ours (bottleneck)")[[*codes, "plr_landmarks"]].isna().all().all()
    assert (
        t4.loc["bottleneck-render", "task"] == "bottleneck without F_fc"
        and not t4.loc["bottleneck-render", "compensator"]
    )
    # plr_worst's attacker is the one best on the validation slice among pixel and code attackers
    files = {a.kind: sorted(str(f) for f in tiny_run.glob(a.metrics.format(rep="*"))) for a in ATTACKERS}
    suite = read_suite(files)
    assert worst_on_validation("bottleneck", suite)[0] == row["worst_attacker"]
    record = json.loads((tiny_run / "results/metrics/attacks/codes/bottleneck.json").read_text())
    n = len(json.loads((tiny_run / "results/metrics/utility/bottleneck.json").read_text())["hits"])
    for name in ("logreg", "mlp", "gru", "landmarks"):
        assert len(record[name]["hits"]) == record[name]["n"] == n and record[name]["val_n"] > 0, name
    assert record["landmarks"]["attacker"] in ("logreg", "mlp", "gru")
    assert abs(row["plr_landmarks"] - 100.0 * record["landmarks"]["correct"] / n) < 1e-3
    # the one code-attacker path: the raw true landmarks' attackers and the coding's own figures beside
    render = json.loads((tiny_run / "results/metrics/attacks/codes/bottleneck-render.json").read_text())
    assert render["raw_landmarks"]["attacker"] in ("logreg", "mlp", "gru")
    assert set(render["raw_landmarks_attackers"]) == {"logreg", "mlp", "gru"}
    assert {"landmark_error_px", "code_error_share", "emotion_probe_test_acc"} <= set(render["coding"])
    assert not (tiny_run / "results/metrics/bottleneck/code_attacks.json").exists()


def test_tiny_run_yields_open_set_table(tiny_run):
    t5 = pd.read_csv(tiny_run / "results/tables/table5.csv")
    assert list(t5.columns[:8]) == [
        "approach",
        "rank1",
        "rank5",
        "chance",
        "auc",
        "eer",
        "identity_rank1",
        "acc",
    ]
    assert t5["approach"].iloc[0] == "No Privacy Preservation"
    assert list(t5["approach"].iloc[-4:]) == [
        "Optical Flow",
        "Ours (closed-set training)",
        "Ours (open-set, label-free)",
        "Ours (bottleneck)",  # issue 27: basis and estimator learned on the open-train clips only
    ]
    bottleneck = t5.set_index("approach").loc["Ours (bottleneck)"]
    assert (
        bottleneck["representation"] == "open-bottleneck"
        and bottleneck[["identity_rank1", "acc"]].notna().all()
    )
    assert (tiny_run / "results/metrics/open-bottleneck/basis.json").exists()
    assert t5["representation"].str.startswith("open-").all()
    assert (
        (t5["auc"] >= 0) & (t5["auc"] <= 1) & t5["rank1"].between(0, 100) & t5["acc"].between(0, 100)
    ).all()
    assert (t5["rank1_lo"] <= t5["rank1"]).all() and (t5["rank1"] <= t5["rank1_hi"]).all()
    index = pd.read_parquet(tiny_run / "results/data/cremad-open/index.parquet")
    ids = pd.read_parquet(tiny_run / "results/data/cremad-open/identities.parquet")
    assert "actor" not in index.columns
    assert not set(ids[ids["split"] == "test"]["actor"]) & set(ids[ids["split"] == "train"]["actor"])
    # issue 26: the retrained open-set attacker's columns, the goals under all three recognisers, the
    # negatives chosen on validation (open-train clips only)
    assert (
        t5["status_retrained"].isin(["converged", "budget", "diverged"]).all()
        and t5["id_auc_retrained"].between(0, 1).all()
    )
    goals = json.loads((tiny_run / "results/metrics/openset/goals.json").read_text())
    assert (
        goals["recognisers"] == ["video_prior", "vpl", "retrained"]
        and "id_auc_le_0.6[retrained]" in goals["goals"]
    )
    chosen = json.loads((tiny_run / "results/metrics/openset/negatives.json").read_text())
    assert chosen["chosen"] in chosen["candidates"] and chosen["validation"]["split"] == "train"


def test_snakemake_report_of_the_tiny_run_is_html(tiny_run):
    html = tiny_run / "report.html"
    res = snakemake(tiny_run, "--report", str(html))  # as the README writes it: no --cores
    assert res.returncode == 0, res.stderr[-3000:]
    text = html.read_text(errors="replace")
    assert (
        text.lstrip().lower().startswith("<!doctype html") and "table3.csv" in text and "table5.csv" in text
    )


def test_nothing_to_do_after_a_complete_run(tiny_run):
    res = snakemake(tiny_run, "-n", "--cores", "2")
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr


def test_editing_one_stage_setting_reruns_only_it_and_its_dependents(tiny_run, tmp_path):
    edit = tmp_path / "edit.yaml"
    edit.write_text(
        (ROOT / "config/tiny.yaml")
        .read_text()
        .replace(
            "compensator: {epochs: 1, batch_size: 32, lr: 0.001",
            "compensator: {epochs: 2, batch_size: 32, lr: 0.001",
        )
    )
    res = snakemake(tiny_run, "-n", "--cores", "2", configs=(str(edit),))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "train_compensator" in out and "tables" in out
    for upstream in (
        "generate_corpus",
        "ingest_cremad",
        "train_identity",
        "train_enhancer",
        "merge_enhanced",
        "train_expression",
    ):
        assert f"rule {upstream}:" not in out, upstream


LIGHT_SCRIPTS = ["tables", "table3", "table4", "table5", "table6", "report", "robust_sweep"]


@pytest.mark.parametrize("script", LIGHT_SCRIPTS)
def test_table_and_report_rules_start_without_torch_or_timm(script):
    """The rules that only read metric files import neither torch nor timm (seconds of start-up
    per job): every module their script imports is imported in a fresh interpreter."""
    import ast

    tree = ast.parse((ROOT / "workflow_scripts" / f"{script}.py").read_text())
    modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    modules += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    code = "; ".join(f"import {m}" for m in modules)
    code += "; import sys; print(sorted(m for m in ('torch', 'timm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"{script}.py imports {out.stdout.strip()}"
