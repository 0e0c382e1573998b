"""The weather pipeline on the AWS profile, against moto's server standing in for S3 and Glue,
with the bronze job on a two-worker Spark standalone cluster.

What is faked: only AWS (the session's moto server, ``aws_stand_in``, reached through
``AWS_ENDPOINT_URL``) and the Open-Meteo API (the replay server). The flows, Spark (``s3a`` with
hadoop-aws), delta-rs, dbt-duckdb, the gates and the Glue registration are the real ones.

One landing, two lakes: the weather backfill lands in a local folder and runs there (bronze on
``local[*]``); the same landed objects are then copied into the landing bucket of a lake with
every layer in its own bucket (as Terraform creates them). Its bronze job is submitted to a
standalone cluster (a master and two workers started from pyspark's launcher) with the
artifacts and ``spark-submit`` arguments of EMR Serverless (:mod:`lakehouse.package`); the
transform, gates, Glue publish and site then run in-process. Bronze and every mart must
fingerprint the same as the local run's. A bad ingest into the S3 lake then fails its gate, and
neither the Glue locations nor the served answers move.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import boto3
import pytest

from lakehouse.bench.fingerprint import arrow_fingerprint
from lakehouse.contracts import load_contract
from lakehouse.replay import ReplayServer
from lakehouse.replay.faults import Fault
from lakehouse.settings import Settings

pytestmark = pytest.mark.slow

FIRST_DAY, LAST_DAY = date(2025, 3, 5), date(2025, 3, 7)
LAYERS = ("landing", "bronze", "silver", "gold", "quarantine", "site")
BUCKETS = {layer: f"wx-dev-{layer}" for layer in LAYERS}
DATABASES = {layer: f"wx_dev_{layer}" for layer in ("bronze", "silver", "gold")}


def _pipeline(base_url: str | None, *, ingest: bool = True) -> None:
    """Ingest (optional), bronze, transform and site in-process: the flows the CLI runs."""
    from flows.bronze import FLOWS as BRONZE
    from flows.ingest import ingest_flow
    from flows.site import site_refresh
    from flows.transform import transform

    if ingest:
        ingest_flow("weather")(start_date=FIRST_DAY, end_date=LAST_DAY, base_url=base_url)
    BRONZE["weather"]()
    transform()
    site_refresh(dbt_docs=False)


def _fingerprints(settings: Settings) -> dict[str, dict]:
    """Bronze and every published mart, fingerprinted (run metadata left out)."""
    from lakehouse import gold
    from lakehouse.storage import delta_table

    entity = load_contract("weather").entity("hourly")
    bronze = delta_table(settings.lake.bronze("weather__hourly")).to_pyarrow_table()
    out = {"bronze.weather__hourly": arrow_fingerprint(bronze, list(entity.natural_key))}
    for mart, table in gold.read_marts(settings).items():
        out[f"gold.{mart}"] = arrow_fingerprint(table)
    return out


def _keys(client, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


@dataclass
class Runs:
    """What the module's one scenario left behind, for its tests to check."""

    local_fingerprints: dict[str, dict]
    tmp: Path
    aws_env: dict[str, str]
    submit: subprocess.CompletedProcess[str]
    app_id: str
    task_executors: set[str]
    executors_by_worker: dict[int, list[str]]


def _aws_profile(tmp: Path) -> dict[str, str]:
    return {
        "LAKEHOUSE_PROFILE": "aws",
        "LAKEHOUSE_LAKE_ROOT": str(tmp / "unused-local-root"),
        "LAKEHOUSE_WORK_DIR": str(tmp / "work"),
        "LAKEHOUSE_BUCKETS": json.dumps(BUCKETS),
        "LAKEHOUSE_GLUE_DATABASES": json.dumps(DATABASES),
        "LAKEHOUSE_SITE_BUCKET": BUCKETS["site"],
    }


