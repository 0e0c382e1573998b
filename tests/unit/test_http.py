"""The source HTTP client retries what may recover, honours Retry-After and explains failures.

Requests go to a real ``ReplayServer`` (faults injected per city) or, for timeouts, to a tiny
local HTTP server that answers slowly; only the waiting between attempts is recorded instead of
slept, so the delays can be checked exactly.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lakehouse.contracts import load_contract
from lakehouse.http import SourceClient, SourceRequestError, parse_retry_after
from lakehouse.replay import Fault, ReplayServer
from lakehouse.replay.openmeteo import cities_of
from lakehouse.settings import Settings

CITY = next(c for c in cities_of(load_contract("weather")) if c.id == "walnut_creek")
PARAMS = {
    "latitude": CITY.latitude,
    "longitude": CITY.longitude,
    "hourly": "temperature_2m",
    "timezone": "GMT",
    "start_date": "2025-03-05",
    "end_date": "2025-03-05",
}


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "http_max_attempts": 4,
            "http_backoff_base_s": 0.05,
            "http_backoff_max_s": 5.0,
            "http_timeout_s": 2.0,
        }
    )


class Sleeps(list):
    """Records the waits between attempts instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _client(settings: Settings, sleeps: Sleeps) -> SourceClient:
    return SourceClient(settings, sleep=sleeps)


def test_http_500_every_time_fails_after_max_attempts(fast):
    sleeps = Sleeps()
    with ReplayServer(faults=[Fault("walnut_creek", "http_500")]) as server:
        with _client(fast, sleeps) as client, pytest.raises(SourceRequestError) as caught:
            client.request("GET", f"{server.url}/v1/archive", params=PARAMS)
        statuses = [r["status"] for r in server.requests]
    error = caught.value
    assert statuses == [500, 500, 500, 500]
    assert error.status == 500 and error.attempts == 4
    assert "HTTP 500" in str(error) and "replay fault http_500" in str(error)
    assert "4 attempts" in str(error)
    # Exponential backoff with up to one base of jitter: 0.05, 0.1, 0.2 (+ 0..0.05 each).
    assert len(sleeps) == 3
    for n, delay in enumerate(sleeps):
        assert 0.05 * 2**n <= delay <= 0.05 * 2**n + 0.05


def test_503_then_429_then_success_honours_retry_after(fast):
    sleeps = Sleeps()
    faults = [Fault("walnut_creek", "http_503", 1), Fault("walnut_creek", "http_429", 1)]
    retries: list[tuple[int, str, float]] = []
    with ReplayServer(faults=faults) as server, _client(fast, sleeps) as client:
        fetched = client.request(
            "GET",
            f"{server.url}/v1/archive",
            params=PARAMS,
            on_retry=lambda *args: retries.append(args),
        )
    assert fetched.status == 200 and fetched.attempts == 3
    assert b'"hourly"' in fetched.content
    assert 0.05 <= sleeps[0] <= 0.1  # backoff after the 503
    assert sleeps[1] == 1.0  # the 429's Retry-After: 1
    assert [(a, r.split(":")[0]) for a, r, _ in retries] == [(1, "HTTP 503"), (2, "HTTP 429")]


def test_retry_after_is_capped_by_the_backoff_maximum(fast):
    sleeps = Sleeps()
    capped = fast.model_copy(update={"http_backoff_max_s": 0.25})
    with ReplayServer(faults=[Fault("walnut_creek", "http_429", 1)]) as server:
        with _client(capped, sleeps) as client:
            client.request("GET", f"{server.url}/v1/archive", params=PARAMS)
    assert sleeps == [0.25]


def test_400_is_not_retried_and_carries_the_apis_reason(fast):
    sleeps = Sleeps()
    with ReplayServer() as server, _client(fast, sleeps) as client:
        with pytest.raises(SourceRequestError) as caught:
            client.request(
                "GET", f"{server.url}/v1/archive", params={**PARAMS, "hourly": "temperature_9m"}
            )
        assert len(server.requests) == 1
    assert caught.value.status == 400 and caught.value.attempts == 1
    assert str(caught.value) == (
        "HTTP 400: Cannot initialize WeatherVariable from invalid String value temperature_9m "
        "for key hourly"
    )
    assert sleeps == []


class _SlowOnce(BaseHTTPRequestHandler):
    """Answers the first request after 1.5 s (past the client's timeout), later ones at once."""

    protocol_version = "HTTP/1.1"
    calls = 0
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        with self.lock:
            type(self).calls += 1
            first = type(self).calls == 1
        if first:
            time.sleep(1.5)
        body = b'{"ok": true}'
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on the slow answer: that is the point of the test

    def log_message(self, *args) -> None:
        pass


def test_a_timeout_is_retried(fast):
    sleeps = Sleeps()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowOnce)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slow"
        with _client(fast.model_copy(update={"http_timeout_s": 0.3}), sleeps) as client:
            fetched = client.request("GET", url)
        assert fetched.attempts == 2 and fetched.content == b'{"ok": true}'
        assert len(sleeps) == 1
        # With a single attempt allowed the timeout is the reason reported.
        _SlowOnce.calls = 0
        one = fast.model_copy(update={"http_timeout_s": 0.3, "http_max_attempts": 1})
        with _client(one, Sleeps()) as client, pytest.raises(SourceRequestError) as caught:
            client.request("GET", url)
        assert caught.value.status is None and "timed out" in str(caught.value)
    finally:
        server.shutdown()
        server.server_close()


def test_connection_refused_is_retried_then_reported(fast):
    sleeps = Sleeps()
    server = ReplayServer()
    url = server.url
    server.stop()  # nothing listens on that port any more
    with _client(fast, sleeps) as client, pytest.raises(SourceRequestError) as caught:
        client.request("GET", f"{url}/v1/archive", params=PARAMS)
    assert caught.value.attempts == 4 and "ConnectError" in str(caught.value)


def test_parse_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_an_error_path_may_join_several_texts() -> None:
    import httpx

    from lakehouse.http import api_reason

    body = {
        "errors": [
            {
                "status": 400,
                "code": 477,
                "title": "INVALID FORMAT",
                "detail": "invalid query parameter format",
                "source": {"parameter": "departureDate"},
            }
        ]
    }
    response = httpx.Response(400, json=body)
    joined = "errors[0].title + errors[0].detail + errors[0].source.parameter"
    assert api_reason(response, [joined]) == (
        "INVALID FORMAT: invalid query parameter format: departureDate"
    )
    assert api_reason(response, ["errors[0].title + errors[0].missing"]) == "INVALID FORMAT"
    assert api_reason(response, ["nothing + here", "errors[0].detail"]) == (
        "invalid query parameter format"
    )


def test_failure_bounds_follow_the_retry_settings() -> None:
    from lakehouse.http import failure_bounds

    settings = Settings(
        http_max_attempts=3,
        http_backoff_base_s=1.0,
        http_backoff_max_s=3.0,
        http_timeout_s=10.0,
        _env_file=None,
    )
    refused, silent = failure_bounds(settings)
    # waits before attempts 2 and 3: min(1*1 + 1, 3) + min(1*2 + 1, 3) = 2 + 3
    assert refused == 5.0
    assert silent == 5.0 + 3 * 10.0
