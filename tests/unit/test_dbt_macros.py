"""The dbt project's macros and the run_dbt helper, run by real dbt-core on DuckDB.

Each test invokes dbt programmatically (a few seconds of parsing each); no bronze is needed
because only inline SQL is compiled or shown.
"""

from __future__ import annotations

import pytest

from lakehouse.contracts import load_contract
from lakehouse.dbt import DbtError, contract_vars, dbt_env, run_dbt


def test_contract_reaches_dbt_as_vars_and_lake_root_is_absolute(settings) -> None:
    weather = contract_vars()["weather"]
    contract = load_contract("weather")
    items = weather["source"]["targets"]["items"]
    assert [t["id"] for t in items] == [t["id"] for t in contract.targets]
    assert weather["entities"]["hourly"]["fields"][0]["column"] == "location_id"
    env = dbt_env(settings)
    assert env["LAKEHOUSE_LAKE_ROOT"] == str(settings.lake_root.resolve())
    assert env["DO_NOT_TRACK"] == "1"


def test_to_local_timestamp_follows_daylight_saving_on_duckdb(settings) -> None:
    cases = {
        # UTC hour -> Los Angeles wall clock, around the 2025-03-09 spring-forward change
        "2025-03-09 09:00:00": "2025-03-09 01:00:00",
        "2025-03-09 10:00:00": "2025-03-09 03:00:00",
        "2025-03-10 06:00:00": "2025-03-09 23:00:00",
        "2025-03-10 07:00:00": "2025-03-10 00:00:00",
    }
    selects = " union all ".join(
        f"select '{utc}' as utc, cast({{{{ to_local_timestamp(\"timestamp '{utc}'\", "
        f"\"'America/Los_Angeles'\") }}}} as varchar) as local_time"
        for utc in cases
    )
    result = run_dbt(settings, ["show", "--inline", selects, "--limit", "10"])
    assert result.success, result.failures
    table = result.raw.result.results[0].agate_table
    shown = {row["utc"]: row["local_time"] for row in table}
    assert shown == cases


def test_staging_columns_measures_and_targets_are_rendered_from_the_contract(settings) -> None:
    contract = load_contract("weather")
    entity = contract.entity("hourly")
    result = run_dbt(
        settings,
        [
            "compile",
            "--inline",
            "select {{ contract_field_columns('weather', 'hourly') }},"
            " '{{ contract_measures('weather', 'hourly') | join(',') }}' as measures"
            " from bronze_rows union all {{ contract_targets('weather') }}",
        ],
    )
    assert result.success, result.failures
    sql = result.raw.result.results[0].node.compiled_code
    # Every field, the key and the location context included, under its silver name.
    for field in entity.fields:
        assert f'cast("{field.name}" as' in sql
        assert f"as {field.silver_column}" in sql
    assert 'cast("city_id" as' in sql and "as location_id" in sql
    assert 'cast("elevation" as double)\n            as elevation_m' in sql
    measures = [f.silver_column for f in entity.fields if f.role == "measure"]
    assert f"'{','.join(measures)}' as measures" in sql
    assert "latitude" not in measures
    for target in contract.targets:
        assert f"'{target['name']}'" in sql and f"'{target['timezone']}'" in sql


def test_dbt_without_the_contract_says_how_to_run_it(settings) -> None:
    # Without its contract a source's models are disabled, so the project still parses ...
    assert run_dbt(settings, ["parse"], extra_vars={"contracts": {"other": {}}}).success
    # ... and SQL that reads a contract that was not passed says how to run dbt.
    with pytest.raises(DbtError, match="run dbt through `lakehouse transform`"):
        run_dbt(
            settings,
            ["compile", "--inline", 'select \'{{ contract("weather")["name"] }}\' as n'],
            extra_vars={"contracts": {"other": {}}},
        )


def test_date_days_spans_the_range_inclusive_past_trinos_sequence_cap(settings) -> None:
    # 1940-01-01..2030-12-31 is 33,238 days: more than Trino's sequence() allows, and a leap-day
    # rich span, so a short or off-by-one spine would show in the count.
    spine = "{{ date_days(\"date '1940-01-01'\", \"date '2030-12-31'\") }}"
    query = (
        "select count(*) as days, count(distinct date_day) as distinct_days,"
        " cast(min(date_day) as varchar) as first_day, cast(max(date_day) as varchar) as last_day,"
        " sum(case when date_day = date '2024-02-29' then 1 else 0 end) as leap_days"
        f" from ({spine}) as spine"
    )
    result = run_dbt(settings, ["show", "--inline", query, "--limit", "1"])
    assert result.success, result.failures
    row = result.raw.result.results[0].agate_table[0]
    assert (row["days"], row["distinct_days"]) == (33238, 33238)
    assert (row["first_day"], row["last_day"], row["leap_days"]) == ("1940-01-01", "2030-12-31", 1)
