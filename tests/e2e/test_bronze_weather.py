"""`lakehouse ingest weather` then `lakehouse bronze weather`, the issue's done-when, end to end.

Nothing is faked but the Open-Meteo API, which the project's ``ReplayServer`` stands in for
(with its truncate and out_of_range faults). Both commands run in-process through Typer's runner
so every bronze run reuses this module's one Spark session; the flows report to the session's
Prefect server. The bronze table is read back with Spark and with the ``deltalake`` package.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from lakehouse.lake import Lake
from lakehouse.replay import Fault, ReplayServer
from lakehouse.runs import latest_run
from lakehouse.settings import Settings

pytestmark = pytest.mark.slow

CITIES = 4


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local Delta session for the module; the CLI's flow picks it up (getOrCreate)."""
    from spark.session import get_session

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TZ", "UTC")  # PySpark hands timestamps to Python in the process's zone
        time.tzset()
        yield get_session(Settings(_env_file=None), "test-bronze-e2e")
    time.tzset()


def lakehouse(*args: str) -> Any:
    from lakehouse.cli.app import app

    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def ingest(server: ReplayServer, first: str, last: str) -> None:
    result = lakehouse(
        "ingest", "weather", "--base-url", server.url, "--start-date", first, "--end-date", last
    )
    assert result.exit_code == 0, result.output


def bronze_rows(spark: Any, lake: Lake) -> Any:
    return spark.read.format("delta").load(str(lake.bronze("weather__hourly")))


def test_overlapping_ingests_give_one_row_per_city_and_hour(spark: Any, settings: Settings):
    from deltalake import DeltaTable

    lake = settings.lake
    with ReplayServer() as server:
        ingest(server, "2025-03-05", "2025-03-08")
        ingest(server, "2025-03-07", "2025-03-11")

    first = lakehouse("bronze", "weather")
    assert first.exit_code == 0, first.output
    assert "weather bronze" in first.output and "672" in first.output
    run = latest_run(lake, "bronze", "weather")
    assert run["status"] == "ok" and run["rows_quarantined"] == 0
    assert run["rows_in_table"] == CITIES * 7 * 24 == 672
    version = run["delta_version_after"]

    frame = bronze_rows(spark, lake)
    assert frame.count() == 672
    assert frame.select("city_id", "observed_at").distinct().count() == 672
    days = {r.observed_date.isoformat() for r in frame.select("observed_date").distinct().collect()}
    assert days == {f"2025-03-{d:02d}" for d in range(5, 12)}

    again = lakehouse("bronze", "weather")
    assert again.exit_code == 0, again.output
    assert "nothing committed" in again.output
    rerun = latest_run(lake, "bronze", "weather")
    assert rerun["objects_processed"] == 0
    assert rerun["delta_version_before"] == rerun["delta_version_after"] == version

    table = DeltaTable(str(lake.bronze("weather__hourly")))
    assert table.version() == version
    assert table.to_pyarrow_table().num_rows == 672


def test_truncated_body_and_out_of_range_value_are_quarantined(spark: Any, settings: Settings):
    lake = settings.lake
    faults = [Fault("santa_barbara", "truncate", 1), Fault("san_diego", "out_of_range", 1)]
    with ReplayServer(faults=faults) as server:
        ingest(server, "2025-03-05", "2025-03-06")

    result = lakehouse("bronze", "weather")
    assert result.exit_code == 0, result.output
    run = latest_run(lake, "bronze", "weather")
    assert run["rows_quarantined"] == 2
    # The rest of the batch: two clean cities and 47 of san_diego's 48 hours.
    assert run["rows_valid"] == 2 * 48 + 47 == bronze_rows(spark, lake).count()
    assert run["quarantine_rate"] == pytest.approx(2 / 145, abs=1e-6)

    quarantine = spark.read.format("delta").load(str(lake.quarantine("weather__hourly")))
    rejects = {r.city_id: r for r in quarantine.collect()}
    assert set(rejects) == {"santa_barbara", "san_diego"}
    assert rejects["santa_barbara"].reason.startswith("unparseable body: not valid JSON")
    assert rejects["san_diego"].reason == "temperature_2m=999.9 outside [-90.0, 60.0]"
    assert rejects["san_diego"].observed_at is not None
    batch = run["batch_ids"]
    assert len(batch) == 1 and {r._batch_id for r in rejects.values()} == set(batch)
    assert bronze_rows(spark, lake).where("city_id = 'santa_barbara'").count() == 0
