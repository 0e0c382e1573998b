"""What the site shows, read from published gold, the run records and the gates' results.

The renderer only sees a :class:`SiteContent`; the gold side is one ``query`` callable that takes
SQL and returns ``(columns, rows)`` (the shape of :func:`lakehouse.gold.query`), so the page can be
built and tested from any DuckDB database holding the marts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lakehouse.lake import Lake
from lakehouse.runs import latest_run
from lakehouse.site.gates import QualityReport, collect_quality

QueryFn = Callable[[str], tuple[Sequence[str], Sequence[Sequence[Any]]]]

SOURCE = "weather"
# Order of the pipeline; the site shows the latest record of each that exists.
RUN_STEPS = ("ingest", "bronze", "gate", "transform")

CITY_SUMMARY_SQL = """
select city, first_local_date, last_local_date, day_count,
       avg_temperature_c, min_temperature_c, max_temperature_c,
       total_precipitation_mm, wettest_local_date, wettest_day_precipitation_mm
from agg_weather_city_summary
order by city
"""

DAILY_SQL = """
select city, local_date, avg_temperature_c
from agg_weather_daily
where avg_temperature_c is not null
order by city, local_date
"""

LATEST_SQL = """
select l.city, f.observed_at, f.local_observed_at, f.temperature_c, f.apparent_temperature_c,
       f.relative_humidity_pct, f.precipitation_mm, f.weather_code
from fct_weather_hourly as f
join dim_location as l on l.location_id = f.location_id
qualify row_number() over (partition by f.location_id order by f.observed_at desc) = 1
order by l.city
"""

# The fares marts; the fares page exists only when published gold has them (their source's
# contract is registered).
FARES_MART = "agg_fares_cheapest_daily"
FARES_PRESENT_SQL = f"""
select count(*) from information_schema.tables where table_name = '{FARES_MART}'
"""

# Per route, the cheapest fare of the latest day searched (any travel dates searched that day).
FARE_ROUTES_SQL = f"""
select origin_iata, destination_iata, is_international, observed_date, departure_date,
       return_date, cheapest_total_usd, carrier_code, offer_count
from {FARES_MART}
qualify row_number() over (
    partition by origin_iata, destination_iata
    order by observed_date desc, cheapest_total_usd, departure_date, carrier_code
) = 1
order by origin_iata, destination_iata
"""

# Per route, the cheapest fare seen at each number of days before departure.
FARE_CURVE_SQL = """
select origin_iata, destination_iata, days_before_departure,
       min(cheapest_total_usd) as cheapest_total_usd
from agg_fares_booking_curve
group by origin_iata, destination_iata, days_before_departure
order by origin_iata, destination_iata, days_before_departure
"""

# The geo-events marts; the events page exists only when published gold has the clusters.
EVENTS_MART = "geo_venue_clusters"
EVENTS_PRESENT_SQL = f"""
select count(*) from information_schema.tables where table_name = '{EVENTS_MART}'
"""
CLUSTERS_SQL = f"""
select cluster_id, centroid_lat, centroid_lon, venue_count, rsvp_count, top_topic, k, silhouette
from {EVENTS_MART}
order by cluster_id
"""
VENUES_SQL = """
select venue_id, venue_name, venue_lat, venue_lon, group_city, group_country
from dim_venue
where venue_lat is not null and venue_lon is not null
order by venue_id
"""
CITY_RSVPS_SQL = """
select group_country, group_city, rsvp_count, yes_count
from agg_rsvps_by_city
order by rsvp_count desc, group_country, group_city
"""
CITY_HOURLY_SQL = """
select group_country, group_city, hour_at, rsvp_count
from agg_rsvps_by_city_hourly
order by group_country, group_city, hour_at
"""
# The fleet dashboard mart; the fleet page exists only when published gold has it.
FLEET_MART = "agg_fleet_performance_daily"
FLEET_PRESENT_SQL = f"""
select count(*) from information_schema.tables where table_name = '{FLEET_MART}'
"""
# Per unit type and day, newest days first (the page shows the last two weeks).
FLEET_DAYS_SQL = f"""
select unit_type, stat_date, unit_count, fuel_per_100km_mean, fuel_per_100km_p90,
       distance_km_mean, distance_km_p90, hours_active_mean, hours_active_p90
