"""`lakehouse ingest <source>`: fetch a source into the landing zone (runs its Prefect flow)."""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Annotated, Any

import typer

ingest_app = typer.Typer(
    name="ingest",
    help="Fetch a source into the immutable landing zone.",
    no_args_is_help=True,
)

WEATHER_EPILOG = (
    "Examples: lakehouse ingest weather  |  "
    "lakehouse ingest weather --start-date 2025-03-05 --end-date 2025-03-11 "
    "--base-url http://127.0.0.1:8765"
)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.add_typer(ingest_app, name="ingest")


@ingest_app.command("weather", epilog=WEATHER_EPILOG)
def weather(
    start_date: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="First UTC day to backfill (YYYY-MM-DD, inclusive). Omit both dates for the "
            "recent window: the past day up to the current hour.",
        ),
    ] = None,
    end_date: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Last UTC day to backfill (YYYY-MM-DD, inclusive)."
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL of both Open-Meteo endpoints, e.g. a replay server "
            "(default: LAKEHOUSE_OPENMETEO_URL, else the public API).",
        ),
    ] = None,
) -> None:
    """Land hourly weather of every contract city; exits 1 naming any city that failed."""
    from lakehouse.contracts import load_contract
    from lakehouse.sources import weather as source

    first = start_date.date() if start_date else None
    last = end_date.date() if end_date else None
    try:
        source.plan_window(load_contract(source.SOURCE), first, last)
    except source.WindowError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    result = _run_flow(first, last, base_url)
    _print_summary(result)
    if result["status"] != "ok":
        failed = [c for c in result["cities"] if c["status"] != "ok"]
        typer.echo(
            f"error: weather ingest failed for {len(failed)} of {len(result['cities'])} cities "
            "(the others landed):",
            err=True,
        )
        for city in failed:
            typer.echo(f"  {city['city_id']}: {city['reason']}", err=True)
        raise typer.Exit(1)


def _run_flow(first: date | None, last: date | None, base_url: str | None) -> dict[str, Any]:
    """Run the flow in-process and return its per-city result, failed or not."""
    # Without PREFECT_API_URL, Prefect starts a temporary server; on a busy laptop that takes
    # longer than its 20 s default, which would fail the run before any request is sent.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from flows.weather import weather_ingest
    from lakehouse.sources.weather import IngestFailed

    try:
        state = weather_ingest(
            start_date=first, end_date=last, base_url=base_url, return_state=True
        )
        data = state.result(raise_on_failure=False)
    except Exception as exc:  # the orchestrator itself failed: say so, without a traceback
        typer.echo(f"error: weather ingest could not run: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if isinstance(data, IngestFailed):
        return data.result
    if isinstance(data, dict):
        return data
    typer.echo(f"error: weather ingest failed: {data}", err=True)
    raise typer.Exit(1)


def _print_summary(result: dict[str, Any]) -> None:
    from lakehouse.summary import print_summary

    cities = result["cities"]
    rows = [
        {
            "city": c["city_id"],
            "status": c["status"] if not c["duplicate"] else "unchanged",
            "rows (hours)": c["rows"],
            "bytes": c["bytes"],
            "objects": c["objects"],
            "attempts": c["attempts"],
        }
        for c in cities
    ]
    ok = sum(1 for c in cities if c["status"] == "ok")
    # Warnings (a truncated or empty body was landed) sit under the table: reasons are too long
    # for a column, and failures are listed with their reasons after the summary.
    warnings = {
        f"warning ({c['city_id']})": "; ".join(c["warnings"]) for c in cities if c["warnings"]
    }
    print_summary(
        f"weather ingest: {result['window']} ({result['endpoint']} endpoint)",
        rows,
        footer={
            **warnings,
            "cities": f"{ok} ok, {len(cities) - ok} failed",
            "rows (hours)": sum(c["rows"] for c in cities),
            "bytes": sum(c["bytes"] for c in cities),
            "new objects": sum(c["objects"] for c in cities),
            "time": f"{result['seconds']:.1f} s",
            "batch": result["batch_id"],
            "landed in": result["landing_dir"],
        },
    )
