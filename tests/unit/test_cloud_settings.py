"""lakehouse.cloud and `lakehouse cloud settings`: the aws profile from `terraform output -json`.

Nothing is faked: SAMPLE_OUTPUT is a recorded `terraform output -json` of an env root (account
id and names made up), and the terraform-runner test runs the real terraform binary over a
local state file, which `terraform output` reads without providers or network.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli.app import app
from lakehouse.cloud import (
    AWS_FIELDS,
    CloudSettingsError,
    env_lines,
    read_terraform_output,
    settings_from_terraform_output,
    terraform_binary,
)
from lakehouse.settings import Settings

ACCOUNT = "123456789012"
REGION = "eu-west-1"
BUCKETS = {
    key: f"lakehouse-dev-{key.replace('_', '-')}-{ACCOUNT}-{REGION}"
    for key in (
        "landing",
        "bronze",
        "silver",
        "gold",
        "quarantine",
        "athena_results",
        "artifacts",
        "site",
    )
}
DATABASES = {
    layer: f"lakehouse_dev_{layer}" for layer in ("bronze", "silver", "gold", "quarantine")
}
SETTINGS_VALUE = {
    "aws_region": REGION,
    "buckets": BUCKETS,
    "glue_databases": DATABASES,
    "athena_workgroup": "lakehouse-dev",
    "emr_application_id": "00fq3kmc0rqh9g09",
    "emr_job_role_arn": f"arn:aws:iam::{ACCOUNT}:role/lakehouse-dev-emr-job-20250101000000",
    "redshift_workgroup": "lakehouse-dev",
    "alerts_topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:lakehouse-dev-pipeline-alerts",
    "site_bucket": BUCKETS["site"],
}
SAMPLE_OUTPUT = {
    "env": {"sensitive": False, "type": "string", "value": "dev"},
    "kms_key_arn": {
        "sensitive": False,
        "type": "string",
        "value": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    },
    "lakehouse_settings": {
        "sensitive": False,
        "type": [
            "object",
            {
                "alerts_topic_arn": "string",
                "athena_workgroup": "string",
                "aws_region": "string",
                "buckets": ["map", "string"],
                "emr_application_id": "string",
                "emr_job_role_arn": "string",
                "glue_databases": ["map", "string"],
                "redshift_workgroup": "string",
                "site_bucket": "string",
            },
        ],
        "value": SETTINGS_VALUE,
    },
}


def _with_settings(**changes: object) -> dict:
    """SAMPLE_OUTPUT with lakehouse_settings.value changed (None deletes a key)."""
    doc = json.loads(json.dumps(SAMPLE_OUTPUT))
    value = doc["lakehouse_settings"]["value"]
    for key, new in changes.items():
        if new is None:
            value.pop(key, None)
        else:
            value[key] = new
    return doc


def test_sample_maps_onto_every_aws_field() -> None:
    settings = settings_from_terraform_output(SAMPLE_OUTPUT)
    assert settings.profile == "aws"
    assert settings.env == "dev"
    for field in AWS_FIELDS:
        assert getattr(settings, field) == SETTINGS_VALUE[field], field
    assert set(AWS_FIELDS) <= set(Settings.model_fields)


def test_reads_a_saved_file_and_env_argument_wins(tmp_path: Path) -> None:
    saved = tmp_path / "out.json"
    saved.write_text(json.dumps(SAMPLE_OUTPUT), encoding="utf-8")
    settings = settings_from_terraform_output(saved, env="prod")
    assert settings.env == "prod"
    assert settings.buckets["gold"] == BUCKETS["gold"]


def test_env_lines_round_trip_through_a_dotenv_file(tmp_path: Path) -> None:
    cloud = settings_from_terraform_output(SAMPLE_OUTPUT)
    dotenv = tmp_path / ".env"
    dotenv.write_text("\n".join(env_lines(cloud)) + "\n", encoding="utf-8")
    loaded = Settings(_env_file=dotenv)
    assert loaded.profile == "aws"
    for field in AWS_FIELDS:
        assert getattr(loaded, field) == getattr(cloud, field), field


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"env": SAMPLE_OUTPUT["env"]}, "no output 'lakehouse_settings'"),
        ({"lakehouse_settings": SETTINGS_VALUE}, "not in `terraform output -json` form"),
        (_with_settings(emr_application_id=None), "lacks emr_application_id"),
        (_with_settings(buckets={**BUCKETS, "gold": ""}), "buckets in terraform output lacks gold"),
        (_with_settings(glue_databases={"bronze": "b"}), "lacks silver, gold"),
        (_with_settings(warehouse_port=5439), "keys the settings do not know: warehouse_port"),
        (_with_settings(buckets="not-a-map"), "buckets in terraform output must be an object"),
    ],
)
def test_bad_output_gets_a_clear_error(doc: dict, message: str) -> None:
    with pytest.raises(CloudSettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_from_terraform_output(doc)


def test_bad_files_get_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CloudSettingsError, match="no such file"):
        settings_from_terraform_output(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"lakehouse_settings": ', encoding="utf-8")
    with pytest.raises(CloudSettingsError, match="is not JSON"):
        settings_from_terraform_output(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[]", encoding="utf-8")
    with pytest.raises(CloudSettingsError, match="must be a JSON object"):
        settings_from_terraform_output(listed)


def test_unknown_env_root_names_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "terraform" / "envs" / "dev").mkdir(parents=True)
    with pytest.raises(CloudSettingsError, match=r"known envs: dev"):
        read_terraform_output("staging", root=tmp_path)


def _has_terraform() -> bool:
    try:
        terraform_binary()
    except CloudSettingsError:
        return False
    return True


def _state_root(tmp_path: Path, outputs: dict) -> Path:
    """A project root whose env root dev has a local state holding ``outputs``."""
    env_dir = tmp_path / "terraform" / "envs" / "dev"
    env_dir.mkdir(parents=True)
    state = {
        "version": 4,
        "terraform_version": "1.5.7",
        "serial": 1,
        "lineage": "3f0c6a52-0000-4000-8000-000000000000",
        "outputs": {k: {"value": v["value"], "type": v["type"]} for k, v in outputs.items()},
        "resources": [],
        "check_results": None,
    }
    (env_dir / "terraform.tfstate").write_text(json.dumps(state), encoding="utf-8")
    return tmp_path


@pytest.mark.skipif(
    not _has_terraform() and not os.environ.get("CI"),
    reason="terraform is not installed (make setup builds it)",
)
def test_runs_terraform_output_on_the_env_root(tmp_path: Path) -> None:
    root = _state_root(tmp_path, SAMPLE_OUTPUT)
    outputs = read_terraform_output("dev", root=root)
    assert outputs["lakehouse_settings"]["value"] == SETTINGS_VALUE
    settings = settings_from_terraform_output(env="dev", root=root)
    assert settings.emr_application_id == SETTINGS_VALUE["emr_application_id"]


@pytest.mark.skipif(
    not _has_terraform() and not os.environ.get("CI"),
    reason="terraform is not installed (make setup builds it)",
)
def test_terraform_failure_says_what_to_run(tmp_path: Path) -> None:
    env_dir = tmp_path / "terraform" / "envs" / "dev"
    env_dir.mkdir(parents=True)
    # A root with a configured backend that was never initialised: terraform refuses.
    (env_dir / "versions.tf").write_text('terraform {\n  backend "s3" {}\n}\n', encoding="utf-8")
    with pytest.raises(CloudSettingsError, match="init"):
        read_terraform_output("dev", root=tmp_path)


def test_cli_prints_env_lines(tmp_path: Path) -> None:
    saved = tmp_path / "out.json"
    saved.write_text(json.dumps(SAMPLE_OUTPUT), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["cloud", "settings", "--env", "dev", "--from-file", str(saved)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "LAKEHOUSE_PROFILE=aws" in lines
    assert f"LAKEHOUSE_EMR_APPLICATION_ID='{SETTINGS_VALUE['emr_application_id']}'" in lines
    buckets_line = next(line for line in lines if line.startswith("LAKEHOUSE_BUCKETS="))
    assert json.loads(buckets_line.split("=", 1)[1].strip("'")) == BUCKETS


def test_cli_writes_a_dotenv_file(tmp_path: Path) -> None:
    saved = tmp_path / "out.json"
    saved.write_text(json.dumps(SAMPLE_OUTPUT), encoding="utf-8")
    target = tmp_path / "cloud.env"
    result = CliRunner().invoke(
        app, ["cloud", "settings", "--from-file", str(saved), "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert Settings(_env_file=target).glue_databases == DATABASES


def test_cli_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    saved = tmp_path / "out.json"
    saved.write_text(json.dumps({"env": SAMPLE_OUTPUT["env"]}), encoding="utf-8")
    result = CliRunner().invoke(app, ["cloud", "settings", "--from-file", str(saved)])
    assert result.exit_code == 2
    assert "error: " in result.stderr and "lakehouse_settings" in result.stderr
    assert "Traceback" not in result.output


def test_cli_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["cloud", "settings", "--help"])
    assert result.exit_code == 0
    assert "lakehouse cloud settings --env dev" in result.stdout


def test_terraform_binary_prefers_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "cache" / "bin"
    bin_dir.mkdir(parents=True)
    pinned = bin_dir / "terraform"
    pinned.write_text("#!/bin/sh\n", encoding="utf-8")
    pinned.chmod(0o755)
    monkeypatch.setenv("LAKEHOUSE_CACHE_DIR", str(tmp_path / "cache"))
    assert terraform_binary() == str(pinned)
    pinned.unlink()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CloudSettingsError, match="make setup"):
        terraform_binary()


def test_flow_run_environment_follows_the_settings_in_the_dotenv(tmp_path: Path) -> None:
    from lakehouse.cloud import flow_run_environment
    from lakehouse.contracts import load_contract
    from lakehouse.source_settings import source_settings

    inbox = f"s3://lakehouse-dev-landing-{ACCOUNT}/inbox/immigration/"
    doc = json.loads(json.dumps(SAMPLE_OUTPUT))
    doc["flow_run_environment"] = {
        "sensitive": False,
        "type": ["map", "string"],
        "value": {"LAKEHOUSE_IMMIGRATION_LOCATION": inbox},
    }
    extra = flow_run_environment(doc)
    assert extra == {"LAKEHOUSE_IMMIGRATION_LOCATION": inbox}
    assert flow_run_environment(SAMPLE_OUTPUT) == {}  # a root from before the output
    dotenv = tmp_path / ".env"
    lines = env_lines(settings_from_terraform_output(doc), extra)
    dotenv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert lines[-1] == f"LAKEHOUSE_IMMIGRATION_LOCATION='{inbox}'"
    # The ingest reads its location setting from that .env, as a flow run does.
    read = source_settings(load_contract("immigration"), env_file=str(dotenv))
    assert read.location == inbox
    assert Settings(_env_file=dotenv).buckets["gold"] == BUCKETS["gold"]
    doc["flow_run_environment"]["value"] = {"LAKEHOUSE_BUCKETS": "{}"}
    with pytest.raises(CloudSettingsError, match="LAKEHOUSE_BUCKETS"):
        flow_run_environment(doc)
