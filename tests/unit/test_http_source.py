"""The HTTP ingester on contracts other than weather: OAuth2 client credentials, next-link and
offset pagination, POST JSON bodies, fan-out over targets x vary, and rate limits.

Requests go to a real threaded HTTP server in this module that stands in for a token-protected
API (the only fake); contracts are built in the test, the way a YAML file would declare them.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lakehouse.contracts import Contract
from lakehouse.http import RateLimiter
from lakehouse.landing import iter_objects, read_object
from lakehouse.settings import Settings
from lakehouse.sources import IngestRequest, WindowError, run_record_fields
from lakehouse.sources import http as source
from lakehouse.sources.templates import TemplateRenderError, render_json, render_params

CLIENT_ID = "lakehouse-test-client"
SECRET = "s3cret-client-value-9c1f"
NOW = datetime(2025, 3, 20, 14, 35, tzinfo=UTC)


class Api:
    """What the fake API saw and how it behaves."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.tokens: list[str] = []
        self.valid: set[str] = set()
        self.expires_in = 3600
        self.revoke_after_uses: int | None = None  # a token stops working after this many uses
        self.always_401 = False
        self.uses: dict[str, int] = {}

    def token(self) -> str:
        with self.lock:
            token = f"tok-{len(self.tokens) + 1}"
            self.tokens.append(token)
            self.valid.add(token)
            return token

    def authorised(self, header: str | None) -> bool:
        if self.always_401:
            return False
        token = (header or "").removeprefix("Bearer ")
        with self.lock:
            if token not in self.valid:
                return False
            self.uses[token] = self.uses.get(token, 0) + 1
            if self.revoke_after_uses is not None and self.uses[token] > self.revoke_after_uses:
                self.valid.discard(token)
                return False
            return True


def _handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            entry = {
                "method": self.command,
                "path": url.path,
                "query": query,
                "auth": self.headers.get("Authorization"),
                "trace": self.headers.get("X-Trace"),
                "at": time.monotonic(),
            }
            with api.lock:
                api.requests.append(entry)
            if url.path == "/oauth/token":
                form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
                entry["form"] = {k: v for k, v in form.items() if k != "client_secret"}
                if form.get("client_id") != CLIENT_ID or form.get("client_secret") != SECRET:
                    self._send(401, {"error": "invalid_client"})
                    return
                token = api.token()
                self._send(200, {"access_token": token, "expires_in": api.expires_in})
                return
            if url.path == "/v1/offers":
                if not api.authorised(entry["auth"]):
                    self._send(401, {"errors": [{"detail": "access token expired"}]})
                    return
                request = json.loads(raw) if raw else {}
                entry["json"] = request
                offers = [
                    {"id": f"{request.get('origin')}-{i}", "at": "2025-03-05T10:00:00"}
                    for i in range(2)
                ]
                self._send(200, {"data": offers, "echo": request})
                return
            if url.path == "/v1/items":
                page = int(query.get("page", 1))
                nxt = f"/v1/items?page={page + 1}&kind={query.get('kind')}" if page < 3 else None
                items = [
                    {"id": f"p{page}-{i}", "at": f"2025-03-0{page}T00:00:00"} for i in range(2)
                ]
                self._send(200, {"data": items, "links": {"next": nxt}})
                return
            if url.path == "/v1/rows":
                rows = [{"id": f"r{i}", "at": "2025-03-05T00:00:00"} for i in range(12)]
                offset, limit = int(query.get("offset", 0)), int(query.get("limit", 100))
                self._send(200, {"data": rows[offset : offset + limit], "meta": {"total": 12}})
                return
            self._send(404, {"error": f"no {url.path}"})

        do_GET = do_POST = _serve

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    state = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"http_backoff_base_s": 0.01, "http_backoff_max_s": 0.05, "http_max_attempts": 2}
    )


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_SECRET", SECRET)


