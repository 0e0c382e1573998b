"""`lakehouse run`: the whole pipeline once (the ``daily-refresh`` flow), then a summary."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer

from lakehouse.cli._console import quiet_console
from lakehouse.cli.status import Format, show_status
from lakehouse.settings import Settings, get_settings
from lakehouse.summary import print_summary

EPILOG = (
    "Example: lakehouse run --base-url http://127.0.0.1:8765 "
    "--start-date 2025-03-05 --end-date 2025-03-11"
)


def _step_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, value in results.items():
        result = value.get("result")
        status = result.get("status", "ok") if isinstance(result, dict) else "ok"
        rows.append({"step": key, "status": status, "seconds": value.get("seconds", "")})
    return rows


def where_to_look(settings: Settings, results: dict[str, Any]) -> dict[str, str]:
    """Footer lines of the run summary: where a person finds each result.

    The site is built in the lake's work folder (``Lake.site``: the lake root locally, a local
    folder when the layers are buckets), so its path never comes from the lake root; when the
    run published it, the site bucket is named too.
    """
    site = results.get("site", {}).get("result") or {}
    render = site.get("render", {}) if isinstance(site, dict) else {}
    published = site.get("publish", {}) if isinstance(site, dict) else {}
    transform = results.get("transform", {}).get("result") or {}
    site_dir = render.get("path") or str(settings.lake.site)
    footer = {
        "site": f"{site_dir}/index.html (or: lakehouse serve)",
        "gold SQL": 'lakehouse sql "select * from agg_weather_city_summary"',
        "status": "lakehouse status",
    }
    if isinstance(transform, dict) and transform.get("data_docs"):
        footer["data docs"] = str(transform["data_docs"])
    if render.get("dbt_docs"):
        # The site carries the dbt docs under docs/ (lakehouse.site.dbt_docs).
        footer["dbt docs"] = f"{site_dir}/docs/index.html"
    if published.get("bucket"):
        footer["published site"] = f"s3://{published['bucket']}/index.html"
    return footer


def check_arguments(
    sources: list[str] | None, start_date: str | None, end_date: str | None
) -> str | None:
    """Why the arguments cannot run, in one line, or None."""
    from lakehouse.contracts import available_sources

    known = available_sources()
    unknown = [s for s in sources or [] if s not in known]
    if unknown:
        return f"unknown source {unknown[0]!r} (known: {', '.join(known)})"
    days: dict[str, date] = {}
    for label, value in (("--start-date", start_date), ("--end-date", end_date)):
        if value:
            try:
                days[label] = date.fromisoformat(value)
            except ValueError:
                return f"{label} {value!r} is not YYYY-MM-DD"
    if len(days) == 1:
        return "give both --start-date and --end-date, or neither for the recent window"
    if days and days["--start-date"] > days["--end-date"]:
        return f"start date {start_date} is after end date {end_date}"
    today = datetime.now(UTC).date()
    if days and days["--end-date"] > today:
        return f"end date {end_date} is after today ({today} UTC); a backfill covers past days only"
    return None


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""

    @app.command("run", epilog=EPILOG)
    def run(
        base_url: Annotated[
            str | None,
            typer.Option(help="Base URL of the source APIs (a replay server); default settings."),
        ] = None,
        start_date: Annotated[
            str | None,
            typer.Option(help="First UTC day of a backfill (YYYY-MM-DD), fetched before the run."),
        ] = None,
        end_date: Annotated[
            str | None,
            typer.Option(help="Last UTC day of a backfill (YYYY-MM-DD)."),
        ] = None,
        source: Annotated[
            list[str] | None,
            typer.Option("--source", help="Only this source (repeatable); default every source."),
        ] = None,
        ingest: Annotated[
            bool,
            typer.Option(help="Fetch from the sources first; --no-ingest uses what is landed."),
        ] = True,
        recent: Annotated[
            bool,
            typer.Option(help="With a backfill, also fetch the recent window."),
        ] = True,
        verbose: Annotated[
            bool,
            typer.Option(
                "--verbose",
                help="Also show Prefect's own output (always kept in <lake>/_state/logs).",
            ),
        ] = False,
    ) -> None:
        """Run the whole pipeline once: ingest, bronze, gates, dbt, publish and site."""
        problem = check_arguments(source, start_date, end_date)
        if problem:
            # Bad arguments are answered before Prefect or Spark start (within a second or two).
            typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(2)

        from flows.pipeline import daily_refresh
        from lakehouse.alerts import StepFailed
        from lakehouse.orchestration import run_flow

        settings = get_settings()
        with quiet_console("run", verbose):
            outcome = run_flow(
                daily_refresh,
                sources=source or None,
                start_date=start_date,
                end_date=end_date,
                base_url=base_url,
                ingest=ingest,
                recent=recent,
            )
        if isinstance(outcome, dict):
            results = outcome
            print_summary(
                "daily-refresh completed",
                _step_rows(results),
                footer=where_to_look(settings, results),
            )
            return
        if isinstance(outcome, StepFailed):
            where = f" ({outcome.source})" if outcome.source else ""
            message = f"daily-refresh failed at step {outcome.step}{where}: {outcome.reason}"
        else:
            message = f"daily-refresh failed: {type(outcome).__name__}: {outcome}"
        show_status(Format.table)
        typer.secho(message, fg=typer.colors.RED, err=True)
        typer.echo("Published gold is unchanged; see `lakehouse status` for each layer.", err=True)
        raise typer.Exit(1)
