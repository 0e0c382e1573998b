"""The replay server answers like Open-Meteo, deterministically, and injects faults on demand.

Nothing is faked: requests go to a real ``ReplayServer`` on a free local port (or straight to
:func:`lakehouse.replay.openmeteo.answer` where HTTP adds nothing).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from typer.testing import CliRunner

from lakehouse.cli.app import app
from lakehouse.contracts import load_contract
from lakehouse.replay import Fault, ReplayServer
from lakehouse.replay.openmeteo import answer, cities_of
from lakehouse.replay.weather import VARIABLES, hourly_values

CONTRACT = load_contract("weather")
CITIES = cities_of(CONTRACT)
SAN_DIEGO = next(c for c in CITIES if c.id == "san_diego")
# The hourly variables: the entity's record-level fields (not the body root's, not the key).
MEASURES = [
    f for f in CONTRACT.entity("hourly").fields if not f.source_path.startswith(("$", "envelope."))
]
VARS = ",".join(f.name for f in MEASURES)


def _ask(path="/v1/archive", city=SAN_DIEGO, **params):
    query = {"latitude": city.latitude, "longitude": city.longitude, "hourly": VARS}
    query.update(params)
    reply = answer(path, parse_qs(urlencode(query)), CITIES)
    return reply.status, json.loads(reply.body)


def test_archive_response_has_open_meteos_shape():
    status, body = _ask(start_date="2025-03-05", end_date="2025-03-11", timezone="GMT")
    assert status == 200
    assert {
        "latitude",
        "longitude",
        "generationtime_ms",
        "utc_offset_seconds",
        "timezone",
        "timezone_abbreviation",
        "elevation",
        "hourly_units",
        "hourly",
    } <= set(body)
    assert body["utc_offset_seconds"] == 0 and body["timezone"] == "GMT"
    assert abs(body["latitude"] - SAN_DIEGO.latitude) < 0.05
    hourly = body["hourly"]
    assert hourly["time"][0] == "2025-03-05T00:00" and hourly["time"][-1] == "2025-03-11T23:00"
    assert len(hourly["time"]) == 7 * 24
    for field in MEASURES:
        assert len(hourly[field.name]) == 7 * 24
        assert body["hourly_units"][field.name] == VARIABLES[field.name]
    assert body["hourly_units"]["time"] == "iso8601"


def test_values_are_plausible_and_inside_the_contract_ranges():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    hours = [start + timedelta(hours=i) for i in range(365 * 24)]
    for city in CITIES:
        values = hourly_values(city.latitude, city.longitude, hours)
        for field in MEASURES:
            low, high = field.range
            assert all(low <= v <= high for v in values[field.name]), (city.id, field.name)
        temps = values["temperature_2m"]
        january, july = temps[: 31 * 24], temps[181 * 24 : 212 * 24]
        assert sum(july) / len(july) > sum(january) / len(january) + 4  # seasonal cycle
        # Diurnal cycle: 23 UTC is mid-afternoon in California, 13 UTC before dawn.
        afternoon = [t for h, t in zip(hours, temps, strict=True) if h.hour == 23]
        dawn = [t for h, t in zip(hours, temps, strict=True) if h.hour == 13]
        assert sum(afternoon) / len(afternoon) > sum(dawn) / len(dawn) + 5


def test_same_city_and_hour_give_the_same_values_whichever_request_asks():
    _, backfill = _ask(start_date="2025-03-05", end_date="2025-03-05")
    _, hours = _ask(path="/v1/forecast", start_hour="2025-03-05T10:00", end_hour="2025-03-05T12:00")
    assert hours["hourly"]["time"] == ["2025-03-05T10:00", "2025-03-05T11:00", "2025-03-05T12:00"]
    for name in ("temperature_2m", "pressure_msl", "wind_direction_10m"):
        assert hours["hourly"][name] == backfill["hourly"][name][10:13]


def test_named_time_zone_gives_local_times_and_its_offset():
    _, utc = _ask(start_date="2025-03-05", end_date="2025-03-06")
    _, local = _ask(start_date="2025-03-05", end_date="2025-03-05", timezone="America/Los_Angeles")
    assert local["utc_offset_seconds"] == -8 * 3600
    assert local["timezone"] == "America/Los_Angeles" and local["timezone_abbreviation"] == "PST"
    assert local["hourly"]["time"][0] == "2025-03-05T00:00"
    # Local midnight is 08:00 UTC: the same underlying hours, shifted.
    assert local["hourly"]["temperature_2m"] == utc["hourly"]["temperature_2m"][8:32]


def test_past_and_forecast_days_cover_whole_days():
    status, body = _ask(path="/v1/forecast", past_days=1, forecast_days=1)
    assert status == 200 and len(body["hourly"]["time"]) == 48
    assert body["hourly"]["time"][0].endswith("T00:00")


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (
            {"hourly": "temperature_2m,snowfall_depth_xyz"},
            "invalid String value snowfall_depth_xyz",
        ),
        ({"start_date": "2025-3-5x", "end_date": "2025-03-06"}, "Invalid date format"),
        ({"start_date": "2025-03-06", "end_date": "2025-03-05"}, "End-date must be larger"),
        ({"start_date": "2025-03-06"}, "must both be set"),
        ({"timezone": "Mars/Olympus"}, "Invalid timezone"),
    ],
)
def test_bad_parameters_are_http_400_with_a_reason(params, reason):
    query = {"start_date": "2025-03-05", "end_date": "2025-03-05", **params}
    if "end_date" not in params and "start_date" in params:
        query.pop("end_date")
    status, body = _ask(**query)
    assert status == 400
    assert body["error"] is True and reason in body["reason"]


def test_archive_requires_a_date_range():
    status, body = _ask(path="/v1/archive")
    assert status == 400 and "start_date" in body["reason"]


def test_faults_are_consumed_in_order_per_city_over_http():
    faults = [Fault("san_diego", "http_503", 1), Fault("san_diego", "http_429", 1)]
    params = {
        "latitude": SAN_DIEGO.latitude,
        "longitude": SAN_DIEGO.longitude,
        "hourly": "temperature_2m",
        "start_date": "2025-03-05",
        "end_date": "2025-03-05",
    }
    with ReplayServer(faults=faults, port=0) as server, httpx.Client() as client:
        other = next(c for c in CITIES if c.id == "san_francisco")
        ok_other = client.get(
            f"{server.url}/v1/archive",
            params={**params, "latitude": other.latitude, "longitude": other.longitude},
        )
        first = client.get(f"{server.url}/v1/archive", params=params)
        second = client.get(f"{server.url}/v1/archive", params=params)
        third = client.get(f"{server.url}/v1/archive", params=params)
        log = client.get(f"{server.url}/__replay/requests").json()
    assert ok_other.status_code == 200  # faults only hit their own city
    assert first.status_code == 503 and first.json()["error"] is True
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    assert third.status_code == 200 and len(third.json()["hourly"]["time"]) == 24
    assert [e["status"] for e in log] == [200, 503, 429, 200]
    assert [e["city"] for e in log] == ["san_francisco", "san_diego", "san_diego", "san_diego"]


@pytest.mark.parametrize(
    "kind", ["truncate", "empty_hours", "impossible_temperature", "out_of_range", "null_value"]
)
def test_body_faults(kind):
    query = parse_qs(
        urlencode(
            {
                "latitude": SAN_DIEGO.latitude,
                "longitude": SAN_DIEGO.longitude,
                "hourly": VARS,
                "start_date": "2025-03-05",
                "end_date": "2025-03-05",
            }
        )
    )
    healthy = answer("/v1/archive", query, CITIES)
    reply = answer("/v1/archive", query, CITIES, lambda city: Fault(city, kind))
    assert reply.status == 200 and reply.city == "san_diego" and reply.fault == kind
    if kind == "truncate":
        assert reply.body == healthy.body[: len(healthy.body) // 2]
        with pytest.raises(json.JSONDecodeError):
            json.loads(reply.body)
        return
    hourly = json.loads(reply.body)["hourly"]
    temps = hourly["temperature_2m"]
    if kind == "empty_hours":
        assert all(values == [] for values in hourly.values())
    elif kind == "impossible_temperature":
        assert temps == [999.9] * 24
    elif kind == "out_of_range":
        assert temps.count(999.9) == 1 and all(-90 <= t <= 60 for t in temps if t != 999.9)
    elif kind == "null_value":
        assert temps.count(None) == 1
        assert all(
            v is not None for name, vs in hourly.items() if name != "temperature_2m" for v in vs
        )


def test_a_fault_without_times_applies_to_every_request():
    reply_statuses = []
    fault = Fault("san_diego", "http_500")
    with ReplayServer(faults=[fault]) as server:
        for _ in range(3):
            reply_statuses.append(
                httpx.get(
                    f"{server.url}/v1/forecast",
                    params={"latitude": SAN_DIEGO.latitude, "longitude": SAN_DIEGO.longitude},
                ).status_code
            )
    assert reply_statuses == [500, 500, 500]


def test_admin_endpoint_replaces_lists_and_clears_faults():
    with ReplayServer() as server, httpx.Client(base_url=server.url) as client:
        set_reply = client.post(
            "/__replay/faults", json=[{"city": "walnut_creek", "kind": "http_429", "times": 2}]
        )
        assert set_reply.status_code == 200
        assert client.get("/__replay/faults").json() == [
            {"city": "walnut_creek", "kind": "http_429", "times": 2, "remaining": 2}
        ]
        bad = client.post("/__replay/faults", json=[{"city": "atlantis", "kind": "http_500"}])
        assert bad.status_code == 400 and "unknown city 'atlantis'" in bad.json()["reason"]
        bad_kind = client.post("/__replay/faults", json=[{"city": "walnut_creek", "kind": "x"}])
        assert bad_kind.status_code == 400 and "unknown fault kind" in bad_kind.json()["reason"]
        assert client.delete("/__replay/faults").json() == []
        server.set_faults([Fault("santa_barbara", "truncate", 1)])
        assert client.get("/__replay/faults").json()[0]["city"] == "santa_barbara"


def test_fault_parsing_and_validation():
    assert Fault.parse("san_diego:http_503:2") == Fault("san_diego", "http_503", 2)
    assert Fault.parse("san_diego:truncate") == Fault("san_diego", "truncate", None)
    for text in ("san_diego", "san_diego:http_999", "san_diego:http_500:x", "san_diego:http_500:0"):
        with pytest.raises(ValueError):
            Fault.parse(text)
    with pytest.raises(ValueError, match="unknown city"):
        ReplayServer(faults=[Fault("atlantis", "http_500")])


def test_replay_server_cli_rejects_a_bad_fault_clearly():
    result = CliRunner().invoke(app, ["replay-server", "--port", "0", "--fault", "sd:nope"])
    assert result.exit_code == 2
    assert "unknown fault kind 'nope'" in result.output