def make_contract(
    source: dict[str, Any], name: str = "flights", entity: str = "offers"
) -> Contract:
    return Contract.model_validate(
        {
            "name": name,
            "description": "test source",
            "owner": "tests",
            "source": {"kind": "http", "base_url": "https://api.example.invalid", **source},
            "schedule": {"cron": "0 * * * *"},
            "entities": {
                entity: {
                    "description": "records",
                    "grain": "one per id",
                    "bronze_table": f"{name}__{entity}",
                    "layout": {"type": "records", "path": "data"},
                    "natural_key": ["id"],
                    "event_time": {
                        "column": "at_utc",
                        "source_field": "at",
                        "format": "%Y-%m-%dT%H:%M:%S",
                    },
                    "partition_by": "at_date",
                    "late_records": {"policy": "latest_fetched_at_wins"},
                    "fields": [
                        {"name": "id", "type": "string", "role": "key"},
                        {"name": "price", "path": "price.total", "type": "decimal"},
                        {"name": "route", "path": "envelope.key", "type": "string"},
                    ],
                }
            },
        }
    )


FLIGHTS = {
    "settings": {"client_secret": {"secret": True, "description": "OAuth2 client secret"}},
    "auth": {"type": "oauth2_client_credentials", "token_path": "/oauth/token"},
    "rate_limit": {"max_concurrency": 2},
    "targets": {
        "key": "route",
        "items": [
            {"id": "SFO-JFK", "origin": "SFO", "destination": "JFK", "adults": 1},
            {"id": "LAX-ORD", "origin": "LAX", "destination": "ORD", "adults": 2},
        ],
        "vary": {"departure_offset_days": [7, 14]},
    },
    "headers": {"X-Trace": "{{ target.id }}/{{ target.departure_offset_days }}"},
    "endpoints": {
        "search": {
            "method": "POST",
            "path": "/v1/offers",
            "json": {
                "origin": "{{ target.origin }}",
                "destination": "{{ target.destination }}",
                "departure": "{{ (today + days(target.departure_offset_days)).isoformat() }}",
                "adults": "{{ target.adults }}",
                "note": "from {{ target.origin }}",
                "fields": "{{ fields | join(',') }}",
            },
        }
    },
}


def _run(settings: Settings, contract: Contract, url: str, **request: Any):
    steps: dict[str, list[str]] = {}
    result = source.run(
        settings,
        contract,
        IngestRequest(base_url=url, **request),
        lambda key, text: steps.setdefault(key, []).append(text),
        now=NOW,
    )
    return result, {t.key: t for t in result.targets}, steps


def _landed_text(settings: Settings, name: str, entity: str) -> str:
    return "".join(
        gzip.decompress(p.read_bytes()).decode() for p in iter_objects(settings.lake, name, entity)
    )


# ------------------------------------------------------------------ OAuth2 and POST bodies


def test_oauth2_post_targets_times_vary_land_without_secrets(api, fast, credentials) -> None:
    state, url = api
    result, outcomes, steps = _run(fast, make_contract(FLIGHTS), url)
    assert result.ok, result.failure_message()
    assert sorted(outcomes) == ["LAX-ORD__14", "LAX-ORD__7", "SFO-JFK__14", "SFO-JFK__7"]
    assert all(o.rows == 2 and o.objects == 1 for o in outcomes.values())
    assert steps["SFO-JFK__7"] == ["fetching", "landed"]
    # One token for the whole run, sent as a bearer token on every search.
    assert state.tokens == ["tok-1"]
    searches = [r for r in state.requests if r["path"] == "/v1/offers"]
    assert {r["auth"] for r in searches} == {"Bearer tok-1"}
    token_request = next(r for r in state.requests if r["path"] == "/oauth/token")
    assert token_request["form"] == {"grant_type": "client_credentials", "client_id": CLIENT_ID}
    # JSON bodies: whole expressions keep their type, other templates are text.
    body = next(r["json"] for r in searches if r["trace"] == "LAX-ORD/14")
    assert body == {
        "origin": "LAX",
        "destination": "ORD",
        "departure": (NOW.date() + timedelta(days=14)).isoformat(),
        "adults": 2,
        "note": "from LAX",
        "fields": "id,price.total",
    }
    # The landing keeps the request (JSON body, non-secret headers), never a credential.
    landed = _landed_text(fast, "flights", "offers")
    assert SECRET not in landed and "tok-1" not in landed and "Bearer" not in landed
    envelope = read_object(fast.lake.root / outcomes["SFO-JFK__7"].path)["envelope"]
    transport = envelope["transport"]
    assert envelope["key"] == "SFO-JFK__7"
    assert transport["method"] == "POST" and transport["url"] == f"{url}/v1/offers"
    assert transport["headers"] == {"X-Trace": "SFO-JFK/7"}
    assert transport["json"]["origin"] == "SFO"
    assert SECRET not in json.dumps(run_record_fields(result))


