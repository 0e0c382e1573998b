"""The replay server: the source APIs' endpoints on a local port, with faults an admin API changes.

One server answers every replayed API by path: Open-Meteo's ``/v1/forecast`` and ``/v1/archive``
(:mod:`lakehouse.replay.openmeteo`), Amadeus' ``/v1/security/oauth2/token`` and
``/v2/shopping/flight-offers`` (:mod:`lakehouse.replay.amadeus`) and Meetup's RSVP stream
``/2/rsvps`` (:mod:`lakehouse.replay.meetup`, chunked JSON lines). ``ReplayServer`` runs a
threaded HTTP server on a background thread; use it as a context manager::

    with ReplayServer(faults=[Fault("san_diego", "http_500")], port=0) as server:
        server.url  # http://127.0.0.1:<free port>

Faults are per city for Open-Meteo (:class:`Fault`) and per route for Amadeus
(:class:`lakehouse.replay.amadeus.RouteFault`, ``SFO-JFK:http_429:2``).

Admin endpoints (for tests that drive other processes):

- ``GET /__replay/faults``: active faults with remaining uses.
- ``POST /__replay/faults``: body is a JSON list of ``{"city", "kind", "times"}`` or
  ``{"route", "kind", "times"}``; replaces them.
- ``DELETE /__replay/faults``: removes every fault.
- ``GET /__replay/requests``: every API request answered so far (path, city or route, status,
  fault).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lakehouse.contracts import load_contract
from lakehouse.log import get_logger, log_event
from lakehouse.replay import amadeus, meetup
from lakehouse.replay.faults import Fault, FaultBook
from lakehouse.replay.openmeteo import Reply, answer, cities_of, error_reply

ADMIN_FAULTS = "/__replay/faults"
ADMIN_REQUESTS = "/__replay/requests"

logger = get_logger(__name__)


class ReplayServer:
    """Open-Meteo replay server on ``host:port`` (port 0 picks a free one).

    Args:
        faults: Faults to inject, consumed in list order per city.
        host: Interface to bind.
        port: Port to bind; 0 picks a free port (read it from :attr:`url`).
        source: Contract whose targets (cities) faults and ``timezone=auto`` refer to.
    """

    def __init__(
        self,
        faults: list[Fault | amadeus.RouteFault] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        source: str = "weather",
        token_expires_in: int = amadeus.DEFAULT_EXPIRES_IN,
        rsvps: meetup.RsvpStream | None = None,
    ) -> None:
        self.cities = cities_of(load_contract(source))
        self.faults = FaultBook()
        self.route_faults = amadeus.RouteFaults()
        self.set_faults(faults or [])
        self.requests: list[dict[str, Any]] = []
        self._requests_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        # The answers' self links name the real API's host, not this server's port, so the same
        # search answers byte for byte across replay servers and a re-run lands nothing new.
        self.amadeus = amadeus.AmadeusReplay(expires_in=token_expires_in)
        self.rsvps = rsvps or meetup.RsvpStream()

    @property
    def url(self) -> str:
        """Base URL to give clients (``LAKEHOUSE_WEATHER_BASE_URL`` / ``--base-url``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def set_faults(self, faults: list[Fault | amadeus.RouteFault]) -> None:
        """Replace the active faults; unknown city ids are an error."""
        known = {c.id for c in self.cities}
        city_faults = [f for f in faults if isinstance(f, Fault)]
        for fault in city_faults:
            if fault.city not in known:
                raise ValueError(
                    f"unknown city {fault.city!r}; cities are {', '.join(sorted(known))}"
                )
        self.faults.set(city_faults)
        self.route_faults.set([f for f in faults if isinstance(f, amadeus.RouteFault)])

    def start(self) -> ReplayServer:
        """Serve on a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="replay-server", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, entry: dict[str, Any]) -> None:
        with self._requests_lock:
            self.requests.append(entry)

    def handle(
        self, method: str, target: str, body: bytes, headers: dict[str, str] | None = None
    ) -> Reply:
        """Answer one HTTP request (API or admin)."""
        parts = urlsplit(target)
        if parts.path in amadeus.PATHS:
            return self._amadeus(method, parts.path, parts.query, body, headers or {})
        if parts.path == meetup.PATH:
            return self._rsvps(method, parts.query)
        if parts.path == ADMIN_FAULTS:
            return self._admin_faults(method, body)
        if parts.path == ADMIN_REQUESTS and method == "GET":
            with self._requests_lock:
                return Reply(200, json.dumps(self.requests).encode(), _JSON)
        if method != "GET":
            return error_reply(405, f"Method {method} not allowed")
        reply = answer(parts.path, parse_qs(parts.query), self.cities, self.faults.take)
        self._record(
            {"path": parts.path, "city": reply.city, "status": reply.status, "fault": reply.fault}
        )
        return reply

    def _amadeus(
        self, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
    ) -> Reply:
        if path == amadeus.TOKEN_PATH:
            if method != "POST":
                return error_reply(405, f"Method {method} not allowed")
            status, reply_headers, reply_body = self.amadeus.answer_token(body)
            self._record({"path": path, "route": None, "status": status, "fault": None})
            return Reply(status, reply_body, reply_headers)
        if method != "GET":
            return error_reply(405, f"Method {method} not allowed")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        origin, destination = (params.get(k, "") for k in amadeus.ROUTE_PARAMS)
        route = f"{origin}-{destination}"
        taken: list[str] = []

        def take(key: str) -> amadeus.RouteFault | None:
            fault = self.route_faults.take(key)
            if fault is not None:
                taken.append(fault.kind)
            return fault

        status, reply_headers, reply_body = self.amadeus.answer_search(
            params, headers.get("authorization"), type("Faults", (), {"take": staticmethod(take)})
        )
        self._record(
            {"path": path, "route": route, "status": status, "fault": taken[0] if taken else None}
        )
        return Reply(status, reply_body, reply_headers)

    def _rsvps(self, method: str, query: str) -> Reply:
        if method != "GET":
            return error_reply(405, f"Method {method} not allowed")
        try:
            since = meetup.since_param(parse_qs(query))
        except meetup.BadRequest as exc:
            return error_reply(400, str(exc))
        cut_after = self.rsvps.take_drop()
        self._record(
            {
                "path": meetup.PATH,
                "since_mtime": since,
                "status": 200,
                "fault": None if cut_after is None else f"drop_after:{cut_after}",
            }
        )
        return Reply(
            200,
            b"",
            {"Content-Type": "application/json"},
            stream=self.rsvps.lines(since, cut_after),
            cut=cut_after is not None,
        )

    def _admin_faults(self, method: str, body: bytes) -> Reply:
        if method == "DELETE":
            self.faults.set([])
        elif method == "POST":
            try:
                items = json.loads(body or b"[]")
                if not isinstance(items, list):
                    raise ValueError("body must be a JSON list of faults")
                self.set_faults([_fault_from_dict(item) for item in items])
            except ValueError as exc:
                return error_reply(400, str(exc))
        elif method != "GET":
            return error_reply(405, f"Method {method} not allowed")
        active = self.faults.active() + self.route_faults.active()
        return Reply(200, json.dumps(active).encode(), _JSON)


def _fault_from_dict(item: Any) -> Fault | amadeus.RouteFault:
    """A city fault ``{"city", ...}`` or a route fault ``{"route", ...}``."""
    if isinstance(item, dict) and "route" in item:
        return amadeus.RouteFault.from_dict(item)
    return Fault.from_dict(item)


def parse_fault(text: str) -> Fault | amadeus.RouteFault:
    """``city:kind[:times]`` or ``ORIGIN-DESTINATION:kind[:times]`` (``*`` for every route)."""
    head = text.split(":", 1)[0]
    if head == "*" or (len(head) == 7 and head[3] == "-" and head.replace("-", "").isalpha()):
        return amadeus.RouteFault.parse(text)
    return Fault.parse(text)


_JSON = {"Content-Type": "application/json; charset=utf-8"}


def _handler_for(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "lakehouse-replay"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = server.handle(self.command, self.path, body, headers)
            except Exception as exc:  # a bug here must answer 500, not hang the client
                log_event(logger, "replay request failed", 40, error=repr(exc), path=self.path)
                reply = error_reply(500, f"replay server error: {exc}")
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            if reply.stream is not None:
                self._send_chunked(reply)
                return
            # Content-Length matches the bytes sent, so a truncated body is a complete HTTP reply.
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def _send_chunked(self, reply: Reply) -> None:
            """One chunk per item, flushed at once, as a live stream arrives."""
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for item in reply.stream or ():
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(item), item))
                    self.wfile.flush()
                if not reply.cut:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away: a stream ends that way too
            if reply.cut:
                self.close_connection = True  # no last chunk: the client sees a cut body

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            logger.debug("replay %s", format % args)

    return Handler
