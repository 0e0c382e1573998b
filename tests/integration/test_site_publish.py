"""Publishing the weather site to S3, against moto's S3 running as a real HTTP server.

S3 is the session's moto server (``aws_stand_in`` in tests/conftest.py; boto3 reaches it
through AWS_ENDPOINT_URL, with dummy credentials); gold is the fixture of
``tests/fixtures/site/gold.sql`` published through the real write-audit-publish of
:mod:`lakehouse.gold`; rendering, upload, the CLI and the ``site-refresh`` flow are the real
ones. dbt docs are skipped (the e2e test generates them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import duckdb
import pytest
from typer.testing import CliRunner

from lakehouse import gold
from lakehouse.runs import latest_run, record_run
from lakehouse.settings import Settings
from lakehouse.site import SiteError, build_site, publish_site

pytestmark = pytest.mark.slow

FIXTURE_SQL = (Path(__file__).parents[1] / "fixtures" / "site" / "gold.sql").read_text()
MARTS = ["agg_weather_city_summary", "agg_weather_daily", "dim_location", "fct_weather_hourly"]
BUCKET = "lakehouse-dev-site"


@pytest.fixture
def s3(aws_env: str):
    """A client on the session's moto server with an empty site bucket; boto3 anywhere
    in-process uses the same."""
    client = boto3.client("s3")
    # The server outlives a test; start each one from an empty bucket.
    if any(b["Name"] == BUCKET for b in client.list_buckets().get("Buckets", [])):
        for key in _objects(client):
            client.delete_object(Bucket=BUCKET, Key=key)
    else:
        client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def published_gold(settings: Settings, tmp_path: Path) -> Settings:
    """Publish the fixture marts as the lake's gold, as a transform would."""
    source = tmp_path / "fixture_build.duckdb"
    with duckdb.connect(str(source)) as con:
        con.execute(FIXTURE_SQL)
    build = gold.stage_build(settings, source, "main", MARTS, "20240210T000000Z-fixture")
    gold.publish_build(settings, build)
    return settings


def _objects(client) -> dict[str, str]:
    objects = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            objects[obj["Key"]] = obj["ETag"].strip('"')
    return objects


def _local(site: Path) -> dict[str, str]:
    return {
        p.relative_to(site).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in site.rglob("*")
        if p.is_file()
    }


def test_publish_mirrors_the_site_and_is_incremental(published_gold: Settings, s3) -> None:
    settings = published_gold
    site = build_site(settings, dbt_docs=False).path

    first = publish_site(site, BUCKET)
    assert sorted(first.uploaded) == sorted(_local(site)) and not first.unchanged
    assert _objects(s3) == _local(site)

    head = s3.head_object(Bucket=BUCKET, Key="index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert s3.head_object(Bucket=BUCKET, Key="assets/plotly.min.js")["ContentType"].startswith(
        "text/javascript"
    )
    assert s3.head_object(Bucket=BUCKET, Key="assets/site.css")["ContentType"].startswith(
        "text/css"
    )
    body = s3.get_object(Bucket=BUCKET, Key="index.html")["Body"].read()
    assert body == (site / "index.html").read_bytes()

    # Same gold, same pages: nothing to send.
    build_site(settings, dbt_docs=False)
    again = publish_site(site, BUCKET)
    assert again.uploaded == [] and len(again.unchanged) == len(first.uploaded)

    # A new gate run changes only the pages showing it (the index's last runs, the quality
    # gates page); a key the site no longer has is removed.
    record_run(settings.lake, "gate", "weather", status="ok", checks={"passed": 12})
    s3.put_object(Bucket=BUCKET, Key="old/page.html", Body=b"stale")
    build_site(settings, dbt_docs=False)
    third = publish_site(site, BUCKET)
    assert sorted(third.uploaded) == ["index.html", "quality-gates.html"]
    assert third.deleted == ["old/page.html"]
    assert _objects(s3) == _local(site)


def test_publish_to_a_missing_bucket_says_what_to_do(published_gold: Settings, s3) -> None:
    site = build_site(published_gold, dbt_docs=False).path
    with pytest.raises(SiteError, match="no-such-site-bucket: NoSuchBucket.*--bucket"):
        publish_site(site, "no-such-site-bucket")


def test_cli_renders_and_publishes(published_gold: Settings, s3) -> None:
    from lakehouse.cli.app import app

    result = CliRunner().invoke(app, ["site", "--publish", "--bucket", BUCKET, "--skip-dbt-docs"])
    assert result.exit_code == 0, result.output
    assert "uploaded" in result.output and "testing" not in result.output
    assert _objects(s3) == _local(published_gold.lake.site)

    no_bucket = CliRunner().invoke(app, ["site", "--publish", "--skip-dbt-docs"])
    assert no_bucket.exit_code == 2 and "LAKEHOUSE_SITE_BUCKET" in no_bucket.output


def test_cli_without_published_gold_fails_clearly(settings: Settings) -> None:
    from lakehouse.cli.app import app

    result = CliRunner().invoke(app, ["site", "--skip-dbt-docs"])
    assert result.exit_code == 1
    assert "no published gold" in result.output and "lakehouse transform" in result.output
    assert latest_run(settings.lake, "site", "weather")["status"] == "failed"


def test_site_refresh_flow_publishes_to_the_configured_bucket(
    published_gold: Settings, s3, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.site import site_refresh

    monkeypatch.setenv("LAKEHOUSE_SITE_BUCKET", BUCKET)
    result = site_refresh(dbt_docs=False)

    assert result["render"]["pages"] == ["index.html"]
    assert result["publish"]["uploaded"] == len(_local(published_gold.lake.site))
    assert _objects(s3) == _local(published_gold.lake.site)
    from lakehouse.contracts import available_sources

    # One site for every source: each source's status row shows the render.
    assert {
        s: latest_run(published_gold.lake, "site", s)["status"] for s in available_sources()
    } == {s: "ok" for s in available_sources()}