def test_a_token_is_renewed_shortly_before_it_expires(api, fast, credentials) -> None:
    state, url = api
    state.expires_in = 30  # inside the default 60 s refresh margin: never reused
    contract = make_contract({**FLIGHTS, "rate_limit": {"max_concurrency": 1}})
    result, _, _ = _run(fast, contract, url)
    assert result.ok
    assert len(state.tokens) == 4


def test_a_401_renews_the_token_once_and_the_request_succeeds(api, fast, credentials) -> None:
    state, url = api
    state.revoke_after_uses = 1
    contract = make_contract({**FLIGHTS, "rate_limit": {"max_concurrency": 1}})
    result, outcomes, steps = _run(fast, contract, url)
    assert result.ok, result.failure_message()
    assert len(state.tokens) == 4  # the first use of each token works, the next one is refused
    assert any("renewing" in step for step in steps["SFO-JFK__14"] + steps["LAX-ORD__7"])


def test_a_token_refused_twice_fails_the_target_naming_the_api_reason(
    api, fast, credentials
) -> None:
    state, url = api
    state.always_401 = True
    contract = make_contract({**FLIGHTS, "rate_limit": {"max_concurrency": 1}})
    result, outcomes, _ = _run(fast, contract, url)
    assert not result.ok and len(result.failed) == 4
    assert outcomes["SFO-JFK__7"].reason == "HTTP 401: access token expired"
    searches = [r for r in state.requests if r["path"] == "/v1/offers"]
    assert len(searches) == 8  # each target: the first try and one after renewing


def test_missing_credentials_fail_every_target_naming_the_variables(api, fast, monkeypatch) -> None:
    _, url = api
    # tests/conftest.py gives every test the replay's credentials; this one has none.
    monkeypatch.delenv("LAKEHOUSE_FLIGHTS_CLIENT_ID", raising=False)
    monkeypatch.delenv("LAKEHOUSE_FLIGHTS_CLIENT_SECRET", raising=False)
    result, outcomes, _ = _run(fast, make_contract(FLIGHTS), url)
    assert not result.ok
    assert all("LAKEHOUSE_FLIGHTS_CLIENT_ID" in o.reason for o in outcomes.values())
    assert all("LAKEHOUSE_FLIGHTS_CLIENT_SECRET" in o.reason for o in outcomes.values())


def test_a_wrong_secret_stops_the_run_naming_both_settings_and_never_the_secret(
    api, fast, monkeypatch
) -> None:
    from lakehouse.sources import CredentialsRejected

    state, url = api
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_SECRET", "wrong-secret-value")
    with pytest.raises(CredentialsRejected) as caught:
        _run(fast, make_contract(FLIGHTS), url)
    message = str(caught.value)
    assert "\n" not in message
    assert "LAKEHOUSE_FLIGHTS_CLIENT_ID" in message
    assert "LAKEHOUSE_FLIGHTS_CLIENT_SECRET" in message
    assert "HTTP 401: invalid_client" in message
    assert "wrong-secret-value" not in message
    # The token is asked for before any target: no search went out, nothing landed.
    assert [r for r in state.requests if r["path"] == "/v1/offers"] == []


# ------------------------------------------------------------------ pagination


