"""`lakehouse bronze <source>`: load new landing objects into the bronze Delta tables.

One command for every contract (``lakehouse/contracts/<source>.yml``): it runs the source's
``<source>-bronze`` Prefect flow (``flows/bronze.py``) and ends with a one-screen summary.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Annotated, Any

import typer

from lakehouse.cli._console import quiet_console
from lakehouse.contracts import available_sources

EPILOG = (
    "Examples: lakehouse bronze weather  |  lakehouse bronze weather --lake-root /tmp/lake  |  "
    "lakehouse bronze events --follow"
)


def _complete_source(incomplete: str) -> list[str]:
    return [s for s in available_sources() if s.startswith(incomplete)]


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("bronze", epilog=EPILOG, no_args_is_help=True)(bronze)


def bronze(
    source: Annotated[
        str,
        typer.Argument(
            help="Source to load: the name of a contract (lakehouse/contracts/<source>.yml).",
            autocompletion=_complete_source,
            show_default=False,
        ),
    ],
    entity: Annotated[
        list[str] | None,
        typer.Option(
            "--entity",
            "-e",
            help="Entity of the contract to load (repeatable; default: every entity).",
        ),
    ] = None,
    lake_root: Annotated[
        str | None,
        typer.Option(help="Lake folder to use instead of LAKEHOUSE_LAKE_ROOT."),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", help="Also show Prefect's own output (always kept in <lake>/_state/logs)."
        ),
    ] = False,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Sources on a Kafka topic: keep reading it (a micro-batch every few seconds) "
            "until stopped, instead of what is on the topic now.",
        ),
    ] = False,
) -> None:
    """Load new landing objects of SOURCE into bronze (Spark); rejected rows go to quarantine.
    A source whose records arrive on a Kafka topic is read with Spark Structured Streaming
    (its records also land in landing/). With nothing new it starts no Spark session and
    commits nothing."""
    known = available_sources()
    if source not in known:
        typer.echo(f"error: unknown source {source!r} (known: {', '.join(known)})", err=True)
        raise typer.Exit(2)
    if follow:
        from lakehouse.contracts import load_contract

        if not load_contract(source).topic_landings:
            typer.echo(
                f"error: --follow needs a source on a Kafka topic; {source} has none", err=True
            )
            raise typer.Exit(2)
    _print_summary(source, _run_flow(source, entity, lake_root, verbose, follow))


def _nothing_new(
    source: str, entities: list[str] | None, lake_root: str | None
) -> list[dict] | None:
    """Without a Prefect server, a run with no new object anywhere skips the orchestrator.

    Prefect would start a temporary server (15-20 s) only to run jobs that list the landing,
    read the ledger and stop; the job itself is run here instead (it writes the same run record
    and starts no Spark session), so ``lakehouse bronze <source>`` with nothing to do returns in
    a few seconds. With ``PREFECT_API_URL`` set the flow always runs, so the server sees it.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    from lakehouse.contracts import load_contract
    from lakehouse.settings import get_settings
    from spark.landing_to_bronze import pending_objects, run

    contract = load_contract(source)
    chosen = entities or list(contract.entities)
    if set(chosen) - set(contract.entities):
        return None  # the flow names the unknown entity
    settings = get_settings(lake_root=lake_root)
    lake = settings.lake
    if any(pending_objects(lake, source, e, contract=contract) != 0 for e in chosen):
        return None
    if contract.topic_landings:
        from lakehouse.kafka import bootstrap_servers
        from spark.kafka_to_bronze import pending_records

        if pending_records(lake, contract, bootstrap_servers(settings)) != 0:
            return None

    def no_session():  # noqa: ANN202
        raise RuntimeError("new landing objects appeared; run the bronze flow again")

    return [asdict(run(no_session, lake, source, e, contract=contract)) for e in chosen]


def _run_flow(
    source: str,
    entities: list[str] | None,
    lake_root: str | None,
    verbose: bool = False,
    follow: bool = False,
) -> list[dict]:
    """Run the source's bronze flow in-process; failures become one clear line and exit 1."""
    try:
        quick = None if follow else _nothing_new(source, entities, lake_root)
    except Exception:  # the flow reports any problem with the lake or contract properly
        quick = None
    if quick is not None:
        return quick
    from flows.bronze import FLOWS
    from lakehouse.orchestration import run_flow

    try:
        with quiet_console("bronze", verbose):
            kwargs = {"follow": True} if follow else {}
            data = run_flow(FLOWS[source], entities=entities, lake_root=lake_root, **kwargs)
    except Exception as exc:  # the orchestrator itself failed: say so, without a traceback
        typer.echo(f"error: bronze {source} could not run: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    if isinstance(data, BaseException):
        typer.echo(f"error: bronze {source} failed: {data}", err=True)
        typer.echo("  run records: <lake>/_state/runs/bronze/ (lakehouse status)", err=True)
        raise typer.Exit(1)
    return list(data)


def _print_summary(source: str, results: list[dict[str, Any]]) -> None:
    from lakehouse.summary import print_summary

    # One row per measure, one column per table: fits a narrow terminal whatever the counts.
    measures: list[tuple[str, Any]] = [
        ("status", lambda r: r["status"]),
        ("objects new / landed", lambda r: f"{r['objects_processed']} / {r['objects_seen']}"),
        ("rows read", lambda r: r["rows_read"]),
        ("rows valid", lambda r: r["rows_valid"]),
        ("rows quarantined", lambda r: r["rows_quarantined"]),
        ("quarantine rate", lambda r: f"{r['quarantine_rate']:.2%}"),
        ("rows inserted / updated", lambda r: f"{r['rows_inserted']} / {r['rows_updated']}"),
        ("rows in table", lambda r: "-" if r["rows_in_table"] is None else r["rows_in_table"]),
        ("delta version", _versions),
        ("time", lambda r: f"{r['duration_s']:.1f} s"),
    ]
    rows = [
        {"": name, **{f"bronze.{r['table']}": value(r) for r in results}}
        for name, value in measures
    ]
    footer: dict[str, Any] = {}
    for r in results:
        prefix = f"{r['table']} " if len(results) > 1 else ""
        if r["objects_processed"] == 0:
            footer[f"{prefix}note"] = "no new landing objects; nothing committed"
        footer[f"{prefix}bronze"] = r["bronze_path"]
        if r["rows_quarantined"]:
            footer[f"{prefix}quarantine"] = r["quarantine_path"]
        footer[f"{prefix}batches"] = ", ".join(r["batch_ids"]) or "-"
    print_summary(f"{source} bronze", rows, footer=footer)


def _versions(result: dict[str, Any]) -> str:
    before, after = result["delta_version_before"], result["delta_version_after"]
    if before == after:
        return "unchanged" if after is None else f"{after} (unchanged)"
    return f"{'-' if before is None else before} -> {after}"
