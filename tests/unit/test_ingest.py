"""Weather ingest through the generic HTTP ingester: windows and requests come from the
contract; cities (targets) land or fail alone.

Requests go to a real in-process ``ReplayServer``; the flow runs on the session's temporary
Prefect server (see ``tests/conftest.py``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from flows.ingest import FLOWS, ingest_flow
from lakehouse.contracts import load_contract
from lakehouse.http import SourceClient
from lakehouse.landing import iter_objects, read_object
from lakehouse.replay import Fault, ReplayServer
from lakehouse.runs import latest_run
from lakehouse.source_settings import source_settings
from lakehouse.sources import IngestFailed, IngestRequest, WindowError
from lakehouse.sources import http as source

CONTRACT = load_contract("weather")
NOW = datetime(2025, 3, 20, 14, 35, tzinfo=UTC)
weather_ingest = ingest_flow("weather")


def test_recent_window_is_the_past_day_up_to_the_current_hour():
    window = source.plan_window(CONTRACT, now=NOW)
    assert window.endpoint == "recent"
    assert window.params(CONTRACT) == {
        "start_hour": "2025-03-19T14:00",
        "end_hour": "2025-03-20T14:00",
    }


def test_old_backfill_uses_the_archive_and_recent_backfill_the_forecast():
    old = source.plan_window(CONTRACT, date(2025, 3, 5), date(2025, 3, 11), now=NOW)
    assert old.endpoint == "history"
    assert old.params(CONTRACT) == {"start_date": "2025-03-05", "end_date": "2025-03-11"}
    # Ending exactly min_age_days (5) before today is still too new for the archive.
    edge = source.plan_window(CONTRACT, date(2025, 3, 10), date(2025, 3, 15), now=NOW)
    assert edge.endpoint == "recent" and edge.params(CONTRACT)["end_date"] == "2025-03-15"
    assert source.plan_window(CONTRACT, date(2025, 3, 1), date(2025, 3, 14), now=NOW).endpoint == (
        "history"
    )
    # A range ending today: only the forecast serves it.
    assert source.plan_window(CONTRACT, date(2025, 3, 19), date(2025, 3, 20), now=NOW).endpoint == (
        "recent"
    )


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2025, 3, 5), None, "give both"),
        (date(2025, 3, 6), date(2025, 3, 5), "is after end date"),
        (date(2025, 3, 19), date(2025, 3, 21), "after today"),
    ],
)
def test_bad_windows_are_clear_errors(start, end, message):
    with pytest.raises(WindowError, match=message):
        source.plan_window(CONTRACT, start, end, now=NOW)


MEASURES = [
    "temperature_2m",
    "relative_humidity_2m",
    "apparent_temperature",
    "precipitation",
    "weather_code",
    "pressure_msl",
    "cloud_cover",
    "wind_speed_10m",
    "wind_direction_10m",
]


def test_requests_are_built_from_the_contract(monkeypatch):
    window = source.plan_window(CONTRACT, date(2025, 3, 5), date(2025, 3, 11), now=NOW)
    custom = source_settings(CONTRACT, {"base_url": "http://replay:1/"}, env_file=None)
    requests = source.build_requests(CONTRACT, window, custom)
    assert [r.key for r in requests] == [t["id"] for t in CONTRACT.targets]
    first = requests[0]
    assert first.url == "http://replay:1/v1/archive" and first.method == "GET"
    # Exactly the parameters (and order) the weather ingester always sent, as text.
    assert first.params == {
        "latitude": "37.7749",
        "longitude": "-122.4194",
        "hourly": ",".join(MEASURES),
        "timezone": "GMT",
        "timeformat": "iso8601",
        "start_date": "2025-03-05",
        "end_date": "2025-03-11",
    }
    public = source.build_requests(
        CONTRACT, source.plan_window(CONTRACT, now=NOW), source_settings(CONTRACT, env_file=None)
    )
    assert public[0].url == "https://api.open-meteo.com/v1/forecast"
    assert public[0].params["start_hour"] == "2025-03-19T14:00"
    # The old variable still replaces both hosts; the new one wins over it.
    monkeypatch.setenv("LAKEHOUSE_OPENMETEO_URL", "http://old:2")
    assert (
        source.build_requests(CONTRACT, window, source_settings(CONTRACT, env_file=None))[0].url
        == "http://old:2/v1/archive"
    )
    monkeypatch.setenv("LAKEHOUSE_WEATHER_BASE_URL", "http://new:3")
    assert (
        source.build_requests(CONTRACT, window, source_settings(CONTRACT, env_file=None))[0].url
        == "http://new:3/v1/archive"
    )


def test_inspect_body_honours_utc_offset_seconds():
    body = json.dumps(
        {
            "utc_offset_seconds": -28800,
            "hourly": {"time": ["2025-03-05T00:00", "2025-03-05T01:00"], "temperature_2m": [1, 2]},
        }
    ).encode()
    assert source.inspect_body(CONTRACT, "hourly", body) == {
        "rows": 2,
        "first_event": "2025-03-05T08:00",
        "last_event": "2025-03-05T09:00",
    }
    assert "not valid JSON" in source.inspect_body(CONTRACT, "hourly", body[:20])["warning"]
    empty = source.inspect_body(
        CONTRACT, "hourly", b'{"utc_offset_seconds":0,"hourly":{"time":[]}}'
    )
    assert empty["rows"] == 0 and "no hourly rows" in empty["warning"]


@pytest.fixture
def fast(settings):
    return settings.model_copy(
        update={"http_backoff_base_s": 0.01, "http_backoff_max_s": 0.05, "http_max_attempts": 3}
    )


def _run(settings, url, steps=None, client=None):
    request = IngestRequest(date(2025, 3, 5), date(2025, 3, 6), base_url=url)
    report = (
        (lambda key, text: steps.setdefault(key, []).append(text)) if steps is not None else None
    )
    result = source.run(settings, CONTRACT, request, report, client=client, now=NOW)
    return result, {t.key: t for t in result.targets}


def test_a_target_lands_once_and_an_identical_body_is_reported_unchanged(fast):
    steps: dict[str, list[str]] = {}
    with ReplayServer() as server, SourceClient(fast) as client:
        _, first = _run(fast, server.url, steps, client)
        _, again = _run(fast, server.url, client=client)
    sb, sb_again = first["santa_barbara"], again["santa_barbara"]
    assert sb.ok and sb.objects == 1 and sb.rows == 48 and not sb.duplicate
    assert sb.first_event == "2025-03-05T00:00" and sb.last_event == "2025-03-06T23:00"
    assert steps["santa_barbara"] == ["fetching", "landed"]
    assert sb_again.ok and sb_again.objects == 0 and sb_again.duplicate
    assert sb_again.path == sb.path
    envelope = read_object(fast.lake.root / sb.path)["envelope"]
    assert envelope["key"] == "santa_barbara"
    assert envelope["transport"]["kind"] == "http"
    assert envelope["transport"]["url"].endswith("/v1/archive")
    assert envelope["transport"]["params"]["latitude"] == "34.4208"


def test_a_truncated_body_lands_with_a_warning(fast):
    with ReplayServer(faults=[Fault("san_diego", "truncate", 1)]) as server:
        _, outcomes = _run(fast, server.url)
    outcome = outcomes["san_diego"]
    assert outcome.ok and outcome.objects == 1 and outcome.rows == 0
    assert outcome.warnings == ["body is not valid JSON (landed as received for quarantine)"]
    body = read_object(fast.lake.root / outcome.path)["body"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_a_failed_target_is_a_named_outcome_and_the_others_land(fast):
    steps: dict[str, list[str]] = {}
    with ReplayServer(faults=[Fault("san_diego", "http_500")]) as server:
        result, outcomes = _run(fast, server.url, steps)
    outcome = outcomes["san_diego"]
    assert not outcome.ok and outcome.attempts == 3 and outcome.objects == 0
    assert outcome.reason.startswith("HTTP 500: Internal server error")
    assert steps["san_diego"][0] == "fetching" and steps["san_diego"][1].startswith("retry 2 in")
    assert steps["san_diego"][-1].startswith("failed: HTTP 500")
    keys = {read_object(p)["envelope"]["key"] for p in iter_objects(fast.lake, "weather", "hourly")}
    assert keys == {"san_francisco", "walnut_creek", "santa_barbara"}
    assert result.failure_message().startswith("1 of 4 targets failed: san_diego: HTTP 500")


@pytest.fixture
def fast_env(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_HTTP_BACKOFF_BASE_S", "0.01")
    monkeypatch.setenv("LAKEHOUSE_HTTP_BACKOFF_MAX_S", "0.05")
    monkeypatch.setenv("LAKEHOUSE_HTTP_MAX_ATTEMPTS", "3")


def test_flow_lands_healthy_cities_and_fails_naming_the_broken_one(fast_env, settings):
    with ReplayServer(faults=[Fault("walnut_creek", "http_503")]) as server:
        with pytest.raises(IngestFailed) as caught:
            weather_ingest(
                start_date=date(2025, 3, 5), end_date=date(2025, 3, 5), base_url=server.url
            )
        result = caught.value.result
        assert "walnut_creek: HTTP 503" in str(caught.value)
        assert result["status"] == "failed"
        by_city = {t["key"]: t for t in result["targets"]}
        assert by_city["walnut_creek"]["status"] == "failed"
        assert {c for c, o in by_city.items() if o["status"] == "ok"} == {
            "san_francisco",
            "santa_barbara",
            "san_diego",
        }
        record = latest_run(settings.lake, "ingest", "weather")
        assert record["status"] == "failed" and record["batch_id"] == result["batch_id"]
        assert record["objects"] == 3 and record["rows"] == 3 * 24
        assert record["kind"] == "http"
        assert record["targets"]["walnut_creek"]["reason"].startswith("HTTP 503")

        server.set_faults([])
        healthy = weather_ingest(
            start_date=date(2025, 3, 5), end_date=date(2025, 3, 5), base_url=server.url
        )
    assert healthy["status"] == "ok"
    assert [t["objects"] for t in healthy["targets"]] == [0, 1, 0, 0]  # only walnut_creek is new
    assert len(list(iter_objects(settings.lake, "weather", "hourly"))) == 4
    assert latest_run(settings.lake, "ingest", "weather")["status"] == "ok"


def test_the_flow_is_built_once_per_contract_and_named_after_it():
    assert ingest_flow("weather") is FLOWS["weather"] is weather_ingest
    assert weather_ingest.name == "weather-ingest"
    import flows.ingest

    assert flows.ingest.weather_ingest is weather_ingest
