"""`lakehouse ingest <source>`: fetch any source with a contract into the landing zone.

One command for every contract: it runs the source's Prefect flow ``<source>-ingest``
(:mod:`flows.ingest`) in-process, prints a short summary per target and exits 1 naming each
target that failed (the others landed), or 2 for a usage error (unknown source, bad dates).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from lakehouse.cli._console import quiet_console

EPILOG = (
    "Examples: lakehouse ingest weather  |  "
    "lakehouse ingest weather --start-date 2025-03-05 --end-date 2025-03-11 "
    "--base-url http://127.0.0.1:8765"
)


def _known_sources() -> list[str]:
    from lakehouse.contracts import available_sources

    return available_sources()


def _complete_source(incomplete: str) -> list[str]:
    return [s for s in _known_sources() if s.startswith(incomplete)]


def _failure_times() -> str:
    """How long a failing source takes to be reported, from the current retry settings."""
    from lakehouse.http import failure_bounds
    from lakehouse.settings import get_settings

    try:
        settings = get_settings()
    except Exception:  # a bad setting is reported when the command runs, not in --help
        return ""
    refused, silent = failure_bounds(settings)
    return (
        f" A target that refuses connections is given up after at most {refused:.0f} s, a "
        f"silent one after at most {silent:.0f} s ({settings.http_max_attempts} attempts of "
        f"{settings.http_timeout_s:.0f} s with backoff: LAKEHOUSE_HTTP_MAX_ATTEMPTS, "
        "LAKEHOUSE_HTTP_TIMEOUT_S, LAKEHOUSE_HTTP_BACKOFF_BASE_S, LAKEHOUSE_HTTP_BACKOFF_MAX_S)."
    )


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    help_text = (
        "Land a source's data as received; exits 1 naming any target that failed, while the "
        "other targets land." + _failure_times()
    )
    app.command("ingest", epilog=EPILOG, no_args_is_help=True, help=help_text)(ingest)


def ingest(
    source: Annotated[
        str,
        typer.Argument(
            help="Source to fetch: the name of a contract (lakehouse/contracts/<source>.yml).",
            autocompletion=_complete_source,
            show_default=False,
        ),
    ],
    start_date: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="First UTC day to backfill (YYYY-MM-DD, inclusive). Omit both dates for the "
            "recent window (e.g. the past day up to the current hour).",
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
            help="Replaces the host of every endpoint, e.g. a replay server "
            "(default: LAKEHOUSE_<SOURCE>_BASE_URL, else the contract's hosts).",
        ),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="files: the folder, s3:// prefix or URL to take files from "
            "(default: LAKEHOUSE_<SOURCE>_LOCATION, else the contract's).",
        ),
    ] = None,
    max_records: Annotated[
        int | None, typer.Option(min=1, help="streams: stop after this many records.")
    ] = None,
    max_seconds: Annotated[
        float | None, typer.Option(min=0.0, help="streams: stop after this many seconds.")
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", help="Also show Prefect's own output (always kept in <lake>/_state/logs)."
        ),
    ] = False,
) -> None:
    """Land a source's data as received; exits 1 naming any target that failed."""
    from lakehouse.contracts import ContractError, load_contract
    from lakehouse.sources import INGESTERS, IngestRequest, WindowError

    known = _known_sources()
    if source not in known:
        typer.echo(f"error: unknown source {source!r} (known: {', '.join(known)})", err=True)
        raise typer.Exit(2)
    try:
        contract = load_contract(source)
    except ContractError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if contract.source.kind not in INGESTERS:
        typer.echo(
            f"error: source {source} is kind {contract.source.kind}, which `lakehouse ingest` "
            f"cannot fetch (kinds: {', '.join(sorted(INGESTERS))})",
            err=True,
        )
        raise typer.Exit(2)
    request = IngestRequest(
        start_date=start_date.date() if start_date else None,
        end_date=end_date.date() if end_date else None,
        base_url=base_url,
        location=location,
        max_records=max_records,
        max_seconds=max_seconds,
    )
    try:
        _check(contract, request)
    except WindowError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    result = _run_flow(source, request, verbose)
    _print_summary(result)
    if result["status"] != "ok":
        failed = [t for t in result["targets"] if t["status"] != "ok"]
        typer.echo(
            f"error: {source} ingest failed for {len(failed)} of {len(result['targets'])} "
            "targets (the others landed):",
            err=True,
        )
        for target in failed:
            typer.echo(f"  {target['key']}: {target['reason']}", err=True)
        raise typer.Exit(1)


def _check(contract: Any, request: Any) -> None:
    """Let the kind's ingester refuse a request before anything runs (``check_request``)."""
    import importlib

    from lakehouse.sources import INGESTERS, WindowError

    try:
        module = importlib.import_module(INGESTERS[contract.source.kind])
    except ModuleNotFoundError:
        return  # the flow reports a missing ingester as its own failure
    check = getattr(module, "check_request", None)
    if check is not None:
        check(contract, request)
    elif contract.source.kind != "http" and (request.start_date or request.end_date):
        if request.start_date is None or request.end_date is None:
            raise WindowError("give both --start-date and --end-date, or neither")


def _run_flow(source: str, request: Any, verbose: bool = False) -> dict[str, Any]:
    """Run the source's flow in-process and return its per-target result, failed or not."""
    from flows.ingest import ingest_flow
    from lakehouse.orchestration import run_flow
    from lakehouse.sources import IngestFailed

    try:
        with quiet_console("ingest", verbose):
            data = run_flow(
                ingest_flow(source),
                start_date=request.start_date,
                end_date=request.end_date,
                base_url=request.base_url,
                location=request.location,
                max_records=request.max_records,
                max_seconds=request.max_seconds,
            )
    except Exception as exc:  # the orchestrator itself failed: say so, without a traceback
        typer.echo(f"error: {source} ingest could not run: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if isinstance(data, IngestFailed):
        return data.result
    if isinstance(data, dict):
        return data
    typer.echo(f"error: {source} ingest failed: {data}", err=True)
    raise typer.Exit(1)


def _print_summary(result: dict[str, Any]) -> None:
    from lakehouse.summary import print_summary

    targets = result["targets"]
    rows = [
        {
            "target": t["key"],
            "status": t["status"] if not t["duplicate"] else "unchanged",
            "rows": t["rows"],
            "bytes": t["bytes"],
            "objects": t["objects"],
            "attempts": t["attempts"],
        }
        for t in targets
    ]
    ok = sum(1 for t in targets if t["status"] == "ok")
    # Warnings (a truncated or empty body was landed) sit under the table: reasons are too long
    # for a column, and failures are listed with their reasons after the summary.
    warnings = {f"warning ({t['key']})": "; ".join(t["warnings"]) for t in targets if t["warnings"]}
    print_summary(
        f"{result['source']} ingest: {result['window']} ({result['endpoint']})",
        rows,
        footer={
            **warnings,
            "targets": f"{ok} ok, {len(targets) - ok} failed",
            "rows": sum(t["rows"] for t in targets),
            "bytes": sum(t["bytes"] for t in targets),
            "new objects": sum(t["objects"] for t in targets),
            "time": f"{result['seconds']:.1f} s",
            "batch": result["batch_id"],
            "landed in": result["landing_dir"],
        },
    )
