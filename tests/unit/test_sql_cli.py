"""`lakehouse sql` is one read-only statement on the published gold, printed verbatim.

Real DuckDB files on the test's lake; the warehouse engine's statement counting is checked here
without a server (tests/integration/test_warehouse_server.py runs it on PostgreSQL).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from lakehouse import gold
from lakehouse.cli.app import app
from lakehouse.cli.sql import format_float
from lakehouse.warehouse import query as warehouse_query

WIDE_TEXT = "w" * 400


def _publish(settings) -> None:
    """Publish a build whose values would trip a careless printer."""
    source = settings.lake.catalog / "dbt_build.duckdb"
    source.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(source)) as con:
        con.execute("create schema if not exists gold")
        con.execute(
            "create table gold.agg_weather_daily as select * from (values "
            "('San Diego', date '2025-03-09', 14.600000000000001::double, '[bold]x[/bold]'),"
            "('Walnut Creek', date '2025-03-10', 0.1::double + 0.2::double, '[/x]')) "
            "as t(city, local_date, avg_temperature_c, note)"
        )
        wide = ", ".join(f"'value_{i:02d}' as column_{i:02d}" for i in range(30))
        con.execute(f"create table gold.wide as select {wide}, '{WIDE_TEXT}' as long_text")
    build = gold.stage_build(settings, source, "gold", ["agg_weather_daily", "wide"], "b1")
    gold.publish_build(settings, build)


def _sql(*args: str):
    return CliRunner().invoke(app, ["sql", *args])


def _one_error_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    assert result.stdout == ""
    return lines[0]


def test_copy_to_a_file_is_refused_and_writes_nothing(settings, tmp_path: Path) -> None:
    _publish(settings)
    target = tmp_path / "x.csv"
    for statement in (
        f"copy agg_weather_daily to '{target}'",
        f"export database '{tmp_path / 'export'}'",
    ):
        result = _sql(statement)
        assert result.exit_code == 1, result.output
        _one_error_line(result)
    assert not target.exists()
    assert not (tmp_path / "export").exists()


def test_other_files_cannot_be_read_or_attached(settings, tmp_path: Path) -> None:
    _publish(settings)
    secret = tmp_path / "secret.csv"
    secret.write_text("secret\nhunter2\n", encoding="utf-8")
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    for statement in (
        f"select * from read_csv('{secret}')",
        f"select * from '{secret}'",
        f"attach '{other}' as other",
        "install httpfs",
        "set enable_external_access = true",
    ):
        result = _sql(statement)
        assert result.exit_code == 1, (statement, result.output)
        assert "hunter2" not in result.output
        _one_error_line(result)


def test_the_published_connection_itself_has_no_external_access(settings, tmp_path) -> None:
    _publish(settings)
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n", encoding="utf-8")
    with gold.connect_published(settings) as con, pytest.raises(duckdb.PermissionException):
        con.execute(f"select * from read_csv('{secret}')")


def test_non_query_statements_are_refused(settings) -> None:
    _publish(settings)
    for statement in ("create temp table t as select 1", "set threads = 1", "begin"):
        result = _sql(statement)
        assert result.exit_code == 1, (statement, result.output)
        assert "only queries" in _one_error_line(result)


@pytest.mark.parametrize(
    "statement",
    ["select 1; select 2", "select 1;\nselect 2;", "select ';' as a; copy x to 'y'"],
)
def test_several_statements_are_a_usage_error(settings, statement: str) -> None:
    _publish(settings)
    result = _sql(statement)
    assert result.exit_code == 2, result.output
    assert "one statement at a time" in _one_error_line(result)


@pytest.mark.parametrize("statement", ["", "   ", " ; ;", "-- nothing\n", "/* nothing */"])
def test_an_empty_query_is_a_usage_error(settings, statement: str) -> None:
    _publish(settings)
    for engine in ("lake", "warehouse"):  # counted before any engine is reached
        result = _sql("--engine", engine, "--", statement)
        assert result.exit_code == 2, (engine, result.output)
        assert "empty" in _one_error_line(result)


def test_queries_in_their_usual_forms_still_run(settings) -> None:
    _publish(settings)
    for statement in (
        "select city from agg_weather_daily order by city;",
        "with d as (select * from agg_weather_daily) select city from d",
        "from agg_weather_daily select city",
        "describe agg_weather_daily",
        "select ';' as semicolon  -- a comment; with a semicolon",
    ):
        result = _sql(statement, "--format", "json")
        assert result.exit_code == 0, (statement, result.output)
        assert json.loads(result.stdout), statement


def test_values_and_names_print_verbatim_not_as_markup(settings) -> None:
    _publish(settings)
    result = _sql("select note, '[red]' as \"[b]name[/b]\" from agg_weather_daily order by city")
    assert result.exit_code == 0, result.output
    for text in ("[bold]x[/bold]", "[/x]", "[red]", "[b]name[/b]"):
        assert text in result.stdout, text
    crash = _sql("select '[/x]' as v")
    assert crash.exit_code == 0, crash.output
    assert "[/x]" in crash.stdout


def test_wide_results_are_not_cut(settings) -> None:
    _publish(settings)
    result = _sql("select * from wide")
    assert result.exit_code == 0, result.output
    for i in range(30):
        assert f"column_{i:02d}" in result.stdout
        assert f"value_{i:02d}" in result.stdout
    assert WIDE_TEXT in result.stdout
    assert "…" not in result.stdout


def test_floats_print_as_people_read_them_in_the_table_and_exactly_in_json(settings) -> None:
    _publish(settings)
    query = "select city, avg_temperature_c from agg_weather_daily order by city"
    table = _sql(query)
    assert table.exit_code == 0, table.output
    assert "14.6 " in table.stdout and "0.3 " in table.stdout
    assert "14.600000000000001" not in table.stdout
    assert "0.30000000000000004" not in table.stdout
    rows = json.loads(_sql(query, "--format", "json").stdout)
    assert [r["avg_temperature_c"] for r in rows] == [14.600000000000001, 0.1 + 0.2]


def test_format_float() -> None:
    assert format_float(14.600000000000001) == "14.6"
    assert format_float(0.1 + 0.2) == "0.3"
    assert format_float(1 / 3) == "0.333333333333"
    assert format_float(-2.5) == "-2.5"
    assert format_float(1e300) == "1e+300"
    assert format_float(float("nan")) == "nan"


def test_engine_errors_are_one_line(settings) -> None:
    _publish(settings)
    result = _sql("select * from nope")
    assert result.exit_code == 1
    assert "Table with name nope does not exist" in _one_error_line(result)
    syntax = _sql("select from from where")
    assert syntax.exit_code == 1
    _one_error_line(syntax)


def test_gold_query_is_one_statement_too(settings) -> None:
    _publish(settings)
    with pytest.raises(gold.NotOneStatement):
        gold.query(settings, "select 1; select 2")
    with pytest.raises(gold.NotOneStatement):
        gold.query(settings, " ")
    assert gold.query(settings, "select 42 as n;") == (["n"], [(42,)])


@pytest.mark.parametrize(
    ("statement", "count"),
    [
        ("select 1", 1),
        ("select 1;", 1),
        ("select 1; select 2", 2),
        ("select ';'", 1),
        ('select 1 as "a;b"', 1),
        ("select $$a;b$$", 1),
        ("select $tag$ ; $tag$", 1),
        ("/* ; */ select 1 -- ;", 1),
        ("", 0),
        (" ;; -- only a comment", 0),
        ("select 1; delete from agg_weather_daily", 2),
    ],
)
def test_warehouse_statement_count(statement: str, count: int) -> None:
    assert warehouse_query.count_statements(statement) == count


def test_warehouse_several_statements_are_refused_before_connecting(settings) -> None:
    # No server runs: the statement count alone decides, so the error is about the SQL.
    with pytest.raises(warehouse_query.NotOneStatement, match="one statement at a time"):
        warehouse_query.run_query(settings, "select 1; select 2")
    result = _sql("--engine", "warehouse", "select 1; delete from agg_weather_daily")
    assert result.exit_code == 2, result.output
    assert "one statement at a time" in _one_error_line(result)
