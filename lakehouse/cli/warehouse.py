"""`lakehouse warehouse`: the project's own PostgreSQL server (local Redshift) and its ODBC DSN."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

warehouse_app = typer.Typer(
    name="warehouse",
    help="Run the local warehouse (PostgreSQL standing in for Redshift) and connect BI tools.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.add_typer(warehouse_app, name="warehouse")


def _settings():
    from lakehouse.settings import get_settings

    return get_settings()


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@warehouse_app.command(
    "start",
    epilog="Example: lakehouse warehouse start   (then: lakehouse warehouse odbc-dsn)",
)
def start() -> None:
    """Start the warehouse in its own folder (created on first use); a running one is kept."""
    from lakehouse.warehouse.server import LocalServer, WarehouseError

    settings = _settings()
    try:
        status = LocalServer(settings).start()
    except WarehouseError as exc:
        raise _fail(exc) from None
    typer.echo(
        f"warehouse running on 127.0.0.1:{status.port} (database {settings.warehouse_database}, "
        f"user {settings.warehouse_user}, pid {status.pid})\n"
        f"  folder: {status.directory}\n  log:    {status.log_file}"
    )


@warehouse_app.command("stop", epilog="Example: lakehouse warehouse stop")
def stop() -> None:
    """Stop the warehouse if it runs; its data stays for the next start."""
    from lakehouse.warehouse.server import LocalServer, WarehouseError

    try:
        was_running = LocalServer(_settings()).stop()
    except WarehouseError as exc:
        raise _fail(exc) from None
    typer.echo("warehouse stopped" if was_running else "warehouse was not running")


@warehouse_app.command("status", epilog="Example: lakehouse warehouse status")
def status() -> None:
    """Say whether the warehouse runs, where, and which gold build it serves.

    Exits 0 when it runs, 3 when it does not (like ``pg_ctl status``).
    """
    from lakehouse.warehouse.publish import last_publish
    from lakehouse.warehouse.server import LocalServer, WarehouseError

    settings = _settings()
    current = LocalServer(settings).status()
    if not current.running:
        where = "not created yet" if not current.initialized else "stopped"
        typer.echo(f"warehouse not running ({where}); folder {current.directory}")
        raise typer.Exit(3)
    typer.echo(
        f"warehouse running on 127.0.0.1:{current.port} (pid {current.pid}), "
        f"database {settings.warehouse_database}\n  folder: {current.directory}"
    )
    try:
        published = last_publish(settings)
    except WarehouseError as exc:
        raise _fail(exc) from None
    if published is None:
        typer.echo("  gold:   nothing published yet (run `lakehouse transform`)")
    else:
        marts = ", ".join(f"{k} ({v} rows)" for k, v in sorted(published["marts"].items()))
        when = published["published_at"].strftime("%Y-%m-%d %H:%M:%S %Z")
        typer.echo(f"  gold:   build {published['build_id']} published {when}\n          {marts}")


@warehouse_app.command(
    "odbc-dsn",
    epilog="Example: lakehouse warehouse odbc-dsn --name lakehouse   "
    '(then: isql -v lakehouse lakehouse "$LAKEHOUSE_WAREHOUSE_PASSWORD")',
)
def odbc_dsn(
    name: Annotated[str, typer.Option(help="DSN name that BI tools and DSN=<name> use.")] = (
        "lakehouse"
    ),
    path: Annotated[
        Path | None,
        typer.Option(help="odbc.ini to write; default $ODBCINI or ~/.odbc.ini."),
    ] = None,
    with_password: Annotated[
        bool,
        typer.Option(
            "--with-password",
            help="Also store the password in the file (plain text; the file is made private).",
        ),
    ] = False,
) -> None:
    """Write a user ODBC DSN (psqlODBC, "PostgreSQL Unicode") for the running warehouse."""
    from lakehouse.warehouse.odbc import write_dsn
    from lakehouse.warehouse.server import WarehouseError

    try:
        written = write_dsn(_settings(), name=name, path=path, with_password=with_password)
    except WarehouseError as exc:
        raise _fail(exc) from None
    if with_password:
        typer.echo(
            f"warning: {written.path} now holds the warehouse password in plain text "
            "(readable only by you)",
            err=True,
        )
    pwd_hint = "" if with_password else ";PWD=<password>"
    typer.echo(
        f"DSN [{written.name}] written to {written.path}\n"
        f"  driver {written.driver}, {written.user}@{written.server}:{written.port}/"
        f"{written.database}, marts in schema gold\n"
        "Connect with:\n"
        f"  isql -v {written.name} {written.user} {'' if with_password else '<password>'}\n"
        f'  python: pyodbc.connect("DSN={written.name}{pwd_hint}")\n'
        f"  unixODBC reads {written.path} (set ODBCINI when it is not ~/.odbc.ini); PowerBI on "
        "Windows: see docs/analysts.md"
    )
