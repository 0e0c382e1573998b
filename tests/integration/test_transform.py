"""`transform` end to end on a bronze fixture: gates, dbt build (models, data tests, unit tests),
write-audit-publish and analyst SQL, including a failing run that must leave gold untouched.

The bronze table is written with the ``deltalake`` package in the bronze schema (the Spark job's
output); the bronze run record is written as the bronze job writes it. Everything else is real:
dbt-duckdb, Great Expectations, Prefect (the session's test server) and DuckDB.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from typer.testing import CliRunner

from lakehouse import gold
from lakehouse.cli.app import app
from lakehouse.contracts import load_contract
from lakehouse.runs import latest_run, record_run
from lakehouse.settings import Settings

pytestmark = pytest.mark.slow

START = datetime(2025, 3, 5, tzinfo=UTC)
HOURS = 7 * 24  # 2025-03-05 00:00 .. 2025-03-11 23:00 UTC


ARROW_TYPES = {"string": pa.string(), "integer": pa.int32(), "double": pa.float64()}


def measures() -> list:
    return [f for f in load_contract("weather").entity("hourly").fields if f.role == "measure"]


def bronze_schema() -> pa.Schema:
    """The bronze table's schema (docs/architecture.md, "Bronze")."""
    return pa.schema(
        [
            ("city_id", pa.string()),
            ("observed_at", pa.timestamp("us", tz="UTC")),
            ("observed_date", pa.date32()),
            ("latitude", pa.float64()),
            ("longitude", pa.float64()),
            ("elevation", pa.float64()),
            ("utc_offset_seconds", pa.int32()),
            *[(f.name, ARROW_TYPES[f.type]) for f in measures()],
            ("_batch_id", pa.string()),
            ("_landing_path", pa.string()),
            ("_fetched_at", pa.timestamp("us", tz="UTC")),
            ("_ingested_at", pa.timestamp("us", tz="UTC")),
            ("_source_sha256", pa.string()),
        ]
    )


def bronze_rows(ingested_at: datetime) -> list[dict]:
    """Deterministic, in-range hourly values for every contract city."""
    contract = load_contract("weather")
    rows = []
    for ci, city in enumerate(contract.targets):
        for h in range(HOURS):
            at = START + timedelta(hours=h)
            row = {
                "city_id": city["id"],
                "observed_at": at,
                "observed_date": at.date(),
                "latitude": city["latitude"],
                "longitude": city["longitude"],
                "elevation": 10.0 * ci,
                "utc_offset_seconds": 0,
            }
            for f in measures():
                low, high = f.range
                value = low + (high - low) * (0.4 + 0.1 * math.sin(h / 5 + ci))
                row[f.name] = int(value) if f.type == "integer" else round(value, 1)
            row["temperature_2m"] = round(12 + 6 * math.sin(h * math.pi / 12) + ci, 1)
            row["precipitation"] = round(max(0.0, math.sin(h / 7 + ci)) * 2, 1)
            row.update(
                _batch_id="fixture",
                _landing_path="landing/weather/hourly/fixture.json.gz",
                _fetched_at=ingested_at,
                _ingested_at=ingested_at,
                _source_sha256="0" * 64,
            )
            rows.append(row)
    return rows


def write_bronze(lake_root: Path, rows: list[dict]) -> None:
    table = pa.Table.from_pylist(rows, schema=bronze_schema())
    write_deltalake(
        str(lake_root / "bronze" / "weather__hourly"),
        table,
        mode="overwrite",
        partition_by=["observed_date"],
    )


def expected_daily(rows: list[dict]) -> pd.DataFrame:
    """Daily aggregates computed independently of dbt: pandas + zoneinfo."""
    contract = load_contract("weather")
    frame = pd.DataFrame(rows)
    frame["city"] = frame.city_id.map({c["id"]: c["name"] for c in contract.targets})
    zones = {c["id"]: ZoneInfo(c["timezone"]) for c in contract.targets}
    frame["local_date"] = [
        at.astimezone(zones[cid]).date()
        for at, cid in zip(frame.observed_at, frame.city_id, strict=True)
    ]
    return (
        frame.groupby(["city", "local_date"])
        .agg(
            observation_count=("temperature_2m", "size"),
            avg_temperature_c=("temperature_2m", "mean"),
            min_temperature_c=("temperature_2m", "min"),
            max_temperature_c=("temperature_2m", "max"),
            total_precipitation_mm=("precipitation", "sum"),
        )
        .reset_index()
        .sort_values(["city", "local_date"])
        .reset_index(drop=True)
    )


def published_daily(settings: Settings) -> pd.DataFrame:
    columns, rows = gold.query(
        settings, "select * from agg_weather_daily order by city, local_date"
    )
    return pd.DataFrame(rows, columns=columns)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(lake_root=tmp_path_factory.mktemp("transform") / "lake", _env_file=None)


@pytest.fixture(scope="module")
def first_run(lake: Settings) -> tuple[list[dict], dict]:
    from flows.transform import transform

    rows = bronze_rows(datetime(2025, 3, 12, 1, tzinfo=UTC))
    write_bronze(lake.lake.root, rows)
    record_run(
        lake.lake,
        "bronze",
        "weather",
        status="ok",
        rows_valid=len(rows),
        rows_quarantined=0,
        quarantine_rate=0.0,
    )
    return rows, transform(lake_root=str(lake.lake.root))


