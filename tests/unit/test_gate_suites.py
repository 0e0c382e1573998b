"""Gate suites generated from the contract, and the gate runner on small pandas frames.

Nothing is faked: the runner drives Great Expectations' file context under the test's lake.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from expectations import contract_expectations as ce
from expectations.gate import (
    bronze_suites,
    declared_suites,
    run_gate,
    silver_suites,
    suites_for,
)
from lakehouse.contracts import Contract, load_contract
from lakehouse.dbt import StagingModel
from lakehouse.runs import record_run


def _kwargs_by_column(suite, expectation_type: str) -> dict[str, dict]:
    return {
        e.configuration.kwargs["column"]: e.configuration.kwargs
        for e in suite.expectations
        if e.expectation_type == expectation_type
    }


def _bronze_suite(contract: Contract | None = None):
    contracts = {"weather": contract or load_contract("weather")}
    [suite] = bronze_suites(contracts)
    return suite


def test_one_bronze_suite_per_contract_entity_named_after_its_table() -> None:
    names = {s.name for s in suites_for("bronze")}
    assert "bronze.weather__hourly" in names
    assert _bronze_suite().table == "weather__hourly"


def test_bronze_suite_takes_ranges_key_and_allowed_values_from_the_contract() -> None:
    contract = load_contract("weather")
    entity = contract.entity("hourly")
    suite = _bronze_suite().suite()
    between = _kwargs_by_column(suite, "expect_column_values_to_be_between")
    ranged = [f for f in entity.fields if f.range]
    assert len(ranged) >= 12
    for field in ranged:
        assert (between[field.name]["min_value"], between[field.name]["max_value"]) == field.range
    in_set = _kwargs_by_column(suite, "expect_column_values_to_be_in_set")
    assert in_set["city_id"]["value_set"] == [t["id"] for t in contract.targets]
    compound = [
        e
        for e in suite.expectations
        if e.expectation_type == "expect_compound_columns_to_be_unique"
    ]
    assert compound[0].configuration.kwargs["column_list"] == entity.natural_key
    not_null = _kwargs_by_column(suite, "expect_column_values_to_not_be_null")
    assert {f.name for f in entity.fields if f.required} <= set(not_null)


def test_field_with_check_none_is_documentation_only() -> None:
    data = load_contract("weather").model_dump(mode="json", by_alias=True)
    for field in data["entities"]["hourly"]["fields"]:
        if field["name"] == "elevation":
            field["check"] = "none"
    suite = _bronze_suite(Contract.model_validate(data)).suite()
    columns = {e.configuration.kwargs.get("column") for e in suite.expectations}
    assert "elevation" not in columns and "latitude" in columns


def test_quarantine_limit_is_the_contracts_and_freshness_and_continuity_only_warn() -> None:
    entity = load_contract("weather").entity("hourly")
    suite = _bronze_suite().suite()
    by_column = _kwargs_by_column(suite, "expect_column_max_to_be_between")
    assert by_column[ce.RUN_QUARANTINE_RATE]["max_value"] == entity.max_quarantine_rate
    assert by_column[ce.NEWEST_FETCH_AGE_HOURS]["max_value"] == entity.freshness.warn_after_hours
    severities = {e.configuration.kwargs.get("column"): str(e.severity) for e in suite.expectations}
    assert "warning" in severities[ce.NEWEST_FETCH_AGE_HOURS].lower()
    assert "warning" in severities[ce.STEPS_SINCE_PREVIOUS].lower()
    assert "critical" in severities[ce.RUN_QUARANTINE_RATE].lower()


def test_silver_suite_checks_the_renamed_key_and_bronzes_row_count_only() -> None:
    [suite] = silver_suites([StagingModel("stg_weather__hourly", "weather", "hourly")])
    built = suite.suite()
    assert built.name == "silver.stg_weather__hourly"
    compound = [
        e
        for e in built.expectations
        if e.expectation_type == "expect_compound_columns_to_be_unique"
    ]
    assert compound[0].configuration.kwargs["column_list"] == ["location_id", "observed_at"]
    # Ranges are bronze's: silver does not check them again.
    assert not _kwargs_by_column(built, "expect_column_values_to_be_between")
    types = {e.expectation_type for e in built.expectations}
    assert "expect_table_row_count_to_equal" in types


def test_staging_models_are_found_by_name() -> None:
    assert "silver.stg_weather__hourly" in {s.name for s in suites_for("silver")}
    # stg_weather__locations reads no contract entity.
    assert not any("locations" in s.name for s in suites_for("silver"))


def _bronze_frame(hours: int = 30, fetched_at: datetime | None = None) -> pd.DataFrame:
    contract = load_contract("weather")
    entity = contract.entity("hourly")
    start = datetime(2025, 3, 9, 0, tzinfo=UTC)
    fetched_at = fetched_at or datetime.now(UTC)
    rows = []
    for target in contract.targets:
        for h in range(hours):
            row = {"city_id": target["id"], "observed_at": start + timedelta(hours=h)}
            for field in entity.fields:
                if field.range is None:
                    continue
                low, high = field.range
                row[field.name] = int(low) if field.type == "integer" else (low + high) / 2
            row["_fetched_at"] = fetched_at
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture
def gate_lake(settings):
    record_run(settings.lake, "bronze", "weather", status="ok", quarantine_rate=0.0)
    return settings.lake


def _bronze_gate(lake, frame):
    return run_gate(lake, "bronze", {"weather__hourly": frame}, [_bronze_suite()])


def test_clean_bronze_passes_and_writes_data_docs(gate_lake) -> None:
    result = _bronze_gate(gate_lake, _bronze_frame())
    assert result.passed, result.failed
    assert result.warnings == []
    assert result.evaluated >= 30
    assert result.rows_validated == {"weather__hourly": 4 * 30}
    assert result.data_docs.is_file()
    assert len(result.validations) == 1


def test_a_missing_hour_is_a_warning_naming_the_series_and_range(gate_lake) -> None:
    frame = _bronze_frame()
    first_hour = frame.observed_at.min()
    # Partial edges are not gaps ...
    late_start = (frame.city_id == "san_diego") & (
        frame.observed_at < first_hour + timedelta(hours=5)
    )
    frame = frame[~late_start]
    assert _bronze_gate(gate_lake, frame).warnings == []
    # ... and hours missing inside a series are reported, never a block.
    gap = frame[
        ~(
            (frame.city_id == "walnut_creek")
            & frame.observed_at.between(
                first_hour + timedelta(hours=12), first_hour + timedelta(hours=14)
            )
        )
    ]
    result = _bronze_gate(gate_lake, gap)
    assert result.passed, result.failed
    assert result.warnings == [
        "bronze.weather__hourly: gap: city_id=walnut_creek: 3 missing, "
        "2025-03-09T12:00Z..2025-03-09T14:00Z"
    ]
    assert result.gaps == [
        {
            "suite": "bronze.weather__hourly",
            "series": {"city_id": "walnut_creek"},
            "missing": 3,
            "from": "2025-03-09T12:00Z",
            "to": "2025-03-09T14:00Z",
        }
    ]


def test_out_of_range_value_unknown_city_and_duplicate_key_are_named(gate_lake) -> None:
    frame = _bronze_frame()
    frame.loc[0, "temperature_2m"] = 999.9
    frame.loc[1, "city_id"] = "atlantis"
    frame = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)
    result = _bronze_gate(gate_lake, frame)
    assert not result.passed
    assert "bronze.weather__hourly: expect_column_values_to_be_between(column=temperature_2m)" in (
        result.failed
    )
    assert "bronze.weather__hourly: expect_column_values_to_be_in_set(column=city_id)" in (
        result.failed
    )
    assert any("expect_compound_columns_to_be_unique" in name for name in result.failed)


def test_quarantine_rate_above_limit_fails_and_stale_fetch_only_warns(settings) -> None:
    frame = _bronze_frame(fetched_at=datetime(2025, 3, 12, tzinfo=UTC))
    record_run(settings.lake, "bronze", "weather", status="ok", quarantine_rate=0.25)
    result = _bronze_gate(settings.lake, frame)
    max_check = "bronze.weather__hourly: expect_column_max_to_be_between(column={})"
    assert result.failed == [max_check.format(ce.RUN_QUARANTINE_RATE)]
    assert result.warnings == [max_check.format(ce.NEWEST_FETCH_AGE_HOURS)]
    # A backfill of an old range with a healthy run: stale, but it passes.
    record_run(settings.lake, "bronze", "weather", status="ok", quarantine_rate=0.0)
    assert _bronze_gate(settings.lake, frame).passed


def test_unknown_quarantine_rate_does_not_pass(settings) -> None:
    result = _bronze_gate(settings.lake, _bronze_frame())
    assert not result.passed
    assert any(ce.RUN_QUARANTINE_RATE in name for name in result.failed)


def test_nothing_in_scope_runs_no_suite_and_passes(gate_lake) -> None:
    result = run_gate(gate_lake, "bronze", lambda suite: None, [_bronze_suite()])
    assert result.passed and result.evaluated == 0
    assert result.rows_validated == {"weather__hourly": 0}


def test_silver_row_count_must_equal_bronzes(gate_lake) -> None:
    [suite] = silver_suites([StagingModel("stg_weather__hourly", "weather", "hourly")])
    frame = _bronze_frame(hours=3).rename(columns={"city_id": "location_id"})
    ok = run_gate(gate_lake, "silver", lambda s: (frame, {ce.BRONZE_ROWS: len(frame)}), [suite])
    assert ok.passed, ok.failed
    lost = run_gate(
        gate_lake, "silver", lambda s: (frame, {ce.BRONZE_ROWS: len(frame) + 1}), [suite]
    )
    assert lost.failed == ["silver.stg_weather__hourly: expect_table_row_count_to_equal()"]


def test_gold_suites_are_those_declared_with_the_marts(gate_lake) -> None:
    manifest = {
        "nodes": {
            "model.lakehouse.mart_a": {
                "name": "mart_a",
                "resource_type": "model",
                "schema": "gold",
                "config": {
                    "meta": {
                        "gate": {
                            "expectations": [
                                {
                                    "expect_column_values_to_be_between": {
                                        "column": "n",
                                        "min_value": 1,
                                    }
                                }
                            ]
                        }
                    }
                },
                "depends_on": {"nodes": ["source.lakehouse.weather.weather__hourly"]},
            },
            "model.lakehouse.mart_b": {
                "name": "mart_b",
                "resource_type": "model",
                "schema": "gold",
            },
        },
        "sources": {"source.lakehouse.weather.weather__hourly": {"source_name": "weather"}},
    }
    [suite] = declared_suites(manifest)
    assert (suite.name, suite.source) == ("gold.mart_a", "weather")
    result = run_gate(gate_lake, "gold", {"mart_a": pd.DataFrame({"n": [0, 2]})}, [suite])
    assert result.failed == ["gold.mart_a: expect_column_values_to_be_between(column=n)"]
