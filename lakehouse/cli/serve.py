"""`lakehouse serve`: serve the built site on localhost until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

EPILOG = "Examples: lakehouse serve  |  lakehouse serve --port 8000  |  lakehouse serve --port 0"


def register(app: typer.Typer) -> None:
    """Add this verb to the app."""
    app.command("serve", epilog=EPILOG)(serve)


def serve(
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8000,
    host: Annotated[
        str, typer.Option(help="Interface to bind; keep 127.0.0.1 unless others must reach it.")
    ] = "127.0.0.1",
) -> None:
    """Serve <lake>/site over HTTP and print its URL (build it first with `lakehouse site`)."""
    from lakehouse.settings import get_settings
    from lakehouse.site import SiteError, make_server
    from lakehouse.site.server import server_url

    settings = get_settings()
    try:
        server = make_server(settings.lake.site, host=host, port=port)
    except (SiteError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    # The URL alone on stdout, so scripts can read it; the hint goes to stderr.
    typer.echo(server_url(server))
    typer.echo(f"serving {settings.lake.site} (Ctrl-C stops)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
