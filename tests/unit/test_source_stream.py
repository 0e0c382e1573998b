"""Kind stream: chunked JSON lines and SSE from an in-process server that drops once and resumes.

The server streams change events ``{"id": i, "mtime": 1000 + i}`` as chunked JSON lines (each
line cut over two chunks), with one line that is not JSON, and answers ``since_mtime=<m>`` with
the events after ``m`` (or from ``m`` on, when it is inclusive). Its first connection is cut in
the middle of a line. Nothing may be lost or landed twice, across the drop or across runs.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from lakehouse.contracts import load_contract
from lakehouse.landing import body_bytes, iter_objects, read_object
from lakehouse.sources import IngestRequest, WindowError
from lakehouse.sources import stream as stream_kind

FIXTURES = Path(__file__).parents[1] / "fixtures" / "contracts"
GARBAGE = b"<<this line is not JSON>>"


class FeedServer:
    """A threaded HTTP server streaming the feed; ``drop_at`` cuts the first connection once."""

    def __init__(
        self,
        *,
        total: int = 50,
        drop_at: int | None = 13,
        inclusive: bool = False,
        fmt: str = "json_lines",
        status: int = 200,
        idle: bool = False,
    ) -> None:
        self.total, self.drop_at, self.inclusive = total, drop_at, inclusive
        self.fmt, self.status, self.idle = fmt, status, idle
        self.requests: list[dict[str, list[str]]] = []
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def items(self, since: float | None) -> list[bytes]:
        out = []
        for i in range(1, self.total + 1):
            mtime = 1000 + i
            if since is None or mtime > since or (self.inclusive and mtime == since):
                out.append(
                    json.dumps(
                        {"id": i, "mtime": mtime, "title": f"página {i}"}, ensure_ascii=False
                    ).encode()
                )
            if i == 7 and (since is None or since < 1007):
                out.append(GARBAGE)
        return out

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlparse(h.path).query)
        self.requests.append(query)
        if self.status != 200:
            body = json.dumps({"reason": f"feed says {self.status}"}).encode()
            h.send_response(self.status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        h.send_response(200)
        h.send_header(
            "Content-Type", "text/event-stream" if self.fmt == "sse" else "application/x-ndjson"
        )
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

        def chunk(data: bytes) -> None:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()

        if self.idle:
            while not self.stop.wait(0.05):
                pass
            return
        since = float(query["since_mtime"][0]) if "since_mtime" in query else None
        drop = self.drop_at
        for n, item in enumerate(self.items(since), start=1):
            if self.fmt == "sse":
                line = b": keep-alive\n" + b"id: %d\n" % n + b"data: " + item + b"\n\n"
            else:
                line = item + b"\n"
            if drop is not None and n == drop + 1:
                self.drop_at = None  # once
                chunk(line[: len(line) // 2])
                h.connection.shutdown(socket.SHUT_RDWR)
                h.close_connection = True
                return
            half = len(line) // 2
            chunk(line[:half])
            chunk(line[half:])
            if n % 5 == 0:
                chunk(b"\n")  # a blank keep-alive line (json_lines) / stray blank (sse)
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()

    def __enter__(self) -> FeedServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def contract():
    return load_contract("kinds_stream", FIXTURES)


@pytest.fixture
def fast(settings):
    return settings.model_copy(update={"http_backoff_base_s": 0.01, "http_timeout_s": 5.0})


def _with(contract, **source):
    return contract.model_copy(update={"source": contract.source.model_copy(update=source)})


def _landed_lines(settings) -> list[bytes]:
    lines: list[bytes] = []
    for path in iter_objects(settings.lake, "kinds_stream", "events"):
        lines.extend(body_bytes(path).splitlines())
    return lines


def _ids(lines: list[bytes]) -> list[int]:
    return [json.loads(line)["id"] for line in lines if line != GARBAGE]


@pytest.mark.parametrize("inclusive", [False, True], ids=["exclusive", "inclusive"])
def test_a_drop_and_a_second_run_lose_and_double_nothing(fast, contract, inclusive):
    with FeedServer(inclusive=inclusive) as server:
        first = stream_kind.run(fast, contract, IngestRequest(base_url=server.url, max_records=25))
        (target,) = first.targets
        assert first.ok and first.kind == "stream", target.reason
        assert target.rows == 25 and target.objects == 3  # 10 + 10 + 5
        assert target.attempts == 2  # the drop was resumed
        assert target.warnings == ["1 line not JSON (landed as received; bronze quarantines them)"]
        resumed = server.requests[1]
        assert resumed["since_mtime"] == ["1012"] and resumed["feed"] == ["test"]

        position = json.loads(
            (fast.lake.state / "ingest" / "kinds_stream" / "position.json").read_text()
        )
        assert position["value"] == 1024  # 24 events + the line that is not JSON

        second = stream_kind.run(fast, contract, IngestRequest(base_url=server.url))
        assert second.ok, second.failure_message()
        assert server.requests[-1]["since_mtime"] == ["1024"]
        assert second.targets[0].rows == 26 and second.targets[0].warnings == []

        third = stream_kind.run(fast, contract, IngestRequest(base_url=server.url))
        assert third.ok and third.targets[0].rows == 0 and third.targets[0].objects == 0

    lines = _landed_lines(fast)
    assert _ids(lines) == list(range(1, 51))  # every event once, in order
    assert lines.count(GARBAGE) == 1  # kept, not dropped
    assert "página 3".encode() in b"\n".join(lines)


def test_batches_carry_their_position_and_exact_bytes(fast, contract):
    with FeedServer(drop_at=None, total=12) as server:
        result = stream_kind.run(fast, contract, IngestRequest(base_url=server.url))
    assert result.ok and result.targets[0].rows == 13
    objects = list(iter_objects(fast.lake, "kinds_stream", "events"))
    assert len(objects) == 2
    envelopes = [read_object(p)["envelope"] for p in objects]
    transports = sorted((e["transport"] for e in envelopes), key=lambda t: t["first"])
    assert transports[0] == {
        "kind": "stream",
        "url": f"{server.url}/events",
        "params": {"feed": "test"},
        "first": 1001,
        "last": 1009,
        "records": 10,
    }
    assert transports[1]["first"] == 1010 and transports[1]["last"] == 1012
    assert transports[1]["records"] == 3
    assert all(e["content_type"] == "application/x-ndjson" for e in envelopes)
    expected = b"".join(line + b"\n" for line in FeedServer(total=12).items(None))
    landed = sorted((body_bytes(p) for p in objects), key=len, reverse=True)
    assert b"".join(landed) == expected


def test_server_sent_events_land_their_data_lines(fast, contract):
    sse = _with(contract, format="sse", batch_records=100)
    with FeedServer(fmt="sse", total=20) as server:
        result = stream_kind.run(fast, sse, IngestRequest(base_url=server.url))
    assert result.ok, result.failure_message()
    lines = _landed_lines(fast)
    assert _ids(lines) == list(range(1, 21)) and lines.count(GARBAGE) == 1
    assert not any(line.startswith((b"id:", b":", b"data:")) for line in lines)


def test_max_seconds_ends_an_idle_stream(fast, contract):
    with FeedServer(idle=True) as server:
        started = time.monotonic()
        result = stream_kind.run(
            fast, contract, IngestRequest(base_url=server.url, max_seconds=0.5)
        )
    assert time.monotonic() - started < 4
    assert result.ok and result.targets[0].rows == 0


def test_a_client_error_fails_at_once_with_the_reason(fast, contract):
    with FeedServer(status=404) as server:
        result = stream_kind.run(fast, contract, IngestRequest(base_url=server.url))
    assert not result.ok and len(server.requests) == 1
    assert "HTTP 404: feed says 404" in result.targets[0].reason


def test_server_errors_are_retried_up_to_the_attempt_limit(fast, contract):
    limited = fast.model_copy(update={"http_max_attempts": 3})
    with FeedServer(status=503) as server:
        result = stream_kind.run(limited, contract, IngestRequest(base_url=server.url))
    assert not result.ok and len(server.requests) == 3
    reason = result.targets[0].reason
    assert "HTTP 503" in reason and "3 connections in a row" in reason


def test_a_stream_takes_no_dates_with_or_without_a_topic(contract):
    # Producing to a topic is exercised with a real broker in tests/e2e/test_events_pipeline.py.
    kafka = _with(contract, topic="geo.events", key_field="id")
    stream_kind.check_request(kafka, IngestRequest(max_records=5))
    with pytest.raises(WindowError, match="takes no dates"):
        stream_kind.check_request(
            kafka, IngestRequest(start_date=date(2025, 3, 5), end_date=date(2025, 3, 6))
        )
    with pytest.raises(WindowError, match="takes no dates"):
        stream_kind.check_request(
            contract, IngestRequest(start_date=date(2025, 3, 5), end_date=date(2025, 3, 6))
        )
    stream_kind.check_request(contract, IngestRequest(max_records=5))
