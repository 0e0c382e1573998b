"""`lakehouse sql`: query the published gold (analysts see only data that passed the gates)."""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import typer

from lakehouse.settings import Settings, get_settings

EPILOG = (
    'Examples: lakehouse sql "select * from agg_weather_daily limit 5"  |  '
    'lakehouse sql "select city, avg_temperature_c from agg_weather_city_summary" '
    "--format json  |  "
    'lakehouse sql --engine warehouse "select count(*) from agg_weather_daily"'
)

QueryFn = Callable[[Settings, str], tuple[list[str], list[tuple[Any, ...]]]]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _lake_engine(settings: Settings, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    from lakehouse import gold

    return gold.query(settings, sql)


def _warehouse_engine(settings: Settings, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    from lakehouse.warehouse.query import query as warehouse_query

    return warehouse_query(settings, sql)


# Query engines by name: each takes (settings, sql) and returns (columns, rows), raising an
# exception whose message is the engine's own. More engines (e.g. the warehouse) register here.
ENGINES: dict[str, QueryFn] = {"lake": _lake_engine, "warehouse": _warehouse_engine}


class Engine(StrEnum):
    lake = "lake"
    warehouse = "warehouse"


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("sql", epilog=EPILOG)(sql)


def sql(
    query: Annotated[
        str, typer.Argument(help="SQL to run; mart names resolve unqualified (agg_weather_daily).")
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="table (default), json (an array of row objects) or csv."),
    ] = OutputFormat.table,
    engine: Annotated[
        Engine,
        typer.Option(
            help="lake: DuckDB over the published gold (default); warehouse: the running "
            "PostgreSQL warehouse (lakehouse warehouse start)."
        ),
    ] = Engine.lake,
) -> None:
    """Run QUERY on the published gold and print the result; a bad query prints the engine's
    message and exits 1."""
    settings = get_settings()
    try:
        columns, rows = run_query(settings, query, engine=engine.value)
    except Exception as exc:  # any engine error: its own message, never a traceback
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    write_result(columns, rows, output_format)


def run_query(
    settings: Settings, query: str, engine: str = "lake"
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``query`` on ``engine`` (a key of :data:`ENGINES`)."""
    try:
        fn = ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}") from None
    return fn(settings, query)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, bytes):
        return value.hex()
    return value


def write_result(
    columns: list[str], rows: list[tuple[Any, ...]], output_format: OutputFormat
) -> None:
    """Print rows to stdout in ``output_format``."""
    if output_format is OutputFormat.json:
        records = [{c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        sys.stdout.write(json.dumps(records, default=str) + "\n")
    elif output_format is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_json_value(v) for v in row] for row in rows])
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns) if columns else Table()
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console = Console(width=max(120, Console().width))
        console.print(table)
        Console(stderr=True).print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
