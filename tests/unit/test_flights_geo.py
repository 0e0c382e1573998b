"""Airport time zones from coordinates (timezonefinder) and the airport-codes seed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lakehouse.geo import (
    AIRPORT_CODES_COLUMNS,
    parse_coordinates,
    read_airport_codes,
    timezone_at,
    timezones_csv,
)
from lakehouse.replay.amadeus import AIRPORTS

SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
AIRPORT_CODES = SEEDS / "airport_codes.csv"


def _airports() -> dict[str, dict[str, str]]:
    return {row["iata_code"]: row for row in read_airport_codes(AIRPORT_CODES) if row["iata_code"]}


@pytest.mark.parametrize(
    ("iata", "zone"),
    [("SFO", "America/Los_Angeles"), ("NRT", "Asia/Tokyo"), ("LHR", "Europe/London")],
)
def test_airport_zone_comes_from_its_coordinates(iata, zone):
    latitude, longitude = parse_coordinates(_airports()[iata]["coordinates"])
    assert timezone_at(latitude, longitude) == zone


def test_coordinates_are_lon_then_lat():
    assert parse_coordinates("-122.375, 37.61899948120117") == (37.61899948120117, -122.375)
    assert parse_coordinates("") is None
    assert parse_coordinates("x, y") is None
    assert timezone_at(91.0, 0.0) is None


def test_seed_has_the_airport_codes_layout_and_the_traps():
    with AIRPORT_CODES.open(encoding="utf-8", newline="") as fh:
        assert tuple(next(csv.reader(fh))) == AIRPORT_CODES_COLUMNS
    rows = list(read_airport_codes(AIRPORT_CODES))
    assert len(rows) >= 60
    airports = _airports()
    for code in ("SFO", "JFK", "ORD", "LAX", "BOS", "SEA", "MIA", "LHR", "NRT", "MEX", "CDG"):
        assert code in airports, code
    # Continent NA is North America, never a null; country NA is Namibia.
    assert airports["SFO"]["continent"] == "NA"
    assert airports["MEX"]["continent"] == "NA"
    assert airports["WDH"]["iso_country"] == "NA"
    assert any(not r["iata_code"] for r in rows)
    assert any(r["type"] == "closed" for r in rows)
    assert any(r["type"] == "heliport" for r in rows)
    assert len({r["ident"] for r in rows}) == len(rows)


def test_seed_read_with_pandas_keeps_na_when_told():
    import pandas as pd

    frame = pd.read_csv(AIRPORT_CODES, dtype=str, keep_default_na=False, na_values=[""])
    assert frame.loc[frame.iata_code == "SFO", "continent"].item() == "NA"
    assert frame.continent.notna().all()


def test_committed_zones_are_what_timezonefinder_derives():
    """Regenerate with: python -m lakehouse.geo <airport_codes.csv> <airport_timezones.csv>."""
    committed = (SEEDS / "airport_timezones.csv").read_text(encoding="utf-8")
    assert committed == timezones_csv(AIRPORT_CODES)


def test_replay_airports_agree_with_the_seed():
    airports = _airports()
    for code, airport in AIRPORTS.items():
        row = airports[code]
        latitude, longitude = parse_coordinates(row["coordinates"])
        assert abs(latitude - airport.latitude) < 0.01, code
        assert abs(longitude - airport.longitude) < 0.01, code
        assert row["iso_country"] == airport.country, code
        assert timezone_at(latitude, longitude) == airport.timezone, code
