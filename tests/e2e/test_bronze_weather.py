"""`lakehouse ingest weather` then `lakehouse bronze weather`, the issue's done-when, end to end.

Nothing is faked but the Open-Meteo API, which the project's ``ReplayServer`` stands in for
(with its truncate and out_of_range faults). Both commands run as subprocesses, as a user runs
them (each bronze run starts its own local Spark), reporting to the session's Prefect server.
The tables are read back with this module's one Spark session and with ``deltalake``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lakehouse.lake import Lake
from lakehouse.replay import Fault, ReplayServer
from lakehouse.runs import latest_run
from lakehouse.settings import Settings

pytestmark = pytest.mark.slow

CITIES = 4


def lakehouse(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `lakehouse ARGS` with the test's environment (lake, Prefect API); cwd is tmp."""
    result = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def ingest(server: ReplayServer, first: str, last: str) -> None:
    result = lakehouse(
        "ingest", "weather", "--base-url", server.url, "--start-date", first, "--end-date", last
    )
    assert result.returncode == 0, result.stderr


def bronze() -> str:
    """`lakehouse bronze weather`; returns its stderr (progress lines and the summary)."""
    result = lakehouse("bronze", "weather")
    assert result.returncode == 0, result.stderr
    # Spark stays quiet: no log4j lines (default layout "yy/MM/dd HH:mm:ss LEVEL"), no Ivy
    # report, no progress bars, no "Setting default log level".
    assert not re.search(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d [A-Z]+ ", result.stderr, re.M)
    for noise in (":: resolving", "Ivy Default Cache", "[Stage ", "Setting default log level"):
        assert noise not in result.stderr, result.stderr
    return result.stderr


def bronze_rows(spark: Any, lake: Lake) -> Any:
    return spark.read.format("delta").load(str(lake.bronze("weather__hourly")))


def test_overlapping_ingests_give_one_row_per_city_and_hour(spark: Any, settings: Settings):
    from deltalake import DeltaTable

    lake = settings.lake
    with ReplayServer() as server:
        ingest(server, "2025-03-05", "2025-03-08")
        ingest(server, "2025-03-07", "2025-03-11")

    first = bronze()
    assert "weather bronze" in first and "672" in first
    run = latest_run(lake, "bronze", "weather")
    assert run["status"] == "ok" and run["rows_quarantined"] == 0
    assert run["rows_in_table"] == CITIES * 7 * 24 == 672
    version = run["delta_version_after"]

    frame = bronze_rows(spark, lake)
    assert frame.count() == 672
    assert frame.select("city_id", "observed_at").distinct().count() == 672
    days = {r.observed_date.isoformat() for r in frame.select("observed_date").distinct().collect()}
    assert days == {f"2025-03-{d:02d}" for d in range(5, 12)}

    # Nothing new: no Spark session is started (issue 16.6). With no Java on the PATH and
    # JAVA_HOME pointing nowhere, any Spark start would fail; the re-run must not need one.
    no_java = os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if not (Path(d) / "java").exists()
    )
    result = lakehouse("bronze", "weather", env={"PATH": no_java, "JAVA_HOME": "/nonexistent"})
    assert result.returncode == 0, result.stderr
    assert "nothing committed" in result.stderr + result.stdout
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

    assert "rows quarantined" in bronze()
    run = latest_run(lake, "bronze", "weather")
    assert run["rows_quarantined"] == 2
    # The rest of the batch: two clean cities and 47 of san_diego's 48 hours.
    assert run["rows_valid"] == 2 * 48 + 47 == bronze_rows(spark, lake).count()
    assert run["quarantine_rate"] == pytest.approx(2 / 145, abs=1e-6)

    quarantine = spark.read.format("delta").load(str(lake.quarantine("weather__hourly")))
    # The quarantine names the natural key as JSON text (`key`), for every source alike.
    rejects = {json.loads(r.key)["city_id"]: r for r in quarantine.collect()}
    assert set(rejects) == {"santa_barbara", "san_diego"}
    assert rejects["santa_barbara"].reason.startswith("unparseable body: not valid JSON")
    assert rejects["san_diego"].reason == "temperature_2m=999.9 outside [-90.0, 60.0]"
    assert rejects["san_diego"].observed_at is not None
    batch = run["batch_ids"]
    assert len(batch) == 1 and {r._batch_id for r in rejects.values()} == set(batch)
    assert bronze_rows(spark, lake).where("city_id = 'santa_barbara'").count() == 0
