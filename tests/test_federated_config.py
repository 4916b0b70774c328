"""One place for every federated default: config.yaml, the settings class (ppfer_core.federated.task) and
the Flower App's run config (flower-app/pyproject.toml) agree, and the app's table is generated from the config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import tomllib
import yaml

pytest.importorskip("flwr", reason="flwr (Flower) is not installed: pip install -e . installs it")

from ppfer_core.federated.app_config import app_run_config, main, render, updated_pyproject  # noqa: E402
from ppfer_core.federated.task import FedSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def _app_config() -> dict:
    return tomllib.loads((ROOT / "flower-app" / "pyproject.toml").read_text())["tool"]["flwr"]["app"][
        "config"
    ]


def test_config_settings_and_flower_app_agree():
    config = _config()
    fed, utility, train = config["federated"], config["models"]["utility"], config["train"]["utility"]
    from_config = FedSettings.from_config(config)
    from_app = FedSettings.from_run_config(_app_config())
    assert from_app == from_config and from_app.train == from_config.train
    # the values are config.yaml's own, key by key (not another default)
    assert (from_app.rounds, from_app.local_epochs, from_app.sites) == (
        fed["rounds"],
        fed["local_epochs"],
        fed["sites"],
    )
    assert (from_app.lr_decay, from_app.proximal_mu, from_app.strategy) == (
        fed["lr_decay"],
        fed["proximal_mu"],
        fed["strategies"][0],
    )
    assert (from_app.arch, from_app.width, from_app.augment) == (
        utility["arch"],
        utility["width"],
        utility["augment"],
    )
    assert from_app.train == {k: v for k, v in train.items() if v is not None}
    assert (from_app.seed, from_app.device) == (config["seed"], config["device"])


def test_flower_app_table_is_the_generated_one(capsys):
    text = (ROOT / "flower-app" / "pyproject.toml").read_text()
    assert updated_pyproject(text, app_run_config(_config())) == text
    assert (
        main(
            [
                "--check",
                "--config",
                str(ROOT / "config.yaml"),
                "--pyproject",
                str(ROOT / "flower-app/pyproject.toml"),
            ]
        )
        == 0
    )


def test_settings_have_no_defaults_of_their_own():
    assert all(
        f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        for f in dataclasses.fields(FedSettings)
    )
    with pytest.raises(ValueError, match="run config lacks .*rounds"):
        FedSettings.from_run_config({k: v for k, v in _app_config().items() if k != "rounds"})
    config = _config()
    del config["federated"]["lr_decay"]
    with pytest.raises(ValueError, match="federated.lr_decay"):
        FedSettings.from_config(config)


def test_generator_rewrites_only_its_table_and_check_fails_when_stale(tmp_path):
    config = _config()
    config["federated"]["rounds"] = 3
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    original = (ROOT / "flower-app" / "pyproject.toml").read_text()
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(original + "\n[tool.other]\nkeep = true\n")
    args = ["--config", str(tmp_path / "config.yaml"), "--pyproject", str(pyproject)]
    assert main([*args, "--check"]) == 1 and pyproject.read_text().endswith("keep = true\n")
    assert main(args) == 0 and main([*args, "--check"]) == 0
    doc = tomllib.loads(pyproject.read_text())
    assert doc["tool"]["flwr"]["app"]["config"]["rounds"] == 3 and doc["tool"]["other"] == {"keep": True}
    assert (
        doc["tool"]["flwr"]["app"]["components"]
        == tomllib.loads(original)["tool"]["flwr"]["app"]["components"]
    )
    assert render({"a": True, "b": "x", "c": 0.5}).endswith('a = true\nb = "x"\nc = 0.5\n')
