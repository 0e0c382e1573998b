"""`lakehouse status`: per source and layer, the last run, rows, gate result and freshness lag,
and a warning per source whose published series have gaps."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from lakehouse.settings import get_settings
from lakehouse.status import collect_status
from lakehouse.summary import print_summary


class Format(StrEnum):
    table = "table"
    json = "json"


def _short_time(value: str | None) -> str:
    """``2026-11-23T19:16:46.1Z`` -> ``11-23 19:16``: fits an 80-column terminal."""
    if not value:
        return "-"
    return value[5:16].replace("T", " ")


def show_status(output: Format = Format.table, lake_root: str | None = None) -> list[dict]:
    """Print the status of every source (also used at the end of ``lakehouse run``)."""
    settings = get_settings(lake_root=lake_root)
    lines = [line.as_dict() for line in collect_status(settings)]
    if output is Format.json:
        typer.echo(json.dumps(lines, indent=2))
        return lines
    rows = [
        {
            "source": line["source"],
            "layer": line["layer"],
            "last run": _short_time(line["last_run"]),
            "status": line["status"],
            "rows": "-" if line["rows"] is None else line["rows"],
            "gate": line["gate"] or "-",
            "freshness lag": line["freshness_lag"] or "",
        }
        for line in lines
    ]
    footer: dict[str, object] = {}
    for line in lines:
        if line["status"] == "warning" and line["detail"]:
            footer[f"warning ({line['source']} {line['layer']})"] = line["detail"]
    footer.update({"lake": settings.lake.root, "times": "UTC"})
    print_summary("lakehouse status", rows, footer=footer)
    return lines


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""

    @app.command(
        "status",
        epilog="Example: lakehouse status --format json",
    )
    def status(
        output: Annotated[
            Format,
            typer.Option("--format", help="table for people, json for scripts."),
        ] = Format.table,
        lake_root: Annotated[
            str | None,
            typer.Option("--lake-root", help="Lake folder to read (default: LAKEHOUSE_LAKE_ROOT)."),
        ] = None,
    ) -> None:
        """Show, per source and layer, the last run, rows, gate result and freshness lag."""
        show_status(output, lake_root)
