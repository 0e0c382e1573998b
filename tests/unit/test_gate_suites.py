"""Gate suites generated from the contract, and the gate runner on small pandas frames.

Nothing is faked: the runner drives Great Expectations' file context under the test's lake.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from expectations import contract_expectations as ce
from expectations.bronze import weather__hourly as bronze_suite
from expectations.gate import run_gate
from expectations.gold import agg_weather_daily as daily_suite
from expectations.silver import stg_weather__hourly as silver_suite
from lakehouse.contracts import load_contract
from lakehouse.runs import record_run


def _kwargs_by_column(suite, expectation_type: str) -> dict[str, dict]:
    return {
        e.configuration.kwargs["column"]: e.configuration.kwargs
        for e in suite.expectations
        if e.expectation_type == expectation_type
    }


def test_bronze_suite_takes_every_range_from_the_contract() -> None:
    entity = load_contract("weather").entity("hourly")
    suite = bronze_suite.suite()
    between = _kwargs_by_column(suite, "expect_column_values_to_be_between")
    assert suite.name == "bronze.weather__hourly"
    for field in entity.fields:
        assert between[field.name]["min_value"] == field.range[0]
        assert between[field.name]["max_value"] == field.range[1]


def test_silver_suite_uses_silver_column_names_and_the_natural_key() -> None:
    entity = load_contract("weather").entity("hourly")
    suite = silver_suite.suite()
    between = _kwargs_by_column(suite, "expect_column_values_to_be_between")
    assert suite.name == "silver.stg_weather__hourly"
    assert {f.column for f in entity.fields} <= set(between)
    assert not {f.name for f in entity.fields if f.name != f.column} & set(between)
    compound = [
        e
        for e in suite.expectations
        if e.expectation_type == "expect_compound_columns_to_be_unique"
    ]
    assert compound[0].configuration.kwargs["column_list"] == ["location_id", "observed_at"]


def test_quarantine_limit_is_the_contracts_and_freshness_only_warns() -> None:
    entity = load_contract("weather").entity("hourly")
    suite = bronze_suite.suite()
    by_column = _kwargs_by_column(suite, "expect_column_max_to_be_between")
    assert by_column[ce.RUN_QUARANTINE_RATE]["max_value"] == entity.max_quarantine_rate
    assert by_column[ce.NEWEST_FETCH_AGE_HOURS]["max_value"] == entity.freshness.warn_after_hours
    severities = {e.configuration.kwargs.get("column"): str(e.severity) for e in suite.expectations}
    assert "warning" in severities[ce.NEWEST_FETCH_AGE_HOURS].lower()
    assert "critical" in severities[ce.RUN_QUARANTINE_RATE].lower()


def test_gold_daily_suite_allows_25_hours_and_no_more() -> None:
    suite = daily_suite.suite()
    between = _kwargs_by_column(suite, "expect_column_values_to_be_between")
    assert between["observation_count"]["max_value"] == 25


def _bronze_frame(hours: int = 30, fetched_at: datetime | None = None) -> pd.DataFrame:
    contract = load_contract("weather")
    entity = contract.entity("hourly")
    start = datetime(2025, 3, 9, 0, tzinfo=UTC)
    fetched_at = fetched_at or datetime.now(UTC)
    rows = []
    for city in contract.cities:
        for h in range(hours):
            row = {"city_id": city.id, "observed_at": start + timedelta(hours=h)}
            for field in entity.fields:
                low, high = field.range
                row[field.name] = int(low) if field.type == "integer" else (low + high) / 2
            row["_fetched_at"] = fetched_at
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture
def gate_lake(settings):
    record_run(settings.lake, "bronze", "weather", status="ok", quarantine_rate=0.0)
    return settings.lake


def test_clean_bronze_passes_and_writes_data_docs(gate_lake) -> None:
    result = run_gate(gate_lake, "bronze", {"weather__hourly": _bronze_frame()})
    assert result.passed, result.failed
    assert result.warnings == []
    assert result.evaluated >= 30
    assert result.data_docs.is_file()


def test_missing_hour_inside_a_series_fails_but_partial_edges_do_not(gate_lake) -> None:
    frame = _bronze_frame()
    # The series may start and end anywhere (partial local days) ...
    first_hour = frame.observed_at.min()
    late_start = (frame.city_id == "san_diego") & (
        frame.observed_at < first_hour + timedelta(hours=5)
    )
    early_end = (frame.city_id == "san_francisco") & (
        frame.observed_at > first_hour + timedelta(hours=20)
    )
    frame = frame[~(late_start | early_end)]
    assert run_gate(gate_lake, "bronze", {"weather__hourly": frame}).passed
    # ... but an hour missing between a city's first and last hour fails the gate.
    gap = frame[
        ~(
            (frame.city_id == "walnut_creek")
            & (frame.observed_at == first_hour + timedelta(hours=12))
        )
    ]
    result = run_gate(gate_lake, "bronze", {"weather__hourly": gap})
    assert not result.passed
    gap_check = f"expect_column_values_to_be_between(column={ce.HOURS_SINCE_PREVIOUS})"
    assert result.failed == [f"bronze.weather__hourly: {gap_check}"]


def test_out_of_range_value_and_duplicate_key_are_named(gate_lake) -> None:
    frame = _bronze_frame()
    frame.loc[0, "temperature_2m"] = 999.9
    frame = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)
    result = run_gate(gate_lake, "bronze", {"weather__hourly": frame})
    assert not result.passed
    assert "bronze.weather__hourly: expect_column_values_to_be_between(column=temperature_2m)" in (
        result.failed
    )
    assert any("expect_compound_columns_to_be_unique" in name for name in result.failed)


def test_quarantine_rate_above_limit_fails_and_stale_fetch_only_warns(settings) -> None:
    frame = _bronze_frame(fetched_at=datetime(2025, 3, 12, tzinfo=UTC))
    record_run(settings.lake, "bronze", "weather", status="ok", quarantine_rate=0.25)
    result = run_gate(settings.lake, "bronze", {"weather__hourly": frame})
    max_check = "bronze.weather__hourly: expect_column_max_to_be_between(column={})"
    assert result.failed == [max_check.format(ce.RUN_QUARANTINE_RATE)]
    assert result.warnings == [max_check.format(ce.NEWEST_FETCH_AGE_HOURS)]
    # A backfill of an old range with a healthy run: stale, but it passes.
    record_run(settings.lake, "bronze", "weather", status="ok", quarantine_rate=0.0)
    assert run_gate(settings.lake, "bronze", {"weather__hourly": frame}).passed


def test_unknown_quarantine_rate_does_not_pass(settings) -> None:
    result = run_gate(settings.lake, "bronze", {"weather__hourly": _bronze_frame()})
    assert not result.passed
    assert any(ce.RUN_QUARANTINE_RATE in name for name in result.failed)