from {FLEET_MART}
where stat_date > (select max(stat_date) from {FLEET_MART}) - interval 14 day
order by stat_date desc, unit_type
"""

# The arrivals marts; the arrivals page exists only when published gold has them.
ARRIVALS_MART = "agg_arrivals_monthly"
ARRIVALS_PRESENT_SQL = f"""
select count(*) from information_schema.tables where table_name = '{ARRIVALS_MART}'
"""

# Per month and port, arrivals by visa category, with the port city's average temperature.
ARRIVALS_SQL = f"""
select a.arrival_year, a.arrival_month, a.port_code, a.port_name,
       sum(case when a.visa_category = 'Business' then a.arrivals else 0 end) as business,
       sum(case when a.visa_category = 'Pleasure' then a.arrivals else 0 end) as pleasure,
       sum(case when a.visa_category = 'Student' then a.arrivals else 0 end) as student,
       sum(a.arrivals) as arrivals,
       max(t.avg_temperature_c) as avg_temperature_c
from {ARRIVALS_MART} as a
left join agg_arrivals_port_temperature as t
    on t.arrival_year = a.arrival_year and t.arrival_month = a.arrival_month
    and t.port_code = a.port_code
group by a.arrival_year, a.arrival_month, a.port_code, a.port_name
order by a.arrival_year desc, a.arrival_month desc, arrivals desc, a.port_code
"""

# WMO weather interpretation codes as Open-Meteo documents them.
WMO_CODES = {
    0: "Clear sky",
    1: "Mainly clear",
    2: "Partly cloudy",
    3: "Overcast",
    45: "Fog",
    48: "Depositing rime fog",
    51: "Light drizzle",
    53: "Moderate drizzle",
    55: "Dense drizzle",
    56: "Light freezing drizzle",
    57: "Dense freezing drizzle",
    61: "Slight rain",
    63: "Moderate rain",
    65: "Heavy rain",
    66: "Light freezing rain",
    67: "Heavy freezing rain",
    71: "Slight snow fall",
    73: "Moderate snow fall",
    75: "Heavy snow fall",
    77: "Snow grains",
    80: "Slight rain showers",
    81: "Moderate rain showers",
    82: "Violent rain showers",
    85: "Slight snow showers",
    86: "Heavy snow showers",
    95: "Thunderstorm",
    96: "Thunderstorm with slight hail",
    99: "Thunderstorm with heavy hail",
}

_RUN_FIELDS_SHOWN_APART = {"step", "source", "run_id", "status", "started_at", "finished_at"}
# Ids and file locations help an operator on the machine (`lakehouse status`), not a reader of
# a published site, which must not reveal the host's folders.
_RUN_FIELD_SUFFIXES_HIDDEN = ("_id", "_ids", "_path", "_dir", "_docs")


def format_number(value: Any, decimals: int = 1) -> str:
    """Format a measure the way the site's table shows it (tests compare gold through this too).

    Args:
        value: A number or None.
        decimals: Digits after the point.

    Returns:
        The fixed-point text, ``"–"`` for a missing value; never ``-0.0``.
    """
    if value is None:
        return "–"
    text = f"{float(value):.{decimals}f}"
    # -0.04 rounds to "-0.0", which reads like a different number from 0.0 in a table.
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def format_date(value: Any) -> str:
    """ISO date (``YYYY-MM-DD``) of a date, datetime or ISO string; ``–`` when missing."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def format_timestamp(value: Any) -> str:
    """``YYYY-MM-DD HH:MM`` of a datetime or ISO string; ``–`` when missing."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(value).replace("T", " ")
    return text[:16]


@dataclass(frozen=True)
class CitySeries:
    """Daily average temperature of one city, oldest day first."""

    city: str
    dates: list[str]
    avg_temperature_c: list[float]


@dataclass(frozen=True)
class FareSeries:
    """Cheapest fare of one route against days before departure, farthest day first."""

    route: str
    days_before_departure: list[int]
    cheapest_total_usd: list[float]


@dataclass(frozen=True)
class FaresContent:
    """The fares page: the cheapest fare per route and the booking curve."""

    routes: list[dict[str, Any]]
    series: list[FareSeries]

    @property
    def domestic(self) -> list[dict[str, Any]]:
        return [r for r in self.routes if not r["is_international"]]

    @property
    def international(self) -> list[dict[str, Any]]:
        return [r for r in self.routes if r["is_international"]]

    @property
    def searched_through(self) -> str | None:
        """Latest UTC day a search was made."""
        days = [format_date(r["observed_date"]) for r in self.routes]
        return max(days) if days else None


@dataclass(frozen=True)
class FleetContent:
    """The fleet page: count, mean and p90 of the daily statistics per unit type and day."""

    days: list[dict[str, Any]]

    @property
    def stat_through(self) -> str | None:
        """Latest day with statistics."""
        return format_date(self.days[0]["stat_date"]) if self.days else None

    @property
    def latest(self) -> list[dict[str, Any]]:
        """The rows of the latest day, one per unit type."""
        return [r for r in self.days if format_date(r["stat_date"]) == self.stat_through]


def route_name(origin: str, destination: str) -> str:
    """``SFO-JFK``: how the fares page names a route (tests compare with it too)."""
    return f"{origin}-{destination}"


@dataclass(frozen=True)
class CityRsvpSeries:
    """RSVPs of one city per UTC hour, oldest first."""

    city: str
    hours: list[str]
    rsvp_count: list[int]


@dataclass(frozen=True)
class EventsContent:
    """The events page: venue clusters on a map, RSVPs per city and over time."""

    clusters: list[dict[str, Any]]
    venues: list[dict[str, Any]]  # with the cluster_id of their nearest centroid
    cities: list[dict[str, Any]]
    series: list[CityRsvpSeries]

    @property
    def k(self) -> int | None:
        return int(self.clusters[0]["k"]) if self.clusters else None

    @property
    def silhouette(self) -> float | None:
        return float(self.clusters[0]["silhouette"]) if self.clusters else None


def city_name(country: str, city: str) -> str:
    """``Salisbury (gb)``: how the events page names a group city (tests compare with it too)."""
    return f"{city} ({country})"


@dataclass(frozen=True)
class RunStatus:
    """The latest run of one pipeline step, or its absence."""

    step: str
    status: str | None = None
    finished_at: str | None = None
    run_id: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SiteContent:
    """Everything the site's pages show (``quality``: the "Quality gates" page)."""

    city_summary: list[dict[str, Any]]
    series: list[CitySeries]
    latest: list[dict[str, Any]]
    runs: list[RunStatus]
    quality: QualityReport = field(default_factory=QualityReport)
    fares: FaresContent | None = None
    events: EventsContent | None = None
    # Arrivals per month and port (agg_arrivals_monthly), when gold has them.
    arrivals: list[dict[str, Any]] | None = None
    fleet: FleetContent | None = None

    @property
    def data_through(self) -> str | None:
        """Last local date any city has data for."""
        dates = [format_date(r["last_local_date"]) for r in self.city_summary]
        dates = [d for d in dates if d != "–"]
        return max(dates) if dates else None

    @property
    def gate(self) -> RunStatus:
        """The latest gate run (status None when the gates never ran)."""
        return next((r for r in self.runs if r.step == "gate"), RunStatus(step="gate"))


