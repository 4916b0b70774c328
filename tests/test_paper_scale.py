"""Paper-scale path: config/paper.yaml plans the whole DAG on real-data layouts with the SLURM
profile, and the local pretrained-weights files named in the config reach the model builders
through the rules' params (loaded with weights_only, every load reported)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from fixtures_video import cremad_real_clip, encode_flv, make_dfew_folds
from workflow_facts import GPU_RULES

from ppfer_core import EMOTIONS, nets, uvit

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "config" / "paper.yaml"


def _snakemake(
    workdir: Path, *args: str, snakefile: Path = REPO / "Snakefile"
) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "-s",
        str(snakefile),
        "-d",
        str(workdir),
        "--configfile",
        str(REPO / "config.yaml"),
        str(PAPER),
        *args,
    ]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300)


def _jobs(out: str) -> dict[str, list[dict]]:
    """Rule name -> the dry run's job blocks (threads, resources) of that rule."""
    jobs: dict[str, list[dict]] = {}
    for block in re.split(r"\n(?=rule \w+:)", out):
        m = re.match(r"rule (\w+):", block)
        if not m:
            continue
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        thr = re.search(r"^\s+threads: (\d+)$", block, re.M)
        resources = dict(kv.split("=", 1) for kv in res.group(1).split(", ")) if res else {}
        jobs.setdefault(m.group(1), []).append(
            {"resources": resources, "threads": int(thr.group(1)) if thr else 1}
        )
    return jobs


@pytest.fixture(scope="module")
def paper_tree(tmp_path_factory) -> Path:
    """The paths config/paper.yaml names, in a scratch working directory: a few 480x360 CREMA-D-form
    FLVs, DFEW's five-fold layout and tiny stand-ins for the weights files."""
    root = tmp_path_factory.mktemp("paper")
    for k, stem in enumerate(("1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1002_DFA_ANG_XX", "1002_TSI_SAD_XX")):
        frames, _ = cremad_real_clip(
            int(stem[:4]), stem.split("_")[2], n_frames=3, face_xy=(280, 100), seed=k
        )
        encode_flv(root / "data" / "CREMA-D" / "VideoFlash" / f"{stem}.flv", frames)
    make_dfew_folds(root / "data" / "DFEW", n_clips=10)
    cfg = yaml.safe_load(PAPER.read_text())
    for m in ("identity", "expression", "uvit", "utility"):
        path = root / cfg["models"][m]["weights"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"stand-in")
    return root


def test_paper_config_plans_the_whole_dag_with_slurm_resources(paper_tree):
    pytest.importorskip(
        "snakemake_executor_plugin_slurm",
        reason='SLURM executor plugin not installed (pip install -e ".[slurm]")',
    )
    run = _snakemake(paper_tree, "--profile", str(REPO / "profiles" / "slurm"), "--cores", "16")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout + run.stderr
    jobs = _jobs(out)
    assert (
        "generate_corpus" not in jobs and "generate_wild_corpus" not in jobs
    )  # real data, not the synthetic corpus
    assert {"ingest_cremad", "ingest_dfew", "wavelet_split", "attack_suite", "tables", "all"} <= set(jobs)
    # every GPU rule is planned, but the k-sweep's code estimator (config/bottleneck_sweep.yaml only)
    sweep_only = {"estimate_codes_k"}
    assert GPU_RULES - sweep_only <= set(jobs), sorted(GPU_RULES - sweep_only - set(jobs))
    assert sweep_only <= GPU_RULES and not sweep_only & set(jobs)
    assert (
        len(jobs["train_enhancer"]) == 2 and len(jobs["train_controller"]) == 3
    )  # low, high, frames (tasks 1, 3)
    for rule in GPU_RULES - sweep_only:
        for job in jobs[rule]:
            assert job["resources"].get("gpu") == "1", (rule, job)
            assert job["resources"].get("slurm_partition") == "gpu", (rule, job)
            assert job["threads"] == 8 and "mem_mb" in job["resources"] and "runtime" in job["resources"]
    for job in jobs["ingest_cremad"] + jobs["wavelet_split"]:
        assert job["resources"].get("slurm_partition") == "cpu" and "gpu" not in job["resources"]
    assert jobs["ingest_cremad"][0]["threads"] == 8


def test_paper_config_without_the_data_stops_before_any_job(paper_tree, tmp_path):
    """The real corpus folders are inputs of ingest: a missing one is named at planning time."""
    run = _snakemake(tmp_path, "--cores", "1")
    assert run.returncode != 0
    assert "data/CREMA-D" in run.stdout + run.stderr and "Missing input files" in run.stdout + run.stderr


# --------------------------------------------------------------------------- local pretrained weights


def _weights(root: Path) -> dict[str, Path]:
    """Small local weight files of the forms the paper uses: timm ImageNet classifiers (1000 classes,
    as a torch state dict and as timm's safetensors), torchvision's Kinetics-400 R3D-18 state dict,
    a latent-space U-ViT checkpoint (blocks of the configured width)."""
    import timm
    from safetensors.torch import save_file
    from torchvision.models.video import r3d_18

    d = root / "data" / "weights"
    d.mkdir(parents=True, exist_ok=True)
    resnet = timm.create_model("resnet18", pretrained=False, num_classes=1000).state_dict()
    torch.save(resnet, d / "resnet18_in1k.pth")
    save_file({k: v.contiguous() for k, v in resnet.items()}, str(d / "resnet18_in1k.safetensors"))
    torch.save(r3d_18(weights=None).state_dict(), d / "r3d_18-b3b3357e.pth")
    latent = uvit.UViT(
        img_size=8, patch_size=2, in_channels=4, embed_dim=64, depth=5, num_heads=4, residual=False
    )
    sd = {k: v for k, v in latent.state_dict().items() if not k.startswith("final_layer")}
    sd["pos_embed"] = torch.randn(1, 2 + 16, 64)  # time + class tokens, as U-ViT's latent models
    sd["label_emb.weight"] = torch.randn(1001, 64)
    torch.save(sd, d / "uvit_latent.pth")
    return {
        "identity": d / "resnet18_in1k.pth",
        "expression": d / "resnet18_in1k.safetensors",
        "utility": d / "r3d_18-b3b3357e.pth",
        "uvit": d / "uvit_latent.pth",
    }


