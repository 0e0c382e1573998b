"""The weather pipeline's done-when flows through the real CLI: ingest from the replay server,
Spark bronze, transform (gates, dbt, write-audit-publish) and `lakehouse sql`.

Nothing is faked except the Open-Meteo API, which the project's replay server stands in for; the
independent check reads the replay server's own HTTP answers with httpx and groups them by local
date with zoneinfo, without any project code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime
from statistics import fmean
from zoneinfo import ZoneInfo

import httpx
import pytest

from lakehouse.contracts import load_contract
from lakehouse.replay import ReplayServer
from lakehouse.replay.faults import Fault

pytestmark = pytest.mark.slow

FIRST_DAY, LAST_DAY = "2025-03-05", "2025-03-11"


def cli(*args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """Run `lakehouse ARGS` in a subprocess with the test's environment (lake, Prefect API)."""
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        check=False,
    )


def sql_json(query: str) -> list[dict]:
    result = cli("sql", query, "--format", "json", timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def independent_daily(base_url: str) -> dict[tuple[str, str], dict]:
    """Daily aggregates per (city, local date) straight from the API's hourly values."""
    contract = load_contract("weather")
    out: dict[tuple[str, str], dict] = {}
    for city in contract.targets:
        reply = httpx.get(
            f"{base_url}/v1/archive",
            params={
                "latitude": city["latitude"],
                "longitude": city["longitude"],
                "start_date": FIRST_DAY,
                "end_date": LAST_DAY,
                "hourly": "temperature_2m,precipitation",
                "timezone": "GMT",
                "timeformat": "iso8601",
            },
            timeout=30,
        )
        reply.raise_for_status()
        hourly = reply.json()["hourly"]
        zone = ZoneInfo(city["timezone"])
        days: dict[date, list[tuple[float, float]]] = defaultdict(list)
        for at, temp, rain in zip(
            hourly["time"], hourly["temperature_2m"], hourly["precipitation"], strict=True
        ):
            utc = datetime.fromisoformat(at).replace(tzinfo=ZoneInfo("UTC"))
            days[utc.astimezone(zone).date()].append((temp, rain))
        for day, values in days.items():
            temps = [t for t, _ in values]
            out[(city["name"], day.isoformat())] = {
                "observation_count": len(values),
                "avg_temperature_c": fmean(temps),
                "min_temperature_c": min(temps),
                "max_temperature_c": max(temps),
                "total_precipitation_mm": sum(r for _, r in values),
            }
    return out


def whole_day_hours(day: str, tz: str) -> int:
    """Hours in a whole local day (23 or 25 on a daylight-saving change)."""
    zone = ZoneInfo(tz)
    start = datetime.fromisoformat(day).replace(tzinfo=zone)
    end = datetime.fromordinal(start.toordinal() + 1).replace(tzinfo=zone)
    return int((end.timestamp() - start.timestamp()) // 3600)


def test_backfill_transform_matches_api_and_bad_run_changes_nothing() -> None:
    contract = load_contract("weather")
    zones = {c["name"]: c["timezone"] for c in contract.targets}

    # ---- clean run: ingest, bronze, transform
    with ReplayServer() as server:
        ingest = cli(
            "ingest",
            "weather",
            "--base-url",
            server.url,
            "--start-date",
            FIRST_DAY,
            "--end-date",
            LAST_DAY,
        )
        assert ingest.returncode == 0, ingest.stderr
        expected = independent_daily(server.url)
    bronze = cli("bronze", "weather")
    assert bronze.returncode == 0, bronze.stderr
    transform = cli("transform")
    assert transform.returncode == 0, transform.stderr

    published = {
        (r["city"], r["local_date"]): r
        for r in sql_json("select * from agg_weather_daily order by city, local_date")
    }
    whole_days = {
        key: value
        for key, value in expected.items()
        if value["observation_count"] == whole_day_hours(key[1], zones[key[0]])
    }
    assert len(whole_days) >= 4 * 6  # 2025-03-05 .. 2025-03-10 local, per city
    for key, want in whole_days.items():
        got = published[key]
        assert got["observation_count"] == want["observation_count"], key
        for column in (
            "avg_temperature_c",
            "min_temperature_c",
            "max_temperature_c",
            "total_precipitation_mm",
        ):
            assert got[column] == pytest.approx(want[column], abs=1e-6), (key, column)
    dst = [v for (_, day), v in published.items() if day == "2025-03-09"]
    assert [r["observation_count"] for r in dst] == [23, 23, 23, 23]
    before = sql_json("select * from agg_weather_daily order by city, local_date")

    # ---- bad run: one city's temperatures all impossible
    with ReplayServer(faults=[Fault("san_diego", "impossible_temperature")]) as server:
        cli(
            "ingest",
            "weather",
            "--base-url",
            server.url,
            "--start-date",
            FIRST_DAY,
            "--end-date",
            LAST_DAY,
        )
    cli("bronze", "weather")  # quarantines; its own exit code is the bronze part's business
    # The published gold stays readable while a bad run is under way.
    assert cli("sql", "select count(*) as n from agg_weather_daily").returncode == 0

    from deltalake import DeltaTable

    from lakehouse.settings import Settings

    lake = Settings(_env_file=None).lake
    rows = DeltaTable(str(lake.quarantine("weather__hourly"))).to_pandas()
    # The quarantine's key is the row's natural key as JSON (its layout is generic).
    city = rows.key.map(lambda k: json.loads(k).get("city_id"))
    bad = rows[(city == "san_diego") & (rows.field == "temperature_2m")]
    assert len(bad) > 0 and bad.reason.str.len().min() > 0

    failed = cli("transform")
    assert failed.returncode == 1
    assert "_gate_run_quarantine_rate" in failed.stderr
    assert sql_json("select * from agg_weather_daily order by city, local_date") == before