def _cluster_bronze(tmp: Path) -> tuple[subprocess.CompletedProcess[str], str, set, dict]:
    """Package the job, start the cluster, submit bronze to it; what ran where."""
    from lakehouse.package import build_package, job_args, spark_submit, submit_args
    from spark.cluster import StandaloneCluster
    from spark.jars import cached_jars
    from spark.session import s3_conf

    package = build_package(tmp / "artifacts")
    events = tmp / "spark-events"
    events.mkdir()
    aws = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    with StandaloneCluster(tmp / "cluster", workers=2, env=aws) as cluster:
        conf = {
            **s3_conf(os.environ["AWS_ENDPOINT_URL"]),
            # Two executors of one core, one per worker; small, for a shared 2-core machine.
            "spark.executor.cores": "1",
            "spark.cores.max": "2",
            "spark.executor.memory": "512m",
            "spark.driver.memory": "512m",
            "spark.sql.shuffle.partitions": "4",
            "spark.ui.enabled": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": events.as_uri(),
        }
        args = submit_args(
            str(package.code),
            str(package.entry_point),
            str(package.environment),
            # The arguments `lakehouse cloud package` prints for EMR, from the aws profile.
            job_args=job_args(Settings(_env_file=None), "weather"),
            master=cluster.master_url,
            jars=cached_jars(True),
            conf=conf,
        )
        # Client mode (the only one for Python on a standalone cluster): the driver is this
        # interpreter; the executors run the packaged environment's.
        env = {**os.environ, "PYSPARK_DRIVER_PYTHON": sys.executable}
        env.pop("PYTHONPATH", None)
        submit = subprocess.run(
            [spark_submit(), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            timeout=1200,
            check=False,
        )
        app_id, executors = "", set()
        for log in events.iterdir():
            for line in log.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event["Event"] == "SparkListenerApplicationStart":
                    app_id = event["App ID"]
                elif event["Event"] == "SparkListenerTaskEnd":
                    executors.add(event["Task Info"]["Executor ID"])
        return submit, app_id, executors, cluster.executors_by_worker(app_id)


@pytest.fixture(scope="module")
def runs(aws_stand_in: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """The local run, then the S3 run (bronze on the cluster), each in its own environment."""
    from flows.site import site_refresh
    from flows.transform import transform
    from lakehouse import catalog

    tmp = tmp_path_factory.mktemp("aws-pipeline")
    aws = {
        "AWS_ENDPOINT_URL": aws_stand_in,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("LAKEHOUSE_", "AWS_")):
                mp.delenv(name)
        for name, value in aws.items():
            mp.setenv(name, value)
        mp.chdir(tmp)

        # ---- the local run
        mp.setenv("LAKEHOUSE_LAKE_ROOT", str(tmp / "local-lake"))
        with ReplayServer() as server:
            _pipeline(server.url)
        local = Settings(_env_file=None)
        expected = _fingerprints(local)

        # ---- the same landing in the landing bucket; bronze on the cluster, the rest here
        s3 = boto3.client("s3")
        for name in BUCKETS.values():
            s3.create_bucket(Bucket=name)
        landed = local.lake.landing("weather", "hourly")
        for path in sorted(landed.rglob("*.json.gz")):
            key = f"weather/hourly/{path.relative_to(landed).as_posix()}"
            s3.upload_file(str(path), BUCKETS["landing"], key)
        for name, value in _aws_profile(tmp).items():
            mp.setenv(name, value)
        submit, app_id, executors, by_worker = _cluster_bronze(tmp)
        if submit.returncode == 0:
            # The bronze flow registers what it loads; a submitted job is registered by its
            # submitter, the same way.
            catalog.register_bronze(Settings(_env_file=None), "weather__hourly", ["observed_date"])
            transform()
            site_refresh(dbt_docs=False)
        yield Runs(expected, tmp, aws, submit, app_id, executors, by_worker)


def test_bronze_on_a_two_worker_cluster_equals_local(runs: Runs) -> None:
    assert runs.submit.returncode == 0, runs.submit.stderr[-3000:]
    assert '"status": "ok"' in runs.submit.stdout
    # Each worker launched one executor for the job, and both executors ran tasks.
    assert sorted(len(ids) for ids in runs.executors_by_worker.values()) == [1, 1]
    launched = {i for ids in runs.executors_by_worker.values() for i in ids}
    assert runs.task_executors == launched
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {**runs.aws_env, **_aws_profile(runs.tmp)}.items():
            mp.setenv(name, value)
        settings = Settings(_env_file=None)
        from lakehouse.storage import delta_table

        entity = load_contract("weather").entity("hourly")
        bronze = delta_table(settings.lake.bronze("weather__hourly")).to_pyarrow_table()
        assert (
            arrow_fingerprint(bronze, list(entity.natural_key))
            == (runs.local_fingerprints["bronze.weather__hourly"])
        )


def test_weather_on_s3_and_glue_matches_local_and_a_failed_gate_moves_nothing(
    runs: Runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakehouse import catalog, gold

    assert runs.submit.returncode == 0, runs.submit.stderr[-3000:]
    for name, value in {**runs.aws_env, **_aws_profile(runs.tmp)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(runs.tmp)
    s3 = boto3.client("s3")
    settings = Settings(_env_file=None)
    assert settings.lake.uri(settings.lake.bronze("x")) == f"s3://{BUCKETS['bronze']}/x"

    # Objects in the layers' buckets, none in the local root.
    assert any(k.startswith("weather/hourly/fetch_date=") for k in _keys(s3, BUCKETS["landing"]))
    bronze_keys = _keys(s3, BUCKETS["bronze"])
    assert any(k.startswith("weather__hourly/_delta_log/") for k in bronze_keys)
    assert any(k.startswith("_state/runs/bronze/weather/") for k in bronze_keys)
    ledger = "_state/bronze/weather__hourly/processed_objects/"
    assert any(k.startswith(ledger) for k in bronze_keys)
    assert "index.html" in _keys(s3, BUCKETS["site"])
    assert not (runs.tmp / "unused-local-root").exists()

    # Bronze in Glue at its bucket, with its schema; gold at the published build.
    bronze = catalog.describe(settings, "bronze", "weather__hourly")
    assert bronze.database == "wx_dev_bronze"
    assert bronze.location == f"s3://{BUCKETS['bronze']}/weather__hourly"
    assert bronze.parameters["table_type"] == "DELTA"
    assert bronze.columns["city_id"] == "string" and bronze.columns["observed_at"] == "timestamp"
    pointer = gold.published_pointer(settings)
    assert pointer is not None
    marts = sorted(pointer["marts"])
    assert catalog.tables(settings, "gold") == marts
    published = {m: catalog.describe(settings, "gold", m).location for m in marts}
    for mart, where in published.items():
        assert where == f"s3://{BUCKETS['gold']}/{mart}/build_id={pointer['build_id']}/"
        prefix = where.removeprefix(f"s3://{BUCKETS['gold']}/")
        assert [k for k in _keys(s3, BUCKETS["gold"]) if k.startswith(prefix)]

    # Parity: the same landing gives the same bronze and the same marts.
    assert _fingerprints(settings) == runs.local_fingerprints

    # ---- a bad ingest into the S3 lake: its gate fails, nothing published moves
    from flows.bronze import FLOWS as BRONZE
    from flows.ingest import ingest_flow
    from flows.transform import TransformFailed, transform

    served = gold.read_marts(settings)
    landing_before = len(_keys(s3, BUCKETS["landing"]))
    with ReplayServer(faults=[Fault("san_diego", "impossible_temperature")]) as server:
        ingest_flow("weather")(start_date=FIRST_DAY, end_date=LAST_DAY, base_url=server.url)
    assert len(_keys(s3, BUCKETS["landing"])) > landing_before
    BRONZE["weather"]()
    with pytest.raises(TransformFailed) as failed:
        transform()
    assert failed.value.summary.failed_step.startswith("gate:")
    assert {m: catalog.describe(settings, "gold", m).location for m in marts} == published
    assert gold.published_pointer(settings)["build_id"] == pointer["build_id"]
    after = gold.read_marts(settings)
    assert {m: arrow_fingerprint(t) for m, t in after.items()} == {
        m: arrow_fingerprint(t) for m, t in served.items()
    }
