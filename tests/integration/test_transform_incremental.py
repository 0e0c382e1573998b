"""An incremental `transform` does only the new data's work and still stops bad data.

After a full first run, bronze gains one new day per city plus revised last hours, as the Spark
job writes them (new ``_ingested_at``). The incremental run must validate only those rows (and,
in bronze, each city's previous hour) yet publish gold identical to a full rebuild over the same
bronze; a bad new row must still fail the gate and leave the published gold unchanged. A run
with nothing new does nothing and exits 0; a gap in history (hours missing between old and new
data, or a backfill days before) is reported, in the gate record, the completeness mart and
`lakehouse status`, and never blocks the publish.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from flows.transform import transform
from lakehouse import gold
from lakehouse.bench.fingerprint import arrow_fingerprint
from lakehouse.cli.app import app
from lakehouse.runs import latest_run, list_runs, record_run
from lakehouse.settings import Settings
from lakehouse.status import collect_status
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
    # Per city: the revised and new hours plus, in bronze, the hour before them (continuity).
    changed = CITIES * (REVISED + NEW)
    assert gates["bronze"]["rows_validated"] == {"weather__hourly": changed + CITIES}
    assert gates["silver"]["rows_validated"] == {"stg_weather__hourly": changed}
    # Gold's checks are the marts' dbt data tests (ranges are bronze's, checked once).
    assert gates["gold"]["evaluated"] == summary["dbt"]["gold"]["data_tests"] > 0
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


def test_a_rerun_with_nothing_new_is_a_quick_no_op_that_exits_0(grown, monkeypatch) -> None:
    settings, _, summary = grown
    pointer = gold.pointer_path(settings).read_bytes()
    gates_before = len(list_runs(settings.lake, "gate", "weather"))
    clock = time.monotonic()
    again = transform(lake_root=str(settings.lake.root))
    assert again["status"] == "skipped", again
    assert "nothing new in bronze" in again["reason"]
    assert again["dbt"] == {} and again["gates"] == {}
    assert time.monotonic() - clock < 30
    # No gate ran, gold is untouched, and the run is recorded as a successful no-op.
    assert len(list_runs(settings.lake, "gate", "weather")) == gates_before
    assert gold.pointer_path(settings).read_bytes() == pointer
    record = latest_run(settings.lake, "transform", "weather")
    assert record["status"] == "ok" and record["noop"] is True
    assert record["rows_published"] == sum(summary["marts"].values())
    # The CLI: exit 0, one line, and status shows gold ok.
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(settings.lake.root))
    result = CliRunner().invoke(app, ["transform"])
    assert result.exit_code == 0, result.output
    assert "transform skipped: nothing new in bronze" in result.stderr
    assert len(result.output.strip().splitlines()) <= 3, result.output
    [line] = [x for x in collect_status(settings, ["weather"]) if x.layer == "gold"]
    assert line.status == "ok"


def test_a_bad_new_row_still_fails_the_gate_and_keeps_gold(grown, monkeypatch) -> None:
    settings, rows, _ = grown
    pointer = gold.pointer_path(settings).read_bytes()
    bad = _grown(rows, datetime(2025, 3, 14, 1, tzinfo=UTC))
    bad[-1]["temperature_2m"] = 999.0
    write_bronze(settings.lake.root, bad)
    _record_bronze(settings, CITIES * (REVISED + NEW))
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(settings.lake.root))
    result = CliRunner().invoke(app, ["transform"])
    assert result.exit_code == 1
    # One line per failed expectation naming suite, expectation and column; no traceback, and
    # dbt's own output is not printed (it is in the lake's dbt log).
    assert (
        "failed: bronze.weather__hourly: expect_column_values_to_be_between(column=temperature_2m)"
        in result.stderr
    )
    assert "Traceback" not in result.output
    assert "\x1b[" not in result.output
    assert "Running with dbt" not in result.output
    record = latest_run(settings.lake, "transform", "weather")
    assert record["status"] == "failed" and record["failed_step"] == "gate:bronze"
    gates = _gate_records(settings, record["transform_run_id"])
    assert gates["bronze"]["rows_validated"]["weather__hourly"] < len(bad)
    assert gold.pointer_path(settings).read_bytes() == pointer
    # Put the good bronze back for the next case.
    write_bronze(settings.lake.root, rows)


def test_a_gap_in_history_is_reported_and_never_blocks(grown) -> None:
    """README's backfill beside recent data: days missing between them. The gap is a warning
    in the gate record naming the series and the range, a row of the completeness mart and a
    status line; gold is published, and a later run (or --full-refresh) is not wedged."""
    settings, rows, _ = grown
    # The new hours start three days after the last old one.
    gapped = _grown(rows, datetime(2025, 3, 15, 1, tzinfo=UTC), skip_hours=72)
    write_bronze(settings.lake.root, gapped)
    _record_bronze(settings, CITIES * (REVISED + NEW))
    summary = transform(lake_root=str(settings.lake.root))
    assert summary["status"] == "ok" and summary["published"], summary
    gate = _gate_records(settings, summary["run_id"])["bronze"]
    assert gate["status"] == "ok"
    assert len(gate["gaps"]) == CITIES
    assert {g["missing"] for g in gate["gaps"]} == {72}
    assert any(
        "gap: city_id=san_diego: 72 missing, 2025-03-13T00:00Z..2025-03-15T23:00Z" in w
        for w in gate["warnings"]
    ), gate["warnings"]
    _, completeness = gold.query(
        settings,
        "select source, entity, series_key, expected_count, present_count, missing_count,"
        " gap_count, largest_gap_missing_count, cast(largest_gap_start_at as varchar),"
        " cast(largest_gap_end_at as varchar) from agg_series_completeness order by series_key",
    )
    assert len(completeness) == CITIES
    for source, entity, _key, expected, present, missing, gaps, largest, start, end in completeness:
        assert (source, entity) == ("weather", "hourly")
        assert (missing, gaps, largest) == (72, 1, 72)
        assert expected == present + missing == HOURS + 2 * NEW + 72
        assert (start, end) == ("2025-03-13 00:00:00", "2025-03-15 23:00:00")
    [line] = [x for x in collect_status(settings, ["weather"]) if x.layer == "completeness"]
    assert line.status == "warning"
    assert line.detail.startswith("4 of 4 series miss 288 steps: ")
    # Not wedged: a full refresh over the same bronze publishes too.
    again = transform(lake_root=str(settings.lake.root), full_refresh=True)
    assert again["status"] == "ok" and again["published"]
    write_bronze(settings.lake.root, rows)
