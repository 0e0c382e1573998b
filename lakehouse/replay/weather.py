"""Deterministic, plausible hourly weather in Open-Meteo's response format.

The replay server (:mod:`lakehouse.replay.server`) answers ``/v1/forecast`` and ``/v1/archive``
with values from :func:`hourly_values`, so tests and the demo need no internet and get the same
numbers for the same place and hour whichever request (recent window, backfill, other time zone)
asks for them.

Public API:

- :func:`hourly_values` ``(latitude, longitude, hours_utc, variables=None) -> dict[str, list]``:
  one list per variable, one value per UTC hour. Values follow a seasonal cycle (coldest late
  January), a diurnal cycle by local solar time (warmest mid-afternoon) and smooth pseudo-random
  weather keyed by the grid cell and the hour, so they are stable across processes and runs.
- :func:`snap_to_grid` ``(latitude, longitude) -> (lat, lon)``: the grid cell the values belong to
  (Open-Meteo likewise answers with the coordinates of its model grid cell, not the request's).
- :func:`elevation_m` ``(latitude, longitude) -> float``.
- :data:`VARIABLES`: the supported hourly variables and their units (``hourly_units``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

# Open-Meteo's unit strings for the variables the replay server can produce.
VARIABLES: dict[str, str] = {
    "temperature_2m": "°C",
    "relative_humidity_2m": "%",
    "dew_point_2m": "°C",
    "apparent_temperature": "°C",
    "precipitation": "mm",
    "rain": "mm",
    "weather_code": "wmo code",
    "pressure_msl": "hPa",
    "surface_pressure": "hPa",
    "cloud_cover": "%",
    "wind_speed_10m": "km/h",
    "wind_direction_10m": "°",
}

# About 2.8 km: the order of Open-Meteo's high-resolution models.
GRID_DEG = 0.025


def snap_to_grid(latitude: float, longitude: float) -> tuple[float, float]:
    """Coordinates of the grid cell that holds ``(latitude, longitude)``."""
    return (
        round(round(latitude / GRID_DEG) * GRID_DEG, 6),
        round(round(longitude / GRID_DEG) * GRID_DEG, 6),
    )


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) for ``parts`` (same in every process)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _smooth(cell: tuple[float, float], name: str, hour: int, period_h: int) -> float:
    """Smooth noise in [-1, 1]: random knots every ``period_h`` hours, eased in between."""
    knot, offset = divmod(hour, period_h)
    a = _unit(cell, name, knot) * 2 - 1
    b = _unit(cell, name, knot + 1) * 2 - 1
    t = offset / period_h
    t = t * t * (3 - 2 * t)
    return a + (b - a) * t


def elevation_m(latitude: float, longitude: float) -> float:
    """Elevation of the grid cell in metres (coastal-plausible, deterministic)."""
    cell = snap_to_grid(latitude, longitude)
    return round(5 + 180 * _unit(cell, "elevation") ** 2, 1)


def _hour_values(cell: tuple[float, float], hour_utc: datetime) -> dict[str, float | int]:
    lat, lon = cell
    epoch_hour = int(hour_utc.timestamp() // 3600)
    day_of_year = hour_utc.timetuple().tm_yday + hour_utc.hour / 24
    hemisphere = 1 if lat >= 0 else -1
    # Seasonal cycle: coldest around 20 January in the north, with a latitude-dependent mean.
    seasonal = -math.cos(2 * math.pi * (day_of_year - 20) / 365.25) * hemisphere
    annual_mean = 27.0 - 0.32 * abs(lat)
    season_amp = 3.0 + 0.08 * abs(lat)
    # Diurnal cycle by local solar time: warmest near 15:00, coolest before dawn.
    solar_hour = (hour_utc.hour + hour_utc.minute / 60 + lon / 15) % 24
    diurnal = math.cos(2 * math.pi * (solar_hour - 15) / 24)
    weather = _smooth(cell, "temperature", epoch_hour, 7)
    temperature = annual_mean + season_amp * seasonal + 5.0 * diurnal + 2.5 * weather

    # Californian winters are the cloudy, rainy season.
    cloud = 45 - 15 * seasonal + 50 * _smooth(cell, "cloud", epoch_hour, 9)
    cloud = min(100.0, max(0.0, cloud))
    wet = _smooth(cell, "rain", epoch_hour, 5)
    precipitation = 0.0
    if cloud > 75 and wet > 0.35 + 0.15 * seasonal:
        precipitation = round((wet - 0.2) * 3.0 * (cloud / 100), 1)
        precipitation = max(0.0, precipitation)
    humidity = 68 - 14 * diurnal + 12 * _smooth(cell, "humidity", epoch_hour, 11) + cloud / 10
    if precipitation > 0:
        humidity += 10
    humidity = min(100.0, max(8.0, humidity))
    wind = max(0.0, 9 + 6 * max(diurnal, 0) + 7 * _smooth(cell, "wind", epoch_hour, 6))
    direction = (285 + 70 * _smooth(cell, "direction", epoch_hour, 10)) % 360
    pressure = 1016 + 7 * _smooth(cell, "pressure", epoch_hour, 30)
    pressure -= 3 * precipitation
    elevation = elevation_m(lat, lon)

    # Magnus formula for the dew point; Steadman's apparent temperature (shade, no radiation).
    gamma = math.log(humidity / 100) + 17.27 * temperature / (237.7 + temperature)
    dew_point = 237.7 * gamma / (17.27 - gamma)
    vapour_hpa = humidity / 100 * 6.105 * math.exp(17.27 * temperature / (237.7 + temperature))
    apparent = temperature + 0.33 * vapour_hpa - 0.70 * (wind / 3.6) - 4.0

    if precipitation >= 2.5:
        code = 63
    elif precipitation >= 0.5:
        code = 61
    elif precipitation > 0:
        code = 51
    elif cloud > 85:
        code = 3
    elif cloud > 50:
        code = 2
    elif cloud > 20:
        code = 1
    else:
        code = 0
    return {
        "temperature_2m": round(temperature, 1),
        "relative_humidity_2m": int(round(humidity)),
        "dew_point_2m": round(dew_point, 1),
        "apparent_temperature": round(apparent, 1),
        "precipitation": precipitation,
        "rain": precipitation,
        "weather_code": code,
        "pressure_msl": round(pressure, 1),
        "surface_pressure": round(pressure - elevation / 8.3, 1),
        "cloud_cover": int(round(cloud)),
        "wind_speed_10m": round(wind, 1),
        "wind_direction_10m": int(round(direction)) % 360,
    }


def hourly_values(
    latitude: float,
    longitude: float,
    hours_utc: Iterable[datetime],
    variables: Sequence[str] | None = None,
) -> dict[str, list[float | int]]:
    """Values of ``variables`` (default: all of :data:`VARIABLES`) for each UTC hour.

    Args:
        latitude: Latitude in degrees; snapped to the grid cell like Open-Meteo does.
        longitude: Longitude in degrees.
        hours_utc: Aware datetimes (naive ones are taken as UTC), one per requested hour.
        variables: Open-Meteo hourly variable names, in the order wanted.

    Returns:
        One list per variable, aligned with ``hours_utc``.

    Raises:
        KeyError: A variable is not in :data:`VARIABLES`.
    """
    names = list(variables) if variables is not None else list(VARIABLES)
    unknown = [n for n in names if n not in VARIABLES]
    if unknown:
        raise KeyError(f"unknown hourly variable(s): {', '.join(unknown)}")
    cell = snap_to_grid(latitude, longitude)
    out: dict[str, list[float | int]] = {n: [] for n in names}
    for hour in hours_utc:
        hour = hour.replace(tzinfo=UTC) if hour.tzinfo is None else hour.astimezone(UTC)
        values = _hour_values(cell, hour)
        for n in names:
            out[n].append(values[n])
    return out
