"""The landing -> bronze Spark job on hand-made landing objects, in one local Spark session.

Objects are landed with the real :func:`lakehouse.landing.land_response` (Open-Meteo bodies built
below); the job runs on a real local Delta session. The one injected fault is a crash between the
bronze MERGE and the ledger write (the ledger append raises once), standing in for a job killed
at that point.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakehouse.contracts import load_contract
from lakehouse.lake import Lake
from lakehouse.landing import land_response
from lakehouse.runs import latest_run

pytestmark = pytest.mark.slow

FIELDS = [f.name for f in load_contract("weather").entity("hourly").fields]
FETCH_1 = datetime(2025, 3, 9, 6, 0, tzinfo=UTC)
FETCH_2 = FETCH_1 + timedelta(hours=6)


def hourly_body(
    city: str,
    start: str,
    hours: int,
    *,
    bump: float = 0.0,
    offset_s: int = 0,
    edit: Callable[[dict[str, list]], None] | None = None,
) -> dict[str, Any]:
    """An Open-Meteo archive body: valid, deterministic values per city and hour."""
    t0 = datetime.fromisoformat(start)
    times = [(t0 + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M") for h in range(hours)]
    seed = sum(map(ord, city)) % 10
    hourly: dict[str, list] = {"time": times}
    base = {"pressure_msl": 1013.0, "temperature_2m": 10.0 + seed}
    for name in FIELDS:
        if name == "weather_code":
            hourly[name] = [3] * hours
        else:
            hourly[name] = [base.get(name, 40.0) + bump + h / 10 for h in range(hours)]
    if edit:
        edit(hourly)
    return {
        "latitude": 37.76,
        "longitude": -122.42,
        "generationtime_ms": 0.2,
        "utc_offset_seconds": offset_s,
        "timezone": "GMT",
        "timezone_abbreviation": "GMT",
        "elevation": 12.0,
        "hourly_units": {"time": "iso8601"},
        "hourly": hourly,
    }


def land(
    lake: Lake, city: str, body: dict | bytes, fetched_at: datetime, batch: str, status: int = 200
) -> Path:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return land_response(
        lake,
        source="weather",
        entity="hourly",
        key=city,
        method="GET",
        url="http://replay.invalid/v1/archive",
        params={"timezone": "GMT"},
        http_status=status,
        content_type="application/json",
        body=raw,
        batch_id=batch,
        fetched_at=fetched_at,
    ).path


def log_versions(lake: Lake) -> dict[str, int]:
    """Number of commits of each Delta table of the job (bronze, quarantine, ledger)."""
    tables = {
        "bronze": lake.bronze("weather__hourly"),
        "quarantine": lake.quarantine("weather__hourly"),
        "ledger": lake.state / "bronze" / "weather__hourly" / "processed_objects",
    }
    return {k: len(list((p / "_delta_log").glob("*.json"))) for k, p in tables.items()}


@pytest.fixture(scope="module")
def scenario(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two batches with overlap, faults, a no-op run and a crash + re-run; results per step."""
    from spark import ledger
    from spark.landing_to_bronze import BronzeJobError, run

    lake = Lake(tmp_path_factory.mktemp("bronze") / "lake")
    out: dict[str, Any] = {"lake": lake}

    # Batch 1: 03-05..06 for three cities, and a fourth whose body is cut short.
    land(lake, "san_francisco", hourly_body("san_francisco", "2025-03-05T00:00", 48), FETCH_1, "b1")
    land(lake, "walnut_creek", hourly_body("walnut_creek", "2025-03-05T00:00", 48), FETCH_1, "b1")

    def faults(h: dict[str, list]) -> None:
        h["temperature_2m"][5] = 999.9  # outside the contract's [-90, 60]
        h["weather_code"][6] = "drizzle"  # wrong type
        h["pressure_msl"] = h["pressure_msl"][:-1]  # array one short: last hour misses a value
        h["cloud_cover"][8] = None  # required value null

    land(
        lake,
        "san_diego",
        hourly_body("san_diego", "2025-03-05T00:00", 48, edit=faults),
        FETCH_1,
        "b1",
    )
    whole = json.dumps(hourly_body("santa_barbara", "2025-03-05T00:00", 48)).encode()
    land(lake, "santa_barbara", whole[: len(whole) // 2], FETCH_1, "b1")
    land(lake, "santa_barbara", b'{"error": true, "reason": "busy"}', FETCH_1, "b1", status=503)
    out["run1"] = run(spark, lake, "weather", "hourly")
    out["versions1"] = log_versions(lake)

    out["run2"] = run(spark, lake, "weather", "hourly")  # nothing new
    out["versions2"] = log_versions(lake)

    # Batch 2, fetched later: overlaps 03-06 (newer values must win), adds 03-07; a late copy of
    # an old fetch (older fetched_at) must not overwrite; a body in UTC+1 lands on UTC hours.
    land(
        lake,
        "san_francisco",
        hourly_body("san_francisco", "2025-03-06T00:00", 48, bump=5.0),
        FETCH_2,
        "b2",
    )
    land(
        lake,
        "walnut_creek",
        hourly_body("walnut_creek", "2025-03-06T00:00", 24, bump=-7.0),
        FETCH_1 - timedelta(days=1),
        "b0-late",
    )
    land(
        lake,
        "santa_barbara",
        hourly_body("santa_barbara", "2025-03-07T01:00", 24, offset_s=3600),
        FETCH_2,
        "b2",
    )

    real_record = ledger.record_processed

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed between MERGE and ledger")

    ledger.record_processed = crash
    try:
        with pytest.raises(BronzeJobError, match="killed between MERGE and ledger"):
            run(spark, lake, "weather", "hourly")
    finally:
        ledger.record_processed = real_record
    out["after_crash"] = _snapshot(spark, lake)
    out["crash_record"] = latest_run(lake, "bronze", "weather")
    out["run4"] = run(spark, lake, "weather", "hourly")
    out["final"] = _snapshot(spark, lake)
    return out


def _snapshot(spark: Any, lake: Lake) -> dict[str, list]:
    def rows(path: Path) -> list:
        frame = spark.read.format("delta").load(str(path))
        return sorted(tuple(r) for r in frame.drop("_ingested_at").collect())

    return {
        "bronze": rows(lake.bronze("weather__hourly")),
        "quarantine": rows(lake.quarantine("weather__hourly")),
    }


def _bronze(spark: Any, lake: Lake):  # noqa: ANN202
    return spark.read.format("delta").load(str(lake.bronze("weather__hourly")))


def _quarantine(spark: Any, lake: Lake) -> list[dict[str, Any]]:
    """Rejects, with ``city_id`` read from the generic ``key`` column (the natural key as JSON)."""
    frame = spark.read.format("delta").load(str(lake.quarantine("weather__hourly")))
    return [{**r.asDict(), "city_id": json.loads(r.key)["city_id"]} for r in frame.collect()]


def test_first_run_counts(scenario: dict[str, Any]) -> None:
    r = scenario["run1"]
    assert r.status == "ok"
    assert r.objects_processed == 5
    # 3 x 48 candidate rows, 4 of san_diego rejected; 2 object-level rejects (truncated, 503).
    assert r.rows_valid == 140
    assert r.rows_quarantined == 6
    assert r.rows_read == 146
    assert r.quarantine_rate == pytest.approx(6 / 146, abs=1e-6)
    assert r.rows_inserted == 140 and r.rows_updated == 0
    assert r.batch_ids == ["b1"]
    assert r.delta_version_before is None and r.delta_version_after == 0


def test_rejects_have_reasons_and_good_rows_of_the_object_flow(
    spark: Any, scenario: dict[str, Any]
) -> None:
    lake = scenario["lake"]
    rejects = _quarantine(spark, lake)
    reasons = {(q["city_id"], q["field"]): q for q in rejects}
    assert reasons[("san_diego", "temperature_2m")]["reason"] == (
        "temperature_2m=999.9 outside [-90.0, 60.0]"
    )
    assert reasons[("san_diego", "temperature_2m")]["raw_value"] == "999.9"
    assert reasons[("san_diego", "weather_code")]["reason"] == (
        "weather_code=drizzle is not a valid integer"
    )
    assert reasons[("san_diego", "pressure_msl")]["reason"] == (
        "missing required field pressure_msl"
    )
    assert reasons[("san_diego", "cloud_cover")]["reason"] == "missing required field cloud_cover"
    truncated = reasons[("santa_barbara", "body")]
    assert truncated["reason"].startswith("unparseable body: not valid JSON")
    assert truncated["observed_at"] is None and truncated["record"].startswith('{"latitude"')
    assert reasons[("santa_barbara", "envelope.transport.status")]["reason"] == (
        "http_status 503 is not 2xx"
    )
    for q in rejects:
        assert q["_batch_id"] == "b1" and q["_landing_path"].endswith(".json.gz")
        assert q["_source_sha256"] and q["_fetched_at"] is not None
    row = next(q for q in rejects if q["field"] == "temperature_2m")
    assert row["observed_at"] == datetime(2025, 3, 5, 5, 0)
    assert json.loads(row["record"])["temperature_2m"] == "999.9"
    # The other 44 hours of san_diego's object are in bronze.
    assert _bronze(spark, lake).where("city_id = 'san_diego'").count() == 44


def test_run_with_nothing_new_commits_nothing(scenario: dict[str, Any]) -> None:
    r = scenario["run2"]
    assert r.status == "ok" and r.objects_processed == 0 and r.objects_seen == 5
    assert r.delta_version_before == r.delta_version_after == 0
    assert r.rows_read == 0 and r.rows_written == 0
    assert scenario["versions2"] == scenario["versions1"]


def test_crash_is_recorded_and_rerun_converges(scenario: dict[str, Any]) -> None:
    crash = scenario["crash_record"]
    assert crash["status"] == "failed" and "killed between MERGE and ledger" in crash["error"]
    assert scenario["final"] == scenario["after_crash"]
    r4 = scenario["run4"]
    assert r4.status == "ok" and r4.objects_processed == 3
    assert r4.rows_inserted == 0 and r4.rows_updated == 0  # the crashed run already merged


def test_latest_fetch_wins_one_row_per_key(spark: Any, scenario: dict[str, Any]) -> None:
    from pyspark.sql import functions as F

    bronze = _bronze(spark, scenario["lake"])
    assert bronze.groupBy("city_id", "observed_at").count().where("count > 1").count() == 0
    # san_francisco: 03-05..07 (72 h); 03-06 came again in batch 2 with +5.
    sf = bronze.where("city_id = 'san_francisco'")
    assert sf.count() == 72
    seed = sum(map(ord, "san_francisco")) % 10
    at = sf.where(F.col("observed_at") == datetime(2025, 3, 6, 2, 0)).first()
    assert at.temperature_2m == pytest.approx(10.0 + seed + 5.0 + 0.2)
    assert at._batch_id == "b2" and at._fetched_at == FETCH_2.replace(tzinfo=None)
    # walnut_creek: the late copy of an older fetch did not overwrite 03-06.
    wc = bronze.where("city_id = 'walnut_creek'")
    assert wc.count() == 48 and set(r._batch_id for r in wc.collect()) == {"b1"}


def test_utc_offset_is_honoured(spark: Any, scenario: dict[str, Any]) -> None:
    sb = _bronze(spark, scenario["lake"]).where("city_id = 'santa_barbara'")
    hours = sorted(r.observed_at for r in sb.collect())
    # Wall time 03-07T01:00 at UTC+1 is 00:00 UTC.
    assert hours[0] == datetime(2025, 3, 7, 0, 0) and len(hours) == 24
    assert {r.observed_date.isoformat() for r in sb.collect()} == {"2025-03-07"}
    assert {r.utc_offset_seconds for r in sb.collect()} == {3600}


def test_tables_open_with_deltalake(scenario: dict[str, Any]) -> None:
    from deltalake import DeltaTable

    lake = scenario["lake"]
    bronze = DeltaTable(str(lake.bronze("weather__hourly")))
    assert bronze.metadata().partition_columns == ["observed_date"]
    table = bronze.to_pyarrow_table()
    assert table.num_rows == len(scenario["final"]["bronze"])
    assert str(table.schema.field("observed_at").type).startswith("timestamp[us")
    quarantine = DeltaTable(str(lake.quarantine("weather__hourly"))).to_pyarrow_table()
    assert quarantine.num_rows == len(scenario["final"]["quarantine"]) == 6


def test_run_record_has_the_gate_keys(scenario: dict[str, Any]) -> None:
    record = latest_run(scenario["lake"], "bronze", "weather")
    assert record["status"] == "ok"
    for key in ("rows_quarantined", "rows_valid", "quarantine_rate", "objects_processed"):
        assert key in record
    # The record is the last run's (the re-run after the crash), keys as the job reports them.
    assert record["run_id"] == scenario["run4"].run_id
    assert record["rows_valid"] == scenario["run4"].rows_valid == 96
    assert record["batch_ids"] == ["b0-late", "b2"]


def test_altered_object_is_quarantined(spark: Any, tmp_path: Path) -> None:
    """A landed object edited afterwards (body no longer matches its sha256) is rejected."""
    from spark.landing_to_bronze import run

    lake = Lake(tmp_path / "lake")
    path = land(lake, "san_diego", hourly_body("san_diego", "2025-03-05T00:00", 2), FETCH_1, "b9")
    document = json.loads(gzip.decompress(path.read_bytes()))
    document["body"] = document["body"].replace('"elevation": 12.0', '"elevation": 13.0')
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    result = run(spark, lake, "weather", "hourly")
    assert result.rows_valid == 0 and result.rows_quarantined == 1
    (reject,) = _quarantine(spark, lake)
    assert reject["field"] == "envelope.sha256" and "sha256" in reject["reason"]
    assert result.delta_version_after is None  # nothing valid: no bronze table yet


def test_corrupt_and_empty_objects_are_quarantined_and_good_ones_load(
    spark: Any, tmp_path: Path
) -> None:
    """Issue 16.3: a landing object that is not gzip, or is empty, no longer fails the load."""
    from spark.landing_to_bronze import run

    lake = Lake(tmp_path / "lake")
    good = land(lake, "san_diego", hourly_body("san_diego", "2025-03-05T00:00", 24), FETCH_1, "b1")
    (good.parent / "20250309T060001000000Z_corrupt.json.gz").write_bytes(b"<html>502</html>")
    (good.parent / "20250309T060002000000Z_empty.json.gz").write_bytes(b"")
    cut = gzip.compress(json.dumps({"envelope": {}, "body": "x" * 5000}).encode())
    (good.parent / "20250309T060003000000Z_cut.json.gz").write_bytes(cut[: len(cut) // 2])
    land(lake, "san_francisco", hourly_body("san_francisco", "2025-03-05T00:00", 24), FETCH_1, "b1")

    result = run(spark, lake, "weather", "hourly")
    assert result.status == "ok" and result.objects_processed == 5
    assert result.rows_valid == 48 and result.rows_quarantined == 3
    rejects = {Path(q["_landing_path"]).name.split("_")[1]: q for q in _quarantine(spark, lake)}
    assert rejects["corrupt.json.gz"]["reason"].startswith("unreadable landing object: not gzip")
    assert rejects["empty.json.gz"]["reason"] == "empty landing object (0 bytes)"
    assert rejects["cut.json.gz"]["reason"].startswith("unreadable landing object: not gzip")
    assert {q["field"] for q in rejects.values()} == {"object"}
    assert _bronze(spark, lake).count() == 48
    # The bad objects are in the ledger: a re-run does not read them again.
    assert run(spark, lake, "weather", "hourly").objects_processed == 0


def test_objects_in_the_old_envelope_still_load(spark: Any, tmp_path: Path) -> None:
    """Objects landed before `transport` (top-level http_status and request) load as before."""
    import hashlib

    from spark.landing_to_bronze import run

    lake = Lake(tmp_path / "lake")
    folder = lake.landing("weather", "hourly") / "fetch_date=2025-03-09"
    folder.mkdir(parents=True)
    for city, status in (("san_diego", 200), ("walnut_creek", 500)):
        body = json.dumps(hourly_body(city, "2025-03-05T00:00", 3))
        envelope = {
            "source": "weather",
            "entity": "hourly",
            "key": city,
            "request": {"method": "GET", "url": "http://replay.invalid/v1/archive", "params": {}},
            "http_status": status,
            "content_type": "application/json",
            "fetched_at": "2025-03-09T06:00:00Z",
            "batch_id": "old",
            "sha256": hashlib.sha256(body.encode()).hexdigest(),
            "body_bytes": len(body),
        }
        document = json.dumps({"envelope": envelope, "body": body}).encode()
        (folder / f"20250309T060000000000Z_{city}_0123456789abcdef.json.gz").write_bytes(
            gzip.compress(document)
        )
    result = run(spark, lake, "weather", "hourly")
    assert result.rows_valid == 3 and result.rows_quarantined == 1
    (reject,) = _quarantine(spark, lake)
    assert reject["city_id"] == "walnut_creek" and reject["field"] == "envelope.http_status"
    assert reject["reason"] == "http_status 500 is not 2xx"
