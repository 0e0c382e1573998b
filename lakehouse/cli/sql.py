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
    'Examples: lakehouse sql "show tables"  |  '
    'lakehouse sql "select * from <mart> limit 5" --format json  |  '
    'lakehouse sql --engine warehouse "select count(*) from <mart>"'
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
        str, typer.Argument(help="SQL to run; mart names resolve unqualified (dim_date).")
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
    """Run one read-only QUERY on the published gold and print the result verbatim.

    QUERY is a single statement; the lake engine opens the published build read-only with no
    access to other files, the warehouse runs it in a READ ONLY transaction. A query the engine
    rejects prints one line on stderr and exits 1; an empty QUERY or several statements exit 2.
    """
    settings = get_settings()
    try:
        columns, rows = run_query(settings, query, engine=engine.value)
    except Exception as exc:  # any engine error: its own message, never a traceback
        typer.echo(f"error: {one_line(str(exc)) or type(exc).__name__}", err=True)
        raise typer.Exit(2 if getattr(exc, "usage", False) else 1) from None
    write_result(columns, rows, output_format)


def one_line(message: str) -> str:
    """An engine message on one line: its lines joined, without the echo of the query
    (DuckDB's and PostgreSQL's ``LINE 1: ...`` and the caret under it)."""
    kept = []
    for line in message.splitlines():
        if line.lstrip().startswith("LINE "):
            break
        if line.strip():
            kept.append(line.strip())
    return " ".join(kept)


def run_query(
    settings: Settings, query: str, engine: str = "lake"
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``query`` on ``engine`` (a key of :data:`ENGINES`)."""
    try:
        fn = ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}") from None
    return fn(settings, query)


def format_float(value: float) -> str:
    """A float as people read it in the table: the shortest text that round-trips after
    rounding to 12 significant digits, so an average's 14.600000000000001 prints 14.6.

    JSON and CSV keep the exact value (Python's shortest round-trip ``repr``): they are read by
    programs, which may compare them with another engine's result.
    """
    if math.isnan(value) or math.isinf(value):
        return repr(value)
    return repr(float(f"{value:.12g}"))


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


def _cell(value: Any) -> str:
    """Table text of one value, verbatim: never read as markup."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format_float(value)
    return str(value)


def write_result(
    columns: list[str], rows: list[tuple[Any, ...]], output_format: OutputFormat
) -> None:
    """Print rows to stdout in ``output_format``.

    The table shows every column and every character in full: its width is what the widest row
    needs (a terminal wraps longer lines, a pipe gets them whole), and values and column names
    are plain text, so ``[bold]`` or ``[/x]`` in the data print as they are.
    """
    if output_format is OutputFormat.json:
        records = [{c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        sys.stdout.write(json.dumps(records, default=str) + "\n")
    elif output_format is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_json_value(v) for v in row] for row in rows])
    else:
        from rich.console import Console
        from rich.measure import Measurement
        from rich.table import Table
        from rich.text import Text

        table = Table()
        for name in columns:
            table.add_column(Text(name), no_wrap=True)
        for row in rows:
            table.add_row(*(Text(_cell(v)) for v in row))
        plain = {"markup": False, "emoji": False, "highlight": False}
        probe = Console(width=1_000_000, file=sys.stdout, **plain)
        width = Measurement.get(probe, probe.options, table).maximum
        Console(width=max(width, 1), file=sys.stdout, **plain).print(table)
        typer.echo(f"{len(rows)} row{'s' if len(rows) != 1 else ''}", err=True)
