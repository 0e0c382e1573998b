"""Weather ingest: windows and requests come from the contract; cities land or fail alone.

Requests go to a real in-process ``ReplayServer``; the flow runs on the session's temporary
Prefect server (see ``tests/conftest.py``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from flows.weather import weather_ingest
from lakehouse.contracts import load_contract
from lakehouse.http import SourceClient
from lakehouse.landing import iter_objects, read_object
from lakehouse.replay import Fault, ReplayServer
from lakehouse.runs import latest_run
from lakehouse.sources import weather as source

CONTRACT = load_contract("weather")
NOW = datetime(2025, 3, 20, 14, 35, tzinfo=UTC)


def test_recent_window_is_the_past_day_up_to_the_current_hour():
    window = source.plan_window(CONTRACT, now=NOW)
    assert window.endpoint == "recent"
    assert window.params == {"start_hour": "2025-03-19T14:00", "end_hour": "2025-03-20T14:00"}


def test_old_backfill_uses_the_archive_and_recent_backfill_the_forecast():
    old = source.plan_window(CONTRACT, date(2025, 3, 5), date(2025, 3, 11), now=NOW)
    assert old.endpoint == "history"
    assert old.params == {"start_date": "2025-03-05", "end_date": "2025-03-11"}
    # Ending exactly min_age_days (5) before today is still too new for the archive.
    edge = source.plan_window(CONTRACT, date(2025, 3, 10), date(2025, 3, 15), now=NOW)
    assert edge.endpoint == "recent" and edge.params["end_date"] == "2025-03-15"
    assert source.plan_window(CONTRACT, date(2025, 3, 1), date(2025, 3, 14), now=NOW).endpoint == (
        "history"
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
    with pytest.raises(source.WindowError, match=message):
        source.plan_window(CONTRACT, start, end, now=NOW)


def test_requests_are_built_from_the_contract(settings):
    custom = settings.model_copy(update={"openmeteo_url": "http://replay:1/"})
    window = source.plan_window(CONTRACT, date(2025, 3, 5), date(2025, 3, 11), now=NOW)
    requests = source.build_requests(CONTRACT, custom, window)
    assert [r.city.id for r in requests] == [c.id for c in CONTRACT.cities]
    first = requests[0]
    assert first.url == "http://replay:1/v1/archive" and first.method == "GET"
    assert first.params["hourly"].split(",") == [f.name for f in CONTRACT.entity("hourly").fields]
    assert first.params["timezone"] == "GMT"
    assert first.params["latitude"] == CONTRACT.cities[0].latitude
    assert first.params["start_date"] == "2025-03-05"
    public = source.build_requests(CONTRACT, settings, source.plan_window(CONTRACT, now=NOW))
    assert public[0].url == "https://api.open-meteo.com/v1/forecast"


def test_inspect_body_honours_utc_offset_seconds():
    body = json.dumps(
        {
            "utc_offset_seconds": -28800,
            "hourly": {"time": ["2025-03-05T00:00", "2025-03-05T01:00"], "temperature_2m": [1, 2]},
        }
    ).encode()
    assert source.inspect_body(body) == {
        "rows": 2,
        "first_hour_utc": "2025-03-05T08:00",
        "last_hour_utc": "2025-03-05T09:00",
    }
    assert "not valid JSON" in source.inspect_body(body[:20])["warning"]
    empty = source.inspect_body(b'{"utc_offset_seconds":0,"hourly":{"time":[]}}')
    assert empty["rows"] == 0 and "no hourly rows" in empty["warning"]


@pytest.fixture
def fast(settings):
    return settings.model_copy(
        update={"http_backoff_base_s": 0.01, "http_backoff_max_s": 0.05, "http_max_attempts": 3}
    )


def _requests(settings, url):
    custom = settings.model_copy(update={"openmeteo_url": url})
    window = source.plan_window(CONTRACT, date(2025, 3, 5), date(2025, 3, 6), now=NOW)
    return {r.city.id: r for r in source.build_requests(CONTRACT, custom, window)}


def test_fetch_city_lands_once_and_reports_an_identical_body_as_unchanged(fast):
    with ReplayServer() as server, SourceClient(fast) as client:
        request = _requests(fast, server.url)["santa_barbara"]
        steps: list[str] = []
        first = source.fetch_city(client, fast.lake, request, batch_id="b1", progress=steps.append)
        again = source.fetch_city(client, fast.lake, request, batch_id="b2")
    assert first.ok and first.objects == 1 and first.rows == 48 and not first.duplicate
    assert first.first_hour_utc == "2025-03-05T00:00" and first.last_hour_utc == "2025-03-06T23:00"
    assert steps == ["fetching", "landed"]
    assert again.ok and again.objects == 0 and again.duplicate and again.path == first.path
    envelope = read_object(fast.lake.root / first.path)["envelope"]
    assert envelope["key"] == "santa_barbara" and envelope["batch_id"] == "b1"
    assert envelope["request"]["url"].endswith("/v1/archive")


def test_fetch_city_lands_a_truncated_body_with_a_warning(fast, caplog):
    with ReplayServer(faults=[Fault("san_diego", "truncate", 1)]) as server:
        with SourceClient(fast) as client:
            outcome = source.fetch_city(
                client, fast.lake, _requests(fast, server.url)["san_diego"], batch_id="b1"
            )
    assert outcome.ok and outcome.objects == 1 and outcome.rows == 0
    assert outcome.warnings == ["body is not valid JSON (landed as received for quarantine)"]
    body = read_object(fast.lake.root / outcome.path)["body"]
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_fetch_city_turns_a_failure_into_a_named_outcome(fast):
    with ReplayServer(faults=[Fault("san_diego", "http_500")]) as server:
        with SourceClient(fast) as client:
            steps: list[str] = []
            outcome = source.fetch_city(
                client,
                fast.lake,
                _requests(fast, server.url)["san_diego"],
                batch_id="b1",
                progress=steps.append,
            )
    assert not outcome.ok and outcome.attempts == 3 and outcome.objects == 0
    assert outcome.reason.startswith("HTTP 500: Internal server error")
    assert steps[0] == "fetching" and steps[1].startswith("retry 2 in")
    assert steps[-1].startswith("failed: HTTP 500")
    assert list(iter_objects(fast.lake, "weather", "hourly")) == []


@pytest.fixture
def fast_env(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_HTTP_BACKOFF_BASE_S", "0.01")
    monkeypatch.setenv("LAKEHOUSE_HTTP_BACKOFF_MAX_S", "0.05")
    monkeypatch.setenv("LAKEHOUSE_HTTP_MAX_ATTEMPTS", "3")


def test_flow_lands_healthy_cities_and_fails_naming_the_broken_one(fast_env, settings):
    with ReplayServer(faults=[Fault("walnut_creek", "http_503")]) as server:
        with pytest.raises(source.IngestFailed) as caught:
            weather_ingest(
                start_date=date(2025, 3, 5), end_date=date(2025, 3, 5), base_url=server.url
            )
        result = caught.value.result
        assert "walnut_creek: HTTP 503" in str(caught.value)
        assert result["status"] == "failed"
        by_city = {c["city_id"]: c for c in result["cities"]}
        assert by_city["walnut_creek"]["status"] == "failed"
        assert {c for c, o in by_city.items() if o["status"] == "ok"} == {
            "san_francisco",
            "santa_barbara",
            "san_diego",
        }
        record = latest_run(settings.lake, "ingest", "weather")
        assert record["status"] == "failed" and record["batch_id"] == result["batch_id"]
        assert record["objects"] == 3 and record["rows"] == 3 * 24
        assert record["cities"]["walnut_creek"]["reason"].startswith("HTTP 503")

        server.set_faults([])
        healthy = weather_ingest(
            start_date=date(2025, 3, 5), end_date=date(2025, 3, 5), base_url=server.url
        )
    assert healthy["status"] == "ok"
    assert [c["objects"] for c in healthy["cities"]] == [0, 1, 0, 0]  # only walnut_creek is new
    assert len(list(iter_objects(settings.lake, "weather", "hourly"))) == 4
    assert latest_run(settings.lake, "ingest", "weather")["status"] == "ok"
