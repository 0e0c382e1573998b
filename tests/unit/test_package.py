"""`lakehouse cloud package`'s code archive and the spark-submit arguments (no cluster here;
the slow tests/e2e/test_aws_pipeline.py submits them to a standalone cluster)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from lakehouse.contracts import available_sources, load_contract
from lakehouse.package import CODE_ARCHIVE, build_code_archive, submit_args


def test_code_archive_holds_the_packages_and_contracts_load_from_it(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    first = build_code_archive(tmp_path / "a")
    names = zipfile.ZipFile(first).namelist()
    assert first.name == CODE_ARCHIVE
    assert "spark/landing_to_bronze.py" in names and "lakehouse/contracts/weather.yml" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # As --py-files would import it: the contracts folder inside the zip.
    inside = zipfile.Path(first, at="lakehouse/contracts/")
    assert "weather" in available_sources(inside)  # type: ignore[arg-type]
    assert load_contract("weather", inside).name == "weather"  # type: ignore[arg-type]
    # The same code gives the same archive, byte for byte.
    (tmp_path / "b").mkdir()
    assert build_code_archive(tmp_path / "b").read_bytes() == first.read_bytes()


def test_submit_arguments_are_emr_serverless_ones_with_a_master_for_a_cluster() -> None:
    args = submit_args(
        "s3://a/lakehouse_src.zip",
        "s3://a/landing_to_bronze.py",
        "s3://a/pyspark_venv.tar.gz",
        job_args=["--source", "weather"],
    )
    assert args[-3:] == ["s3://a/landing_to_bronze.py", "--source", "weather"]
    confs = dict(a.split("=", 1) for a in args[1:-3:2])
    assert confs["spark.submit.pyFiles"] == "s3://a/lakehouse_src.zip"
    assert confs["spark.archives"] == "s3://a/pyspark_venv.tar.gz#environment"
    assert confs["spark.executorEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
    assert confs["spark.jars"].startswith("/usr/share/aws/delta/lib/")
    assert confs["spark.sql.session.timeZone"] == "UTC"
    clustered = submit_args(
        "c.zip", "e.py", None, job_args=[], master="spark://h:1", jars=["d.jar"]
    )
    assert clustered[:2] == ["--master", "spark://h:1"]
    assert "--conf" in clustered and "spark.jars=d.jar" in clustered
    assert not [a for a in clustered if a.startswith("spark.archives")]


def test_cloud_package_prints_the_job_driver_for_the_settings_lake(tmp_path: Path) -> None:
    """The printed job driver names each layer bucket once (``s3://bucket``) and the lake root."""
    import json

    from typer.testing import CliRunner

    from lakehouse.cli.app import app

    buckets = {"landing": "acme-landing", "bronze": "acme-bronze", "quarantine": "acme-q"}
    done = CliRunner().invoke(
        app,
        ["cloud", "package", "--no-environment", "--out", str(tmp_path / "dist")]
        + ["--artifacts-uri", "s3://acme-artifacts/bronze/", "--source", "weather"],
        env={
            "LAKEHOUSE_PROFILE": "aws",
            "LAKEHOUSE_LAKE_ROOT": "s3://acme-lake",
            "LAKEHOUSE_BUCKETS": json.dumps(buckets),
        },
    )
    assert done.exit_code == 0, done.output
    driver = json.loads(done.stdout[done.stdout.index("{") :])["sparkSubmit"]
    assert driver["entryPoint"] == "s3://acme-artifacts/bronze/landing_to_bronze.py"
    assert driver["entryPointArguments"] == [
        "--source",
        "weather",
        "--lake-root",
        "s3://acme-lake",
        "--layer-root=bronze=s3://acme-bronze",
        "--layer-root=landing=s3://acme-landing",
        "--layer-root=quarantine=s3://acme-q",
    ]
    assert (
        "spark.submit.pyFiles=s3://acme-artifacts/bronze/lakehouse_src.zip"
        in (driver["sparkSubmitParameters"])
    )
