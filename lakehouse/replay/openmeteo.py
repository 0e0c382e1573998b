"""Open-Meteo's ``/v1/forecast`` and ``/v1/archive`` answered from :mod:`lakehouse.replay.weather`.

:func:`answer` turns one request (path and query parameters) into status, headers and body bytes
in the real API's format, faults included; :mod:`lakehouse.replay.server` only moves bytes.

Supported parameters: ``latitude``, ``longitude`` (one location), ``hourly`` (comma list),
``timezone`` (``GMT``/``UTC``, ``auto`` or an IANA name: local times and that zone's offset at the
start of the range), ``timeformat`` (``iso8601``/``unixtime``), ``start_date``/``end_date``,
``start_hour``/``end_hour``, ``past_days``/``forecast_days``. Precedence is the real API's: an hour
range wins over a date range, which wins over past/forecast days. ``/v1/archive`` requires a date
range. Errors are HTTP 400 with ``{"error": true, "reason": "..."}`` like Open-Meteo.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lakehouse.contracts import Contract
from lakehouse.replay.faults import Fault
from lakehouse.replay.weather import VARIABLES, elevation_m, hourly_values, snap_to_grid

ENDPOINTS = ("/v1/forecast", "/v1/archive")
# Cities are matched by coordinates like a grid lookup: nearest contract city within this distance.
CITY_MATCH_DEG = 0.1
# Generating values is pure Python; this keeps one request under a second or so.
MAX_HOURS = 24 * 366 * 3
_HOUR_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class City:
    """A place the replay server knows: a contract target with coordinates and a time zone."""

    id: str
    name: str
    latitude: float
    longitude: float
    timezone: str


def cities_of(contract: Contract) -> list[City]:
    """The contract's targets that have coordinates (``id``, ``latitude``, ``longitude``)."""
    cities = []
    for target in contract.targets:
        if "latitude" not in target or "longitude" not in target:
            continue
        cities.append(
            City(
                id=str(target["id"]),
                name=str(target.get("name") or target["id"]),
                latitude=float(target["latitude"]),
                longitude=float(target["longitude"]),
                timezone=str(target.get("timezone") or "UTC"),
            )
        )
    return cities


@dataclass
class Reply:
    """An HTTP answer: status, headers and the exact body bytes."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    city: str | None = None
    fault: str | None = None
    # A streamed answer (chunked, one chunk per item) instead of ``body``; ``cut``: the
    # connection drops after the last item without ending the chunked body.
    stream: Iterator[bytes] | None = None
    cut: bool = False


class BadRequest(ValueError):
    """A request the real API would reject with HTTP 400; the message is its ``reason``."""


def _json(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_reply(status: int, reason: str, **headers: str) -> Reply:
    """Open-Meteo's error shape: ``{"error": true, "reason": "..."}``."""
    return Reply(status, _json({"error": True, "reason": reason}), {**headers})


def match_city(latitude: float, longitude: float, cities: list[City]) -> City | None:
    """The contract city nearest to the coordinates, if within :data:`CITY_MATCH_DEG`."""
    best, best_distance = None, CITY_MATCH_DEG
    for city in cities:
        distance = math.hypot(city.latitude - latitude, city.longitude - longitude)
        if distance <= best_distance:
            best, best_distance = city, distance
    return best


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _float(query: Mapping[str, list[str]], name: str, low: float, high: float) -> float:
    raw = _one(query, name)
    if raw is None or raw == "":
        raise BadRequest(f"Parameter '{name}' is required")
    if "," in raw:
        raise BadRequest("The replay server answers one location per request")
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"Parameter '{name}' is not a number: {raw}") from None
    if not low <= value <= high:
        raise BadRequest(
            f"{name.capitalize()} must be in range of {low:g} to {high:g}°. Given: {value}."
        )
    return value


