"""`lakehouse replay-server`: serve the source APIs locally in their real formats, with faults."""

from __future__ import annotations

from typing import Annotated

import typer

EPILOG = (
    "Example: lakehouse replay-server --port 8765 --fault san_diego:http_500 "
    "--fault walnut_creek:http_503:1 --fault SFO-JFK:http_429:2"
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
            help="Inject a fault (repeatable): city:kind[:times] for Open-Meteo (http_500, "
            "http_503, http_429, truncate, empty_hours, impossible_temperature, out_of_range, "
            "null_value) or ORIGIN-DESTINATION:kind[:times] for flight offers (expired_token, "
            "http_429, http_500, truncate, bad_request; * for every route).",
        ),
    ] = None,
) -> None:
    """Answer the replayed APIs with deterministic data until Ctrl-C: Open-Meteo's /v1/forecast
    and /v1/archive, Amadeus' OAuth2 token and /v2/shopping/flight-offers (client id
    replay-client-id, secret replay-client-secret), and Meetup's RSVP stream /2/rsvps (1,000
    chunked JSON lines, resumable with ?since_mtime=)."""
    from lakehouse.replay import ReplayServer
    from lakehouse.replay.server import parse_fault

    try:
        faults = [parse_fault(text) for text in fault or []]
        server = ReplayServer(faults=faults, host=host, port=port)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(server.url, err=False)
    typer.echo(
        f"replay server on {server.url} (give --base-url {server.url} to lakehouse ingest, or "
        "set LAKEHOUSE_<SOURCE>_BASE_URL); Ctrl-C stops it",
        err=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
