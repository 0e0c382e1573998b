"""`lakehouse status`: collected from real run records and landed objects on a temporary lake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

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
    lines = collect_status(settings.lake, ["weather"])
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
    lines = {line.layer: line for line in collect_status(settings.lake, ["weather"])}
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
    gold = [line for line in json.loads(result.stdout) if line["layer"] == "gold"]
    assert gold[0]["rows"] == 28 and gold[0]["status"] == "ok"
    table = runner.invoke(app, ["status"])
    assert table.exit_code == 0
    assert "freshness lag" in table.output and "weather" in table.output


def test_gates_line_covers_every_gate_of_the_last_transform(settings: Settings) -> None:
    lake = settings.lake
    record_run(lake, "gate", "weather", status="ok", gate="bronze", transform_run_id="t1")
    record_run(lake, "gate", "weather", status="failed", gate="silver", transform_run_id="t1")
    [gates] = [line for line in collect_status(lake, ["weather"]) if line.layer == "gates"]
    assert gates.gate == "failed: silver"
    for layer in ("bronze", "silver", "gold"):
        record_run(lake, "gate", "weather", status="ok", gate=layer, transform_run_id="t2")
    [gates] = [line for line in collect_status(lake, ["weather"]) if line.layer == "gates"]
    assert gates.gate == "passed"
    assert gates.status == "ok"
