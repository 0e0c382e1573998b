"""The weather pipeline on the AWS profile, against moto's server standing in for S3 and Glue.

What is faked: only AWS (the session's moto server, ``aws_stand_in``, reached through
``AWS_ENDPOINT_URL``) and the Open-Meteo API (the replay server). The flows, Spark (``s3a`` with
hadoop-aws), delta-rs, dbt-duckdb, the gates and the Glue registration are the real ones.

One landing, two lakes: the weather backfill lands in a local folder and runs there; the same
landed objects are then copied into the landing bucket and run again with every layer in its
own bucket (as Terraform creates them). Bronze and every mart must fingerprint the same. A bad
ingest into the S3 lake then fails its gate, and neither the Glue locations nor the served
answers move.
"""

from __future__ import annotations

import json
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


def test_weather_on_s3_and_glue_matches_local_and_a_failed_gate_moves_nothing(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakehouse import catalog, gold

    # ---- the local run
    local_root = tmp_path / "local-lake"
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(local_root))
    with ReplayServer() as server:
        _pipeline(server.url)
    local = Settings(_env_file=None)
    expected = _fingerprints(local)
    assert expected["bronze.weather__hourly"]["rows"] == 4 * 72

    # ---- the same landing on the S3 stand-in, one bucket per layer
    s3 = boto3.client("s3")
    buckets = {layer: f"wx-dev-{layer}" for layer in LAYERS}
    for name in buckets.values():
        s3.create_bucket(Bucket=name)
    landed = local.lake.landing("weather", "hourly")
    for path in sorted(landed.rglob("*.json.gz")):
        key = f"weather/hourly/{path.relative_to(landed).as_posix()}"
        s3.upload_file(str(path), buckets["landing"], key)
    monkeypatch.setenv("LAKEHOUSE_PROFILE", "aws")
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(tmp_path / "unused-local-root"))
    monkeypatch.setenv("LAKEHOUSE_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("LAKEHOUSE_BUCKETS", json.dumps(buckets))
    databases = {layer: f"wx_dev_{layer}" for layer in ("bronze", "silver", "gold")}
    monkeypatch.setenv("LAKEHOUSE_GLUE_DATABASES", json.dumps(databases))
    monkeypatch.setenv("LAKEHOUSE_SITE_BUCKET", buckets["site"])
    _pipeline(None, ingest=False)
    settings = Settings(_env_file=None)
    assert settings.lake.uri(settings.lake.bronze("x")) == f"s3://{buckets['bronze']}/x"

    # Objects in the layers' buckets, none in the local root.
    assert any(k.startswith("weather/hourly/fetch_date=") for k in _keys(s3, buckets["landing"]))
    bronze_keys = _keys(s3, buckets["bronze"])
    assert any(k.startswith("weather__hourly/_delta_log/") for k in bronze_keys)
    assert any(k.startswith("_state/runs/bronze/weather/") for k in bronze_keys)
    ledger = "_state/bronze/weather__hourly/processed_objects/"
    assert any(k.startswith(ledger) for k in bronze_keys)
    assert "index.html" in _keys(s3, buckets["site"])
    assert not (tmp_path / "unused-local-root").exists()

    # Bronze in Glue at its bucket, with its schema; gold at the published build.
    bronze = catalog.describe(settings, "bronze", "weather__hourly")
    assert bronze.database == "wx_dev_bronze"
    assert bronze.location == f"s3://{buckets['bronze']}/weather__hourly"
    assert bronze.parameters["table_type"] == "DELTA"
    assert bronze.columns["city_id"] == "string" and bronze.columns["observed_at"] == "timestamp"
    pointer = gold.published_pointer(settings)
    assert pointer is not None
    marts = sorted(pointer["marts"])
    assert catalog.tables(settings, "gold") == marts
    published = {m: catalog.describe(settings, "gold", m).location for m in marts}
    for mart, where in published.items():
        assert where == f"s3://{buckets['gold']}/{mart}/build_id={pointer['build_id']}/"
        prefix = where.removeprefix(f"s3://{buckets['gold']}/")
        assert [k for k in _keys(s3, buckets["gold"]) if k.startswith(prefix)]

    # Parity: the same landing gives the same bronze and the same marts.
    assert _fingerprints(settings) == expected

    # ---- a bad ingest into the S3 lake: its gate fails, nothing published moves
    served = gold.read_marts(settings)
    landing_before = len(_keys(s3, buckets["landing"]))
    with ReplayServer(faults=[Fault("san_diego", "impossible_temperature")]) as server:
        from flows.bronze import FLOWS as BRONZE
        from flows.ingest import ingest_flow
        from flows.transform import TransformFailed, transform

        ingest_flow("weather")(start_date=FIRST_DAY, end_date=LAST_DAY, base_url=server.url)
    assert len(_keys(s3, buckets["landing"])) > landing_before
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
