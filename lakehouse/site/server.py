"""Serve the built site on localhost with the standard library's threading HTTP server.

The handler resolves files under ``<lake>/site`` on every request, so a rebuild (which swaps the
``site`` symlink) is visible on the next page load without restarting the server.
"""

from __future__ import annotations

import logging
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lakehouse.log import get_logger, log_event
from lakehouse.site.errors import SiteError
from lakehouse.site.publish import content_type

logger = get_logger(__name__)


class _SiteHandler(SimpleHTTPRequestHandler):
    """Static files with the same Content-Types the bucket gets, logged as structured events."""

    def guess_type(self, path: str | Any) -> str:
        return content_type(Path(str(path)))

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log_event(
            logger, "site.request", logging.DEBUG, client=self.client_address[0], line=format % args
        )


def make_server(site_dir: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server for ``site_dir`` bound to ``host:port`` (port 0 picks a free one).

    Call ``serve_forever()`` on it (or run that in a thread) and ``shutdown()`` to stop it.

    Raises:
        SiteError: No site has been built at ``site_dir``.
    """
    if not (site_dir / "index.html").is_file():
        raise SiteError(f"no site at {site_dir}; run `lakehouse site` first")
    handler = partial(_SiteHandler, directory=str(site_dir))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    """The ``http://host:port/`` a browser opens for ``server``."""
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
