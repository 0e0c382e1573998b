"""The weather contract loads, validates and answers what later layers ask of it."""

from pathlib import Path

import pytest

from lakehouse.contracts import ContractError, available_sources, load_contract


def test_weather_contract_has_four_cities_and_required_variables():
    contract = load_contract("weather")
    assert [c.name for c in contract.cities] == [
        "San Francisco",
        "Walnut Creek",
        "Santa Barbara",
        "San Diego",
    ]
    hourly = contract.entity("hourly")
    names = {f.name for f in hourly.fields}
    assert {
        "temperature_2m",
        "relative_humidity_2m",
        "apparent_temperature",
        "precipitation",
        "weather_code",
        "pressure_msl",
        "cloud_cover",
        "wind_speed_10m",
        "wind_direction_10m",
    } <= names
    assert hourly.natural_key == ["city_id", "observed_at"]
    assert contract.schedule.interval_minutes == 20
    assert all(f.range is not None for f in hourly.fields)


def test_every_city_has_an_iana_time_zone():
    from zoneinfo import ZoneInfo

    for city in load_contract("weather").cities:
        ZoneInfo(city.timezone)


def test_unknown_source_is_a_clear_error():
    with pytest.raises(ContractError, match="no contract for source 'nope'"):
        load_contract("nope")


def test_invalid_contract_is_a_clear_error(tmp_path: Path):
    (tmp_path / "bad.yml").write_text("name: bad\n", encoding="utf-8")
    with pytest.raises(ContractError, match="bad.yml is invalid"):
        load_contract("bad", tmp_path)
    assert "weather" in available_sources()
