"""Write-audit-publish of gold: staging a build, the atomic pointer swap, readers and `lakehouse
sql`. Real DuckDB files on the test's lake; nothing is faked."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from lakehouse import gold
from lakehouse.cli.app import app


def _dbt_database(path: Path, temperature: float) -> Path:
    """A stand-in for dbt's build database: schema gold with two marts."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists gold")
        con.execute(
            "create or replace table gold.agg_weather_daily as select * from (values "
            f"('San Diego', date '2025-03-09', 23, {temperature}),"
            f"('Walnut Creek', date '2025-03-09', 23, {temperature - 1})) "
            "as t(city, local_date, observation_count, avg_temperature_c)"
        )
        con.execute(
            "create or replace table gold.dim_location as "
            "select 'san_diego' as location_id, 'San Diego' as city"
        )
    return path


MARTS = ["agg_weather_daily", "dim_location"]


def _publish(settings, temperature: float, build_id: str) -> gold.Build:
    source = _dbt_database(settings.lake.catalog / "dbt_build.duckdb", temperature)
    build = gold.stage_build(settings, source, "gold", MARTS, build_id)
    gold.publish_build(settings, build)
    return build


def test_nothing_published_is_a_clear_error(settings) -> None:
    with pytest.raises(gold.NoPublishedGold, match="lakehouse transform"):
        gold.query(settings, "select 1")


def test_staged_build_is_invisible_until_published(settings) -> None:
    _publish(settings, 15.0, "b1")
    source = _dbt_database(settings.lake.catalog / "dbt_build.duckdb", 30.0)
    staged = gold.stage_build(settings, source, "gold", MARTS, "b2")
    assert staged.rows == {"agg_weather_daily": 2, "dim_location": 1}

    # The audit reads the staged build; analysts still see b1.
    with gold.open_build(staged) as con:
        assert con.execute("select max(avg_temperature_c) from agg_weather_daily").fetchone() == (
            30.0,
        )
    assert gold.query(settings, "select max(avg_temperature_c) from agg_weather_daily")[1] == [
        (15.0,)
    ]

    gold.publish_build(settings, staged)
    assert gold.published_pointer(settings)["build_id"] == "b2"
    assert gold.query(settings, "select max(avg_temperature_c) from agg_weather_daily")[1] == [
        (30.0,)
    ]


def test_discarded_build_leaves_published_gold_untouched(settings) -> None:
    _publish(settings, 15.0, "b1")
    before = gold.query(settings, "select * from agg_weather_daily order by city")
    pointer = gold.pointer_path(settings).read_bytes()
    source = _dbt_database(settings.lake.catalog / "dbt_build.duckdb", 99.0)
    failed = gold.stage_build(settings, source, "gold", MARTS, "b2")
    gold.discard_build(failed)
    assert not failed.path.exists()
    assert gold.pointer_path(settings).read_bytes() == pointer
    assert gold.query(settings, "select * from agg_weather_daily order by city") == before


def test_old_builds_are_pruned_but_never_the_published_one(settings) -> None:
    for n in range(1, 6):
        _publish(settings, float(n), f"b{n}")
    builds = sorted(p.name for p in (settings.lake.layer("gold") / gold.BUILDS_DIR).iterdir())
    assert builds == ["b3", "b4", "b5"]
    assert gold.published_pointer(settings)["build_id"] == "b5"


def test_readers_see_unqualified_marts_and_arrow_tables(settings) -> None:
    _publish(settings, 15.0, "b1")
    assert gold.published_marts(settings) == MARTS
    table = gold.read_mart(settings, "agg_weather_daily")
    assert table.num_rows == 2
    assert table.column_names == ["city", "local_date", "observation_count", "avg_temperature_c"]
    assert set(gold.read_marts(settings)) == set(MARTS)
    with pytest.raises(gold.GoldError, match="no published mart"):
        gold.read_mart(settings, "nope")
    with gold.connect_published(settings) as con, pytest.raises(duckdb.Error):
        con.execute("create table x as select 1")  # analysts' connection is read-only


def test_bad_query_raises_the_engines_message(settings) -> None:
    _publish(settings, 15.0, "b1")
    with pytest.raises(gold.QueryError, match="nope"):
        gold.query(settings, "select * from nope")


def test_sql_cli_json_prints_only_an_array_of_row_objects(settings) -> None:
    _publish(settings, 15.0, "b1")
    result = CliRunner().invoke(
        app,
        ["sql", "select city, local_date from agg_weather_daily order by city", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"city": "San Diego", "local_date": "2025-03-09"},
        {"city": "Walnut Creek", "local_date": "2025-03-09"},
    ]


def test_sql_cli_csv_and_table(settings) -> None:
    _publish(settings, 15.0, "b1")
    runner = CliRunner()
    csv_out = runner.invoke(app, ["sql", "select city from dim_location", "--format", "csv"])
    assert csv_out.stdout == "city\nSan Diego\n"
    table_out = runner.invoke(app, ["sql", "select city from dim_location"])
    assert table_out.exit_code == 0
    assert "San Diego" in table_out.stdout


def test_sql_cli_bad_query_gets_the_engine_message_not_a_traceback(settings) -> None:
    _publish(settings, 15.0, "b1")
    result = CliRunner().invoke(app, ["sql", "select * from nope"])
    assert result.exit_code == 1
    assert "Table with name nope does not exist" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_marts_declare_their_warehouse_indexes_in_dbt_meta():
    from lakehouse.warehouse.publish import declared_indexes
    from lakehouse.warehouse.server import WarehouseError

    def node(name: str, meta: dict, schema: str = "gold") -> dict:
        return {"resource_type": "model", "name": name, "schema": schema, "meta": meta}

    indexes = [["arrival_year", "arrival_month"], ["port_code", "arrival_year"]]
    manifest = {
        "nodes": {
            "model.lakehouse.fct_a": node("fct_a", {"warehouse": {"indexes": indexes}}),
            "model.lakehouse.dim_b": node("dim_b", {}),
            "model.lakehouse.stg_c": node("stg_c", {"warehouse": {"indexes": [["x"]]}}, "silver"),
        }
    }
    assert declared_indexes(manifest) == {"fct_a": indexes}
    assert declared_indexes({}) == {}
    bad = {"nodes": {"m": node("fct_a", {"warehouse": {"indexes": ["arrival_year"]}})}}
    with pytest.raises(WarehouseError, match="must be a list of column lists"):
        declared_indexes(bad)
