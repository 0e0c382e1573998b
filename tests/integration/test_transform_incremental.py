"""An incremental `transform` does only the new data's work and still stops bad data.

After a full first run, bronze gains one new day per city plus revised last hours, as the Spark
job writes them (new ``_ingested_at``). The incremental run must validate only those rows (and
each city's previous hour) yet publish gold identical to a full rebuild over the same bronze;
a bad new row or a missing hour between old and new data must still fail the gate and leave the
published gold unchanged.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from flows.transform import TransformFailed, transform
from lakehouse import gold
from lakehouse.bench.fingerprint import arrow_fingerprint
from lakehouse.runs import list_runs, record_run
from lakehouse.settings import Settings
from tests.integration.test_transform import HOURS, bronze_rows, write_bronze

pytestmark = pytest.mark.slow

CITIES = 4
REVISED = 3  # last hours of the first load that come back revised
NEW = 24  # new hours per city


def _record_bronze(settings: Settings, rows: int) -> None:
    record_run(
        settings.lake,
        "bronze",
        "weather",
        status="ok",
        rows_valid=rows,
        rows_quarantined=0,
        quarantine_rate=0.0,
    )


def _grown(rows: list[dict], ingested_at: datetime, skip_hours: int = 0) -> list[dict]:
    """``rows`` with the last hours revised and NEW later hours, ingested at ``ingested_at``."""
    by_city: dict[str, list[dict]] = {}
    for row in rows:
        by_city.setdefault(row["city_id"], []).append(dict(row))
    out = []
    for city_rows in by_city.values():
        city_rows.sort(key=lambda r: r["observed_at"])
        for row in city_rows[-REVISED:]:
            row.update(
                temperature_2m=row["temperature_2m"] + 0.5,
                _fetched_at=ingested_at,
                _ingested_at=ingested_at,
            )
        last = city_rows[-1]
        for h in range(1, NEW + 1):
            at = last["observed_at"] + timedelta(hours=h + skip_hours)
            city_rows.append(
                {
                    **last,
                    "observed_at": at,
                    "observed_date": at.date(),
                    "temperature_2m": round(10 + 0.1 * h, 1),
                    "_fetched_at": ingested_at,
                    "_ingested_at": ingested_at,
                }
            )
        out.extend(city_rows)
    return out


def _gate_records(settings: Settings, run_id: str) -> dict[str, dict]:
    return {
        r["gate"]: r
        for r in list_runs(settings.lake, "gate", "weather")
        if r["transform_run_id"] == run_id
    }


def _marts(settings: Settings) -> dict[str, dict]:
    # The benchmark's notion of identical: content hashes, doubles at 10 significant digits
    # (sums of doubles depend on the order rows are added in).
    return {name: arrow_fingerprint(table) for name, table in gold.read_marts(settings).items()}


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[dict], dict]:
    """A lake after a full first run and an incremental run over one new day."""
    settings = Settings(lake_root=tmp_path_factory.mktemp("incremental") / "lake", _env_file=None)
    rows = bronze_rows(datetime(2025, 3, 12, 1, tzinfo=UTC))
    write_bronze(settings.lake.root, rows)
    _record_bronze(settings, len(rows))
    assert transform(lake_root=str(settings.lake.root))["status"] == "ok"

    rows = _grown(rows, datetime(2025, 3, 13, 1, tzinfo=UTC))
    write_bronze(settings.lake.root, rows)
    _record_bronze(settings, CITIES * (REVISED + NEW))
    return settings, rows, transform(lake_root=str(settings.lake.root))


def test_incremental_run_validates_only_the_new_rows(grown) -> None:
    settings, rows, summary = grown
    assert summary["status"] == "ok", summary
    gates = _gate_records(settings, summary["run_id"])
    assert set(gates) == {"bronze", "silver", "gold"}
    assert all(g["scope"].startswith("rows ingested after") for g in gates.values())
    # Per city: the revised and new hours plus the hour before them (continuity).
    changed = CITIES * (REVISED + NEW + 1)
    assert gates["bronze"]["rows_validated"] == {"weather__hourly": changed}
    assert gates["silver"]["rows_validated"] == {"stg_weather__hourly": changed}
    assert gates["gold"]["rows_validated"]["fct_weather_hourly"] == changed
    assert (
        gates["gold"]["rows_validated"]["agg_weather_daily"] < summary["marts"]["agg_weather_daily"]
    )
    assert summary["marts"]["fct_weather_hourly"] == len(rows) == CITIES * (HOURS + NEW)


def test_incremental_gold_equals_a_full_rebuild(grown, tmp_path) -> None:
    settings, _, _ = grown
    rebuilt = Settings(lake_root=tmp_path / "lake", _env_file=None)
    shutil.copytree(settings.lake.bronze("weather__hourly"), rebuilt.lake.bronze("weather__hourly"))
    _record_bronze(rebuilt, 1)
    summary = transform(lake_root=str(rebuilt.lake.root), full_refresh=True)
    gates = _gate_records(rebuilt, summary["run_id"])
    assert all(g["scope"] == "all rows" for g in gates.values())
    assert _marts(rebuilt) == _marts(settings)


@pytest.mark.parametrize("fault", ["out_of_range", "missing_hour"])
def test_a_bad_new_row_still_fails_the_gate_and_keeps_gold(grown, fault) -> None:
    settings, rows, _ = grown
    pointer = gold.pointer_path(settings).read_bytes()
    ingested_at = datetime(2025, 3, 14, 1, tzinfo=UTC) + timedelta(hours=len(fault))
    if fault == "out_of_range":
        bad = _grown(rows, ingested_at)
        bad[-1]["temperature_2m"] = 999.0
    else:
        # The new hours start two hours after the last old one: one hour is missing between.
        bad = _grown(rows, ingested_at, skip_hours=1)
    write_bronze(settings.lake.root, bad)
    _record_bronze(settings, CITIES * (REVISED + NEW))
    with pytest.raises(TransformFailed) as failed:
        transform(lake_root=str(settings.lake.root))
    summary = failed.value.summary
    assert summary.failed_step == "gate:bronze"
    expected = "temperature_2m" if fault == "out_of_range" else "_gate_hours_since_previous"
    assert any(expected in name for name in summary.failed_expectations), summary
    gates = _gate_records(settings, summary.run_id)
    assert gates["bronze"]["rows_validated"]["weather__hourly"] < len(bad)
    assert gold.pointer_path(settings).read_bytes() == pointer
    # Put the good bronze back for the next case.
    write_bronze(settings.lake.root, rows)
