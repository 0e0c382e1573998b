"""The one-screen summary that ends every run: rows, gates, time and where to look."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table


def print_summary(
    title: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    footer: Mapping[str, Any] | None = None,
    console: Console | None = None,
) -> None:
    """Print a table of ``rows`` (same keys each) and ``key: value`` lines under it, to stderr."""
    console = console or Console(stderr=True)
    rows = list(rows)
    table = Table(title=title, title_justify="left")
    for column in rows[0].keys() if rows else []:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    if rows:
        console.print(table)
    else:
        console.print(f"[bold]{title}[/bold]")
    for key, value in (footer or {}).items():
        console.print(f"  {key}: {value}")