def test_clean_run_passes_every_gate_and_dbt_test(first_run) -> None:
    _, summary = first_run
    assert summary["status"] == "ok"
    assert {layer: g["passed"] for layer, g in summary["gates"].items()} == {
        "bronze": True,
        "silver": True,
        "gold": True,
    }
    # The stale fetch of this backfill is a warning, not a block.
    assert any("_gate_newest_fetch_age_hours" in w for w in summary["gates"]["bronze"]["warnings"])
    dbt = summary["dbt"]
    assert dbt["silver"]["success"] and dbt["gold"]["success"]
    # dbt build ran the unit tests (local-date logic, DST days) and the data tests.
    assert dbt["silver"]["unit_tests"] == 2
    assert dbt["gold"]["unit_tests"] == 3
    # Ranges are checked once, in bronze; the marts' dbt tests are what the marts can break.
    assert dbt["silver"]["data_tests"] >= 5 and dbt["gold"]["data_tests"] > 15
    gold_gate = summary["gates"]["gold"]
    assert gold_gate["evaluated"] == dbt["gold"]["data_tests"]
    assert gold_gate["passed"] and not gold_gate["failed"]
    assert summary["marts"]["fct_weather_hourly"] == 4 * HOURS
    assert summary["published"] is True


def test_daily_aggregates_match_an_independent_computation(lake, first_run) -> None:
    rows, _ = first_run
    expected = expected_daily(rows)
    actual = published_daily(lake)
    assert list(actual.columns) == [
        "city",
        "local_date",
        "observation_count",
        "avg_temperature_c",
        "min_temperature_c",
        "max_temperature_c",
        "total_precipitation_mm",
    ]
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False, rtol=1e-9)
    dst = actual[actual.local_date == pd.Timestamp("2025-03-09").date()]
    assert sorted(dst.observation_count) == [23, 23, 23, 23]


def test_city_summary_and_dimensions(lake, first_run) -> None:
    _, summary = gold.query(
        lake,
        "select city, first_local_date, last_local_date, day_count, wettest_day_precipitation_mm"
        " from agg_weather_city_summary order by city",
    )
    assert len(summary) == 4
    daily = published_daily(lake)
    for city, first, last, days, wettest in summary:
        mine = daily[daily.city == city]
        assert (first, last, days) == (mine.local_date.min(), mine.local_date.max(), len(mine))
        assert wettest == pytest.approx(mine.total_precipitation_mm.max())
    assert gold.published_marts(lake) == sorted(
        [
            "agg_series_completeness",
            "agg_weather_city_summary",
            "agg_weather_daily",
            "dim_date",
            "dim_location",
            "fct_weather_hourly",
        ]
    )
    assert (lake.lake.docs / "data_docs" / "index.html").is_file()


def test_rerun_with_a_corrected_hour_updates_the_fact_without_duplicates(lake, first_run) -> None:
    from flows.transform import transform

    rows, _ = first_run
    corrected = [dict(r) for r in rows]
    later = datetime(2025, 3, 12, 2, tzinfo=UTC)
    target = next(
        r
        for r in corrected
        if r["city_id"] == "san_diego" and r["observed_at"] == datetime(2025, 3, 9, 12, tzinfo=UTC)
    )
    target.update(temperature_2m=35.5, _fetched_at=later, _ingested_at=later)
    write_bronze(lake.lake.root, corrected)
    summary = transform(lake_root=str(lake.lake.root))
    assert summary["status"] == "ok"
    assert summary["marts"]["fct_weather_hourly"] == 4 * HOURS
    pd.testing.assert_frame_equal(
        published_daily(lake), expected_daily(corrected), check_dtype=False, rtol=1e-9
    )


def test_failed_gate_exits_1_names_expectations_and_keeps_published_gold(
    lake, first_run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(lake.lake.root))
    runner = CliRunner()
    before = runner.invoke(app, ["sql", "select * from agg_weather_daily", "--format", "json"])
    assert before.exit_code == 0
    pointer = gold.pointer_path(lake).read_bytes()

    # A run in which one city of four was quarantined, as bronze records it.
    rows = DeltaTable(str(lake.lake.bronze("weather__hourly"))).to_pandas()
    record_run(
        lake.lake,
        "bronze",
        "weather",
        status="ok",
        rows_valid=len(rows) * 3 // 4,
        rows_quarantined=len(rows) // 4,
        quarantine_rate=0.25,
    )
    result = runner.invoke(app, ["transform"])
    assert result.exit_code == 1, result.output
    assert "_gate_run_quarantine_rate" in result.stderr
    assert "published gold unchanged" in result.stderr

    assert gold.pointer_path(lake).read_bytes() == pointer
    after = runner.invoke(app, ["sql", "select * from agg_weather_daily", "--format", "json"])
    assert json.loads(after.stdout) == json.loads(before.stdout)
    gate = latest_run(lake.lake, "gate", "weather")
    assert gate["status"] == "failed" and gate["layer"] == "bronze"
    assert any("_gate_run_quarantine_rate" in name for name in gate["failed_expectations"])
    transform_record = latest_run(lake.lake, "transform", "weather")
    assert transform_record["status"] == "failed" and transform_record["published"] is False