def _int(query: Mapping[str, list[str]], name: str, default: int, high: int) -> int:
    raw = _one(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Parameter '{name}' must be an integer") from None
    if not 0 <= value <= high:
        raise BadRequest(f"Parameter '{name}' must be between 0 and {high}")
    return value


def _pair(query: Mapping[str, list[str]], prefix: str, fmt: str, label: str):
    start, end = _one(query, f"start_{prefix}"), _one(query, f"end_{prefix}")
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise BadRequest(f"Parameter 'start_{prefix}' and 'end_{prefix}' must both be set")
    try:
        first, last = datetime.strptime(start, fmt), datetime.strptime(end, fmt)
    except ValueError:
        raise BadRequest(f"Invalid {label} format. Make sure to use '{fmt_hint(fmt)}'") from None
    if last < first:
        raise BadRequest(f"End-{prefix} must be larger or equals than start-{prefix}")
    return first, last


def fmt_hint(fmt: str) -> str:
    return (
        fmt.replace("%Y", "YYYY")
        .replace("%m", "MM")
        .replace("%d", "DD")
        .replace("%H", "hh")
        .replace("%M", "mm")
    )


def _zone(name: str, latitude: float, longitude: float, cities: list[City]):
    """Time zone name, ZoneInfo (None for GMT) from the ``timezone`` parameter."""
    if name.upper() in ("GMT", "UTC"):
        return name.upper(), None
    if name == "auto":
        city = match_city(latitude, longitude, cities)
        if city is None:
            return "GMT", None
        name = city.timezone
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest("Invalid timezone") from None


def answer(
    path: str,
    query: Mapping[str, list[str]],
    cities: list[City],
    take_fault=lambda city: None,
    now: datetime | None = None,
) -> Reply:
    """Answer one API request.

    Args:
        path: URL path (``/v1/forecast`` or ``/v1/archive``).
        query: Parsed query string (``urllib.parse.parse_qs``).
        cities: Contract cities, for fault matching and ``timezone=auto``.
        take_fault: Called with the matched city id; returns the :class:`Fault` to apply or None.
        now: Current time (tests pin it); defaults to the clock.

    Returns:
        The reply; errors are 4xx replies in Open-Meteo's error shape, never exceptions.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    if path not in ENDPOINTS:
        return error_reply(404, f"Not found: {path}")
    try:
        latitude = _float(query, "latitude", -90, 90)
        longitude = _float(query, "longitude", -180, 180)
        variables = [v for v in (_one(query, "hourly") or "").split(",") if v]
        for name in variables:
            if name not in VARIABLES:
                raise BadRequest(
                    f"Cannot initialize WeatherVariable from invalid String value {name} "
                    "for key hourly"
                )
        timeformat = _one(query, "timeformat") or "iso8601"
        if timeformat not in ("iso8601", "unixtime"):
            raise BadRequest(f"Invalid timeformat '{timeformat}'")
        zone_name, zone = _zone(_one(query, "timezone") or "GMT", latitude, longitude, cities)
        hours = _pair(query, "hour", _HOUR_FORMAT, "hour")
        dates = _pair(query, "date", "%Y-%m-%d", "date")
        if path == "/v1/archive" and dates is None and hours is None:
            raise BadRequest("Parameter 'start_date' and 'end_date' must both be set")
        past_days = _int(query, "past_days", 0, 92)
        forecast_days = _int(query, "forecast_days", 7, 16)
        if hours is not None:
            local_start, local_end = hours[0], hours[1]
        elif dates is not None:
            local_start, local_end = dates[0], dates[1] + timedelta(hours=23)
        else:
            today = (now + _offset(zone, now.replace(tzinfo=None))).date()
            first = datetime.combine(today - timedelta(days=past_days), datetime.min.time())
            local_start = first
            local_end = first + timedelta(days=past_days + forecast_days, hours=-1)
        if local_start.date() < date(1940, 1, 1):
            raise BadRequest("Parameter 'start_date' is out of allowed range from 1940-01-01")
    except BadRequest as exc:
        return error_reply(400, str(exc))

    city = match_city(latitude, longitude, cities)
    fault: Fault | None = take_fault(city.id if city else None)
    if fault and fault.kind.startswith("http_"):
        status = int(fault.kind.removeprefix("http_"))
        if status == 429:
            reply = error_reply(
                429,
                "Minutely API request limit exceeded. Please try again later.",
                **{"Retry-After": "1"},
            )
        else:
            reply = error_reply(status, f"Internal server error (replay fault {fault.kind})")
        reply.city, reply.fault = city.id if city else None, fault.kind
        return reply

    offset = _offset(zone, local_start)
    count = int((local_end - local_start).total_seconds() // 3600) + 1
    if count > MAX_HOURS:
        return error_reply(400, f"The replay server answers at most {MAX_HOURS} hours per request")
    if fault and fault.kind == "empty_hours":
        count = 0
    local_hours = [local_start + timedelta(hours=i) for i in range(count)]
    utc_hours = [(h - offset).replace(tzinfo=UTC) for h in local_hours]
    grid_lat, grid_lon = snap_to_grid(latitude, longitude)
    body: dict[str, object] = {
        "latitude": grid_lat,
        "longitude": grid_lon,
        "generationtime_ms": 0.0,
        "utc_offset_seconds": int(offset.total_seconds()),
        "timezone": zone_name if zone is not None else "GMT",
        "timezone_abbreviation": _abbreviation(zone, local_start),
        "elevation": elevation_m(latitude, longitude),
    }
    if variables:
        values = hourly_values(latitude, longitude, utc_hours, variables)
        _apply_value_fault(fault, values, variables)
        if timeformat == "unixtime":
            times: list[object] = [int(h.timestamp()) for h in utc_hours]
        else:
            times = [h.strftime(_HOUR_FORMAT) for h in local_hours]
        body["hourly_units"] = {"time": timeformat, **{v: VARIABLES[v] for v in variables}}
        body["hourly"] = {"time": times, **values}
    # The real API reports its own timing; a fixed figure keeps identical requests byte-identical,
    # which is what lets the landing zone's sha256 dedupe be exercised.
    body["generationtime_ms"] = round(0.05 + 0.0004 * count * max(len(variables), 1), 6)
    data = _json(body)
    if fault and fault.kind == "truncate":
        data = data[: len(data) // 2]
    return Reply(
        200,
        data,
        {"Content-Type": "application/json; charset=utf-8"},
        city.id if city else None,
        fault.kind if fault else None,
    )


def _offset(zone: ZoneInfo | None, local: datetime) -> timedelta:
    if zone is None:
        return timedelta(0)
    return local.replace(tzinfo=zone).utcoffset() or timedelta(0)


def _abbreviation(zone: ZoneInfo | None, local: datetime) -> str:
    if zone is None:
        return "GMT"
    return local.replace(tzinfo=zone).tzname() or "GMT"


def _apply_value_fault(fault: Fault | None, values: dict[str, list], variables: list[str]) -> None:
    if fault is None or not any(values.values()):
        return
    if fault.kind == "impossible_temperature" and "temperature_2m" in values:
        values["temperature_2m"] = [999.9] * len(values["temperature_2m"])
    elif fault.kind == "out_of_range" and "temperature_2m" in values:
        series = values["temperature_2m"]
        series[len(series) // 2] = 999.9
    elif fault.kind == "null_value":
        name = "temperature_2m" if "temperature_2m" in values else variables[0]
        series = values[name]
        series[len(series) // 2] = None
