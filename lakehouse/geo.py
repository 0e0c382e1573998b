"""Geography helpers: the IANA time zone of a coordinate, and airports' zones for dbt.

:func:`timezone_at` asks ``timezonefinder`` (maintained, offline: its polygons ship in the
``timezonefinder-data`` wheel), so no zone is ever typed by hand.

Airports come in OurAirports' ``airport-codes`` layout (``ident,type,name,elevation_ft,
continent,iso_country,iso_region,municipality,gps_code,iata_code,local_code,coordinates``,
``coordinates`` = ``"lon, lat"``). Warehouses have no time-zone-polygon function, so the zone is
derived here, once per airport, into a second seed ``airport_timezones.csv`` (``ident``,
``timezone``) that ``dim_airport`` joins; ``airport_codes.csv`` stays in the source's exact
layout. Regenerate after changing the airports::

    cd dbt_project/seeds && python -m lakehouse.geo airport_codes.csv airport_timezones.csv

A unit test fails when the committed zones differ from what this derives.

Reading: ``csv`` keeps every value as text, so ``NA`` (North America's continent code, and
Namibia's country code) stays ``NA``; pandas users must pass ``keep_default_na=False`` with an
explicit ``na_values=[""]``.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

AIRPORT_CODES_COLUMNS = (
    "ident", "type", "name", "elevation_ft", "continent", "iso_country", "iso_region",
    "municipality", "gps_code", "iata_code", "local_code", "coordinates",
)  # fmt: skip
TIMEZONE_COLUMNS = ("ident", "timezone")


@lru_cache(maxsize=1)
def _finder():
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def timezone_at(latitude: float, longitude: float) -> str | None:
    """IANA zone at the point (``America/Los_Angeles``); the sea's ``Etc/GMT±n`` offshore.

    None only for coordinates off the globe.
    """
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    return _finder().timezone_at(lat=latitude, lng=longitude)


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """``"lon, lat"`` (OurAirports' order) as ``(latitude, longitude)``; None when unusable."""
    parts = [p.strip() for p in (text or "").split(",")]
    if len(parts) != 2:
        return None
    try:
        longitude, latitude = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return latitude, longitude


def read_airport_codes(path: Path) -> Iterator[dict[str, str]]:
    """Rows of an ``airport-codes`` CSV as text (no value turns into a null here)."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(AIRPORT_CODES_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path.name}: not the airport-codes layout, missing {sorted(missing)}"
            )
        yield from reader


def airport_timezones(rows: Iterable[dict[str, str]]) -> list[tuple[str, str]]:
    """``(ident, timezone)`` for each airport whose coordinates give a zone, in input order."""
    out = []
    for row in rows:
        point = parse_coordinates(row.get("coordinates", ""))
        zone = timezone_at(*point) if point else None
        if zone:
            out.append((row["ident"], zone))
    return out


def timezones_csv(airport_codes: Path) -> str:
    """The ``airport_timezones.csv`` text for an ``airport-codes`` file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TIMEZONE_COLUMNS)
    writer.writerows(airport_timezones(read_airport_codes(airport_codes)))
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m lakehouse.geo AIRPORT_CODES_CSV TIMEZONES_CSV", file=sys.stderr)
        return 2
    source, target = Path(args[0]), Path(args[1])
    target.write_text(timezones_csv(source), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