def test_next_link_pages_land_as_their_own_objects(api, fast) -> None:
    _, url = api
    contract = make_contract(
        {
            "pagination": {"type": "next_link", "next_path": "links.next"},
            "endpoints": {"items": {"path": "/v1/items", "params": {"kind": "all"}}},
        },
        name="catalog",
        entity="items",
    )
    result, outcomes, _ = _run(fast, contract, url)
    assert result.ok
    outcome = outcomes["catalog"]
    assert outcome.objects == 3 and outcome.rows == 6
    assert outcome.first_event == "2025-03-01T00:00" and outcome.last_event == "2025-03-03T00:00"
    envelopes = [read_object(p)["envelope"] for p in iter_objects(fast.lake, "catalog", "items")]
    assert sorted(e["key"] for e in envelopes) == ["catalog", "catalog__p2", "catalog__p3"]
    assert sorted(e["transport"]["page"] for e in envelopes) == [1, 2, 3]
    page3 = next(e for e in envelopes if e["transport"]["page"] == 3)
    assert page3["transport"]["url"] == f"{url}/v1/items?page=3&kind=all"


def test_offset_pages_until_the_total(api, fast) -> None:
    state, url = api
    contract = make_contract(
        {
            "pagination": {
                "type": "offset",
                "limit": 5,
                "records_path": "data",
                "total_path": "meta.total",
            },
            "endpoints": {"rows": {"path": "/v1/rows"}},
        },
        name="ledger",
        entity="rows",
    )
    result, outcomes, _ = _run(fast, contract, url)
    assert result.ok and outcomes["ledger"].rows == 12 and outcomes["ledger"].objects == 3
    asked = [r["query"] for r in state.requests if r["path"] == "/v1/rows"]
    assert [(q["offset"], q["limit"]) for q in asked] == [("0", "5"), ("5", "5"), ("10", "5")]


# ------------------------------------------------------------------ rate limit


def test_requests_per_second_spaces_request_starts(api, fast) -> None:
    state, url = api
    items = [{"id": f"t{i}"} for i in range(6)]
    contract = make_contract(
        {
            "rate_limit": {"max_concurrency": 4, "requests_per_second": 20},
            "targets": {"items": items},
            "endpoints": {"rows": {"path": "/v1/rows", "params": {"limit": 50}}},
        },
        name="ledger",
        entity="rows",
    )
    started = time.monotonic()
    result, _, _ = _run(fast, contract, url)
    elapsed = time.monotonic() - started
    assert result.ok and len(result.targets) == 6 and len(state.requests) == 6
    assert elapsed >= 5 * 0.05  # six starts, 50 ms apart at least


def test_rate_limiter_spaces_calls_across_threads() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))

    limiter = RateLimiter(4, clock=lambda: now[0], sleep=sleep)
    threads = [threading.Thread(target=limiter.wait) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(slept) == [0.25, 0.5, 0.75]  # the first call goes at once
    RateLimiter(None, sleep=sleep).wait()
    assert len(slept) == 3


# ------------------------------------------------------------------ windows and templates


def test_a_source_without_a_window_takes_no_dates() -> None:
    contract = make_contract({"endpoints": {"rows": {"path": "/v1/rows"}}}, "ledger", "rows")
    assert source.plan_window(contract, now=NOW).mode == "always"
    with pytest.raises(WindowError, match="has no date window"):
        source.plan_window(contract, date(2025, 3, 1), date(2025, 3, 2), now=NOW)


def test_templates_are_strict_and_sandboxed() -> None:
    context = {"target": {"id": "a", "latitude": 37.7749}, "today": NOW.date()}
    assert render_params({"lat": "{{ target.latitude }}", "n": 5, "t": True}, context) == {
        "lat": "37.7749",
        "n": "5",
        "t": "true",
    }
    with pytest.raises(TemplateRenderError, match="lattitude"):
        render_params({"lat": "{{ target.lattitude }}"}, context)
    with pytest.raises(TemplateRenderError):
        render_json({"x": "{{ target.__class__.__mro__ }}"}, context)
    assert render_json({"d": "{{ today }}", "v": [1, "{{ target.id }}"]}, context) == {
        "d": "2025-03-20",
        "v": [1, "a"],
    }
