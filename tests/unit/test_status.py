"""`lakehouse status`: collected from real run records and landed objects on a temporary lake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from lakehouse.cli.app import app
from lakehouse.landing import land_response
from lakehouse.runs import record_run
from lakehouse.settings import Settings
from lakehouse.status import collect_status, format_lag, source_freshness


def _land(settings: Settings, fetched_at: datetime, body: bytes = b'{"hourly": {}}') -> None:
    land_response(
        settings.lake,
        source="weather",
        entity="hourly",
        key="san_francisco",
        method="GET",
        url="http://replay/v1/forecast",
        params={},
        http_status=200,
        content_type="application/json",
        body=body,
        batch_id="b1",
        fetched_at=fetched_at,
    )


def test_never_run_lake_says_so(settings: Settings) -> None:
    lines = collect_status(settings, ["weather"])
    assert [line.layer for line in lines] == ["landing", "bronze", "gates", "gold", "site"]
    assert {line.status for line in lines} == {"never run"}
    assert lines[0].freshness_lag == "no data"


def test_records_and_landing_fill_each_layer(settings: Settings) -> None:
    now = datetime.now(UTC)
    _land(settings, now - timedelta(hours=3), b"old")
    _land(settings, now - timedelta(minutes=5), b"new")
    record_run(settings.lake, "ingest", "weather", status="ok", rows_landed=8)
    record_run(settings.lake, "bronze", "weather", status="ok", rows_written=384)
    record_run(
        settings.lake, "gate", "weather", status="failed", gates={"bronze": True, "silver": False}
    )
    lines = {line.layer: line for line in collect_status(settings, ["weather"])}
    assert lines["landing"].rows == 8
    assert lines["landing"].freshness_lag.startswith("5m")
    assert lines["bronze"].rows == 384
    assert lines["gates"].gate == "failed: silver"
    assert lines["gates"].status == "failed"
    assert lines["gold"].status == "never run"


def test_freshness_is_stale_past_the_contract_limit(settings: Settings) -> None:
    now = datetime.now(UTC)
    _land(settings, now - timedelta(days=3))
    freshness = source_freshness(settings.lake, "weather", now)
    assert freshness.stale
    assert freshness.describe() == "3d0h (stale)"


def test_format_lag() -> None:
    assert format_lag(0) == "0s"
    assert format_lag(95) == "1m35s"
    assert format_lag(3 * 3600 + 60) == "3h01m"
    assert format_lag(90000) == "1d1h"


def test_cli_json_and_table(settings: Settings) -> None:
    record_run(settings.lake, "transform", "weather", status="ok", rows_published=28)
    runner = CliRunner()
    result = runner.invoke(app, ["status", "--format", "json"])
    assert result.exit_code == 0, result.output
    gold = [
        line
        for line in json.loads(result.stdout)
        if line["layer"] == "gold" and line["source"] == "weather"
    ]
    assert gold[0]["rows"] == 28 and gold[0]["status"] == "ok"
    # Wide enough that no header wraps whatever the number of sources (a pipe is 80 columns).
    table = runner.invoke(app, ["status"], env={"COLUMNS": "160"})
    assert table.exit_code == 0
    assert "freshness lag" in table.output and "weather" in table.output


def test_gates_line_covers_every_gate_of_the_last_transform(settings: Settings) -> None:
    lake = settings.lake
    record_run(lake, "gate", "weather", status="ok", gate="bronze", transform_run_id="t1")
    record_run(lake, "gate", "weather", status="failed", gate="silver", transform_run_id="t1")
    [gates] = [line for line in collect_status(settings, ["weather"]) if line.layer == "gates"]
    assert gates.gate == "failed: silver"
    for layer in ("bronze", "silver", "gold"):
        record_run(lake, "gate", "weather", status="ok", gate=layer, transform_run_id="t2")
    [gates] = [line for line in collect_status(settings, ["weather"]) if line.layer == "gates"]
    assert gates.gate == "passed"
    assert gates.status == "ok"


def _publish_completeness(settings: Settings, rows: list[tuple]) -> None:
    """Publish a gold build holding only agg_series_completeness (as the transform would)."""
    import duckdb

    from lakehouse import gold

    source_db = settings.lake.catalog / "fixture.duckdb"
    source_db.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(source_db)) as con:
        con.execute("create schema gold")
        con.execute(
            "create table gold.agg_series_completeness (source varchar, entity varchar,"
            " series_key_columns varchar, series_key varchar, cadence varchar,"
            " first_event_at timestamp, last_event_at timestamp, expected_count integer,"
            " present_count integer, missing_count integer, gap_count integer,"
            " largest_gap_start_at timestamp, largest_gap_end_at timestamp,"
            " largest_gap_missing_count integer)"
        )
        con.executemany(
            "insert into gold.agg_series_completeness values"
            " (?, 'hourly', 'location_id', ?, 'hour', '2025-03-05', '2025-03-20', ?, ?, ?, ?,"
            " ?, ?, ?)",
            rows,
        )
    build = gold.stage_build(settings, source_db, "gold", ["agg_series_completeness"], "b1")
    gold.publish_build(settings, build)


def test_gaps_in_published_series_are_a_warning_line_per_source(settings: Settings) -> None:
    assert "completeness" not in {x.layer for x in collect_status(settings, ["weather"])}
    _publish_completeness(
        settings,
        [
            ("weather", "san_diego", 361, 289, 72, 1, "2025-03-12 00:00", "2025-03-14 23:00", 72),
            ("weather", "walnut_creek", 361, 361, 0, 0, None, None, None),
        ],
    )
    [line] = [x for x in collect_status(settings, ["weather"]) if x.layer == "completeness"]
    assert line.status == "warning" and line.rows == 72
    assert line.detail == (
        "1 of 2 series miss 72 steps: san_diego 72 (largest 2025-03-12 00:00..2025-03-14 23:00)"
    )
    table = CliRunner().invoke(app, ["status"])
    assert table.exit_code == 0
    assert "warning (weather completeness): 1 of 2 series miss 72 steps" in table.output


def test_gap_free_series_add_no_line(settings: Settings) -> None:
    _publish_completeness(settings, [("weather", "san_diego", 361, 361, 0, 0, None, None, None)])
    assert "completeness" not in {x.layer for x in collect_status(settings, ["weather"])}


def test_status_reads_the_gold_of_a_lake_with_a_bucket_per_layer(
    aws_env: str, tmp_path: Path
) -> None:
    """Status reads gold through the run's own settings: with a bucket per layer (the aws
    profile) the published pointer is in the work folder, which settings rebuilt from the lake
    root alone would miss."""
    import uuid

    import boto3

    suffix = uuid.uuid4().hex[:8]
    buckets = {layer: f"status-{layer}-{suffix}" for layer in ("landing", "bronze", "gold")}
    s3 = boto3.client("s3")
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket)
    settings = Settings(
        profile="aws",
        env=f"t{suffix}",
        lake_root=tmp_path / "lake",
        work_dir=tmp_path / "work",
        buckets=buckets,
        aws_region="us-east-1",
        _env_file=None,
    )
    assert not settings.lake.is_local
    _publish_completeness(
        settings,
        [("weather", "san_diego", 361, 289, 72, 1, "2025-03-12 00:00", "2025-03-14 23:00", 72)],
    )
    record_run(settings.lake, "bronze", "weather", status="ok", rows_written=384)
    lines = {x.layer: x for x in collect_status(settings, ["weather"])}
    assert lines["bronze"].rows == 384
    assert lines["completeness"].rows == 72
    assert lines["completeness"].detail.startswith("1 of 1 series miss 72 steps")