def _records(query: QueryFn, sql: str) -> list[dict[str, Any]]:
    columns, rows = query(sql)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _series(rows: list[dict[str, Any]]) -> list[CitySeries]:
    by_city: dict[str, CitySeries] = {}
    for row in rows:
        series = by_city.setdefault(row["city"], CitySeries(row["city"], [], []))
        series.dates.append(format_date(row["local_date"]))
        # Two decimals keep the page small and byte-stable; the hover shows one.
        series.avg_temperature_c.append(round(float(row["avg_temperature_c"]), 2))
    return [by_city[c] for c in sorted(by_city)]


def _detail_value(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str) and (value.startswith("/") or value[1:3] == ":\\"):
        return None  # an absolute path
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format_number(value, 2)
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, list):
        if all(isinstance(v, int | float | str) for v in value):
            return ", ".join(str(v) for v in value)
        return f"{len(value)} items"
    return None


def _run_details(record: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten a run record's own fields (counts, gate results) one level deep for display."""
    details: list[tuple[str, str]] = []
    for key in sorted(record):
        if key in _RUN_FIELDS_SHOWN_APART or key.endswith(_RUN_FIELD_SUFFIXES_HIDDEN):
            continue
        value = record[key]
        if isinstance(value, dict):
            for sub in sorted(value):
                if sub.endswith(_RUN_FIELD_SUFFIXES_HIDDEN):
                    continue
                text = _detail_value(value[sub])
                if text is not None:
                    details.append((f"{key}.{sub}", text))
            continue
        text = _detail_value(value)
        if text is not None:
            details.append((key, text))
    return details


def collect_runs(lake: Lake, source: str = SOURCE) -> list[RunStatus]:
    """The latest record of each pipeline step for ``source``."""
    runs = []
    for step in RUN_STEPS:
        record = latest_run(lake, step, source)
        if record is None:
            runs.append(RunStatus(step=step))
            continue
        runs.append(
            RunStatus(
                step=step,
                status=str(record.get("status", "unknown")),
                finished_at=format_timestamp(record.get("finished_at")),
                run_id=str(record.get("run_id", "")),
                details=_run_details(record),
            )
        )
    return runs


def collect_fares(query: QueryFn) -> FaresContent | None:
    """The fares page's content; None when published gold has no fares marts."""
    _, rows = query(FARES_PRESENT_SQL)
    if not rows or not rows[0][0]:
        return None
    by_route: dict[str, FareSeries] = {}
    for row in _records(query, FARE_CURVE_SQL):
        name = route_name(row["origin_iata"], row["destination_iata"])
        series = by_route.setdefault(name, FareSeries(name, [], []))
        series.days_before_departure.append(int(row["days_before_departure"]))
        series.cheapest_total_usd.append(round(float(row["cheapest_total_usd"]), 2))
    for series in by_route.values():  # farthest from departure first, as time runs
        series.days_before_departure.reverse()
        series.cheapest_total_usd.reverse()
    return FaresContent(
        routes=_records(query, FARE_ROUTES_SQL),
        series=[by_route[r] for r in sorted(by_route)],
    )


def collect_events(query: QueryFn) -> EventsContent | None:
    """The events page's content; None when published gold has no venue clusters."""
    from spark.geo_clusters import nearest

    _, rows = query(EVENTS_PRESENT_SQL)
    if not rows or not rows[0][0]:
        return None
    clusters = _records(query, CLUSTERS_SQL)
    centroids = [(float(c["centroid_lat"]), float(c["centroid_lon"])) for c in clusters]
    venues = _records(query, VENUES_SQL)
    for venue in venues:
        # The cluster KMeans assigns a point to: the nearest centroid on the sphere.
        at = nearest(centroids, float(venue["venue_lat"]), float(venue["venue_lon"]))
        venue["cluster_id"] = clusters[at]["cluster_id"] if centroids else None
    by_city: dict[str, CityRsvpSeries] = {}
    for row in _records(query, CITY_HOURLY_SQL):
        name = city_name(row["group_country"], row["group_city"])
        series = by_city.setdefault(name, CityRsvpSeries(name, [], []))
        series.hours.append(format_timestamp(row["hour_at"]))
        series.rsvp_count.append(int(row["rsvp_count"]))
    return EventsContent(
        clusters=clusters,
        venues=venues,
        cities=_records(query, CITY_RSVPS_SQL),
        series=[by_city[c] for c in sorted(by_city)],
    )


def collect_fleet(query: QueryFn) -> FleetContent | None:
    """The fleet page's content; None when published gold has no fleet dashboard mart."""
    _, rows = query(FLEET_PRESENT_SQL)
    if not rows or not rows[0][0]:
        return None
    return FleetContent(days=_records(query, FLEET_DAYS_SQL))


def collect_arrivals(query: QueryFn) -> list[dict[str, Any]] | None:
    """The arrivals page's rows; None when published gold has no arrivals marts."""
    _, rows = query(ARRIVALS_PRESENT_SQL)
    if not rows or not rows[0][0]:
        return None
    return _records(query, ARRIVALS_SQL)


def collect_content(query: QueryFn, lake: Lake) -> SiteContent:
    """Read the marts and run records the site shows.

    Args:
        query: Runs SQL against published gold and returns ``(columns, rows)``.
        lake: The lake whose run records are shown.

    Returns:
        The content of the pages.
    """
    latest = _records(query, LATEST_SQL)
    for row in latest:
        code = row.get("weather_code")
        row["weather"] = WMO_CODES.get(int(code), f"code {code}") if code is not None else "–"
    return SiteContent(
        city_summary=_records(query, CITY_SUMMARY_SQL),
        series=_series(_records(query, DAILY_SQL)),
        latest=latest,
        runs=collect_runs(lake),
        quality=collect_quality(lake),
        fares=collect_fares(query),
        events=collect_events(query),
        arrivals=collect_arrivals(query),
        fleet=collect_fleet(query),
    )
