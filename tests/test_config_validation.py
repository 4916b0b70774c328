"""A malformed config fails at start, before any job, naming the key (schemas/config.schema.yaml,
read once in rules/common.smk)."""

import pytest
from test_workflow import ROOT, snakemake


@pytest.mark.parametrize(
    "override,needle",
    [
        ("ingest:\n  framez: 3\n", "framez"),  # unknown key
        ("ingest:\n  frames: eight\n", "frames"),  # mistyped
        ("enhancer:\n  objective: maximise\n  l1_weight: 0\n  identity_budget: null\n", "objective"),
        ("robust:\n  adversaries: {aggregate: sometimes}\n", "aggregate"),  # issue 29
        ("robust:\n  adversaries: {temperature: 0}\n", "temperature"),
        ("threat:\n  attacks:\n    convergence: {target_train_acc: 2}\n", "target_train_acc"),
        ("cpu_dtype: float16\n", "cpu_dtype"),  # issue 30: auto | float32 | bfloat16
    ],
)
def test_bad_config_fails_before_any_job_naming_the_key(tmp_path, override, needle):
    bad = tmp_path / "bad.yaml"
    bad.write_text(override)
    res = snakemake(tmp_path, "-n", "--cores", "1", configs=(str(bad),))
    assert res.returncode != 0
    out = res.stderr + res.stdout
    assert "Error validating config" in out and needle in out
    assert not (tmp_path / "results").exists()


def test_missing_key_is_named():
    import yaml
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    del config["wavelet"]["name"]
    with pytest.raises(WorkflowError, match="'name' is a required property"):
        validate(config, str(ROOT / "schemas/config.schema.yaml"))
