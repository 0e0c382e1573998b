"""`lakehouse capture`: change data capture of a source (Debezium in Kafka Connect)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

capture_app = typer.Typer(
    name="capture",
    help="Run, stop and inspect the change data capture of a source with capture: cdc.",
    no_args_is_help=True,
)

Source = Annotated[str, typer.Argument(help="A source whose contract says capture: cdc.")]


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.add_typer(capture_app, name="capture")


def _contract(source: str):  # noqa: ANN202
    from lakehouse.contracts import ContractError, PostgresSource, load_contract

    try:
        contract = load_contract(source)
    except (ContractError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    src = contract.source
    if not isinstance(src, PostgresSource) or src.capture != "cdc":
        typer.echo(f"error: source {source} does not say capture: cdc in its contract", err=True)
        raise typer.Exit(2)
    return contract


def _source_database(source: str):  # noqa: ANN202
    """The source's cdc contract, the settings and its database's DSN, or exit with one line."""
    from lakehouse.settings import get_settings
    from lakehouse.sources.postgres_local import resolve_dsn

    contract = _contract(source)
    settings = get_settings()
    dsn = resolve_dsn(settings, contract)
    if not dsn:
        typer.echo(f"error: no database for {source}: set its DSN setting", err=True)
        raise typer.Exit(1)
    return contract, settings, dsn


@contextmanager
def _one_line_errors(dsn: str) -> Iterator[None]:
    """A capture, broker or database failure as one error line (no password) and exit 1."""
    import psycopg

    from lakehouse.kafka import KafkaBrokerError
    from lakehouse.sources.postgres import failure_line
    from lakehouse.sources.postgres_cdc import CaptureError

    try:
        yield
    except (CaptureError, KafkaBrokerError) as exc:
        typer.echo(f"error: {str(exc).splitlines()[0]}", err=True)
        raise typer.Exit(1) from None
    except psycopg.Error as exc:
        typer.echo(f"error: {failure_line(exc, dsn)}", err=True)
        raise typer.Exit(1) from None


@capture_app.command(
    "start", epilog="Example: lakehouse capture start fleet   (then: lakehouse bronze fleet)"
)
def start(source: Source) -> None:
    """Start the source's connector (snapshot first, then streaming); a running one is kept.

    Checks the replication slot and publication first: a slot or publication that vanished
    since the last run is said in one line and recovered with a new snapshot.
    """
    from lakehouse.sources.postgres_cdc import ensure_capture

    contract, settings, dsn = _source_database(source)
    with _one_line_errors(dsn):
        capture, warnings, _ = ensure_capture(settings, contract, dsn)
    for line in warnings:
        typer.echo(f"warning: {line}", err=True)
    status = capture.status()
    typer.echo(
        f"capture of {source} running (connector {status.name}, pid {status.pid}, "
        f"started in {status.start_seconds} s)\n  folder: {status.directory}\n"
        f"  log:    {status.log_file}"
    )


@capture_app.command(
    "run",
    epilog="Example: lakehouse capture run fleet   (the capture container's command on AWS)",
)
def run(source: Source) -> None:
    """Run the source's connector in the foreground until SIGTERM or Ctrl-C.

    The container's command on AWS: the worker logs to standard output, one structured line
    per event (this command's own events go to standard error). Its configuration and offsets
    are in Kafka, so a restarted task resumes where the last one stopped (no second snapshot).
    Exits 0 after a clean stop, 1 when the connector fails or cannot start, and with the
    worker's own code when it dies (137 when killed).
    """
    from lakehouse.sources.postgres_cdc import run_capture

    contract, settings, dsn = _source_database(source)
    with _one_line_errors(dsn):
        code = run_capture(settings, contract, dsn)
    raise typer.Exit(code)


@capture_app.command("stop", epilog="Example: lakehouse capture stop fleet")
def stop(source: Source) -> None:
    """Stop the source's background worker; the connector's offsets (in Kafka) and its
    replication slot stay, so the next start resumes."""
    from lakehouse.settings import get_settings
    from lakehouse.sources.postgres_cdc import worker

    was_running = worker(get_settings(), _contract(source)).stop()
    typer.echo(f"capture of {source} " + ("stopped" if was_running else "was not running"))


@capture_app.command("status", epilog="Example: lakehouse capture status fleet")
def status(source: Source) -> None:
    """Say whether the source's connector runs. Exits 0 when it captures, 3 when it does not."""
    from lakehouse.settings import get_settings
    from lakehouse.sources.postgres_cdc import worker

    current = worker(get_settings(), _contract(source)).status()
    if not current.running:
        typer.echo(f"capture of {source} not running; folder {current.directory}")
        raise typer.Exit(3)
    typer.echo(
        f"capture of {source}: worker pid {current.pid}, connector {current.connector_state}, "
        f"task {current.task_state}"
        + (f" ({current.trace})" if current.trace else "")
        + f"\n  folder: {current.directory}\n  log:    {current.log_file}"
    )
    if not current.capturing:
        raise typer.Exit(3)