def test_config_weights_reach_the_builders_through_the_rules(paper_tree, tmp_path, monkeypatch):
    """The rules' params carry models.*.weights from the config; the same builder calls the workflow
    scripts make load them (weights_only) and report the loaded tensors."""
    work = tmp_path / "work"
    shutil.copytree(paper_tree / "data", work / "data", ignore=shutil.ignore_patterns("weights"))
    files = _weights(work)
    rel = {k: str(v.relative_to(work)) for k, v in files.items()}
    override = work / "weights.yaml"
    override.write_text(
        yaml.safe_dump(
            {
                "models": {
                    "identity": {"arch": "resnet18", "weights": rel["identity"]},
                    "expression": {"arch": "resnet18", "weights": rel["expression"]},
                    "uvit": {"patch": 8, "dim": 64, "depth": 5, "heads": 4, "weights": rel["uvit"]},
                    "utility": {"arch": "r3d_18", "width": 64, "weights": rel["utility"]},
                }
            }
        )
    )
    probe = work / "probe.smk"  # the workflow as it is, plus a print of the params its rules were given
    probe.write_text(
        f'include: "{REPO / "Snakefile"}"\n'
        "import json\n"
        'print("PARAMS" + json.dumps({r: dict(getattr(rules, r).params.items()) for r in '
        '("train_identity", "train_expression", "utility", "train_compensator")}, default=str))\n'
    )
    run = _snakemake(work, str(override), "--cores", "1", snakefile=probe)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    params = json.loads(
        next(ln for ln in run.stdout.splitlines() if ln.startswith("PARAMS"))[len("PARAMS") :]
    )
    monkeypatch.chdir(work)  # relative weight paths resolve from the run directory, as in a job

    # workflow_scripts/train_identity.py: build_image_classifier(arch, n_actors, weights)
    p = params["train_identity"]["model"]
    assert p["weights"] == rel["identity"]
    vpl = nets.build_image_classifier(p["arch"], 91, p["weights"])
    assert "conv1.weight" in vpl.load_report.loaded and "layer4.1.bn2.running_var" in vpl.load_report.loaded
    assert "fc.weight" in vpl.load_report.missing and vpl.net.fc.out_features == 91

    # workflow_scripts/train_expression.py: the same with 6 classes, here from timm's safetensors form
    p = params["train_expression"]["model"]
    assert p["weights"] == rel["expression"]
    cfc = nets.build_image_classifier(p["arch"], len(EMOTIONS), p["weights"])
    assert len(cfc.load_report.loaded) == len(vpl.load_report.loaded)

    # workflow_scripts/utility.py: build_video_classifier(arch, 6, weights, width)
    p = params["utility"]["model"]
    assert p["weights"] == rel["utility"]
    fu = nets.build_video_classifier(p["arch"], len(EMOTIONS), p["weights"], width=p["width"])
    assert "stem.0.weight" in fu.load_report.loaded and not fu.load_report.skipped
    assert fu.net.fc.out_features == len(EMOTIONS)

    # workflow_scripts/train_compensator.py: build_uvit(uvit, size) + load_uvit_blocks(model, uvit.weights)
    u = params["train_compensator"]["uvit"]
    assert u["weights"] == rel["uvit"]
    ffc = uvit.build_uvit(u, 112)
    report = uvit.load_uvit_blocks(ffc, u["weights"])
    assert "mid_block.attn.qkv.weight" in report.loaded and "out_blocks.1.skip_linear.weight" in report.loaded
    assert "patch_embed.proj.weight" in report.missing and "pos_embed" in report.missing


class _NotATensor:
    pass


def test_weight_files_load_with_weights_only(tmp_path):
    """A weights file that holds pickled objects besides tensors is refused, not executed."""
    import timm

    sd = timm.create_model("resnet18", pretrained=False, num_classes=1000).state_dict()
    bad = tmp_path / "pickled.pth"
    torch.save({**sd, "extra": _NotATensor()}, bad)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported global|not allowlisted"):
        nets.build_image_classifier("resnet18", 10, bad)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported global|not allowlisted"):
        nets.load_state_file(bad)


def test_gpu_rule_list_matches_the_rule_files():
    """GPU_RULES (the tests' list) is exactly the rules that declare `resources: **GPU` and the rules
    derived from one by `use rule A as B with:` (which inherit its resources)."""
    declared, derived = set(), []
    for smk in (REPO / "rules").glob("*.smk"):
        for block in re.split(r"\n(?=rule |use rule )", smk.read_text()):
            name = re.match(r"rule (\w+):", block)
            if name and "**GPU" in block:
                declared.add(name.group(1))
            derived += re.findall(r"^use rule (\w+) as (\w+) with:", block, re.M)
    declared |= {new for base, new in derived if base in declared}
    assert declared == GPU_RULES, (sorted(declared - GPU_RULES), sorted(GPU_RULES - declared))
