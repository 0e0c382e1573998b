"""`lakehouse replay-server`: serve the source APIs locally in their real formats, with faults."""

from __future__ import annotations

from typing import Annotated

import typer

EPILOG = (
    "Example: lakehouse replay-server --port 8765 --fault san_diego:http_500 "
    "--fault walnut_creek:http_503:1"
)


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("replay-server", epilog=EPILOG)(replay_server)


def replay_server(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8765,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            help="Inject a fault, city:kind[:times] (repeatable). Kinds: http_500, http_503, "
            "http_429, truncate, empty_hours, impossible_temperature, out_of_range, null_value.",
        ),
    ] = None,
) -> None:
    """Answer Open-Meteo's /v1/forecast and /v1/archive with deterministic data until Ctrl-C."""
    from lakehouse.replay import Fault, ReplayServer

    try:
        faults = [Fault.parse(text) for text in fault or []]
        server = ReplayServer(faults=faults, host=host, port=port)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(server.url, err=False)
    typer.echo(
        f"replay server for Open-Meteo on {server.url} (set LAKEHOUSE_OPENMETEO_URL={server.url}); "
        "Ctrl-C stops it",
        err=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
