"""Entry point of the ``lakehouse`` command: assembles one Typer app from the verb modules."""

from __future__ import annotations

import typer

from lakehouse import log
from lakehouse.cli import (
    bench,
    bronze,
    capture,
    cloud,
    ingest,
    kafka,
    replay,
    run,
    serve,
    simulate,
    site,
    sql,
    status,
    transform,
    warehouse,
)

app = typer.Typer(
    name="lakehouse",
    help="Run the lakehouse: ingest sources, build bronze/silver/gold, gate, publish and serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Run the lakehouse: ingest sources, build bronze/silver/gold, gate, publish and serve."""


@app.command("version")
def version() -> None:
    """Print the lakehouse version."""
    from lakehouse import __version__

    typer.echo(__version__)


for _module in (
    ingest,
    bronze,
    transform,
    sql,
    site,
    serve,
    warehouse,
    kafka,
    capture,
    run,
    status,
    bench,
    replay,
    simulate,
    cloud,
):
    _module.register(app)


def main() -> None:
    log.configure()
    app()


if __name__ == "__main__":
    main()
