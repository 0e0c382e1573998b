"""Contracts load, validate, name the key at fault, and answer what later layers ask of them."""

from pathlib import Path

import pytest

from lakehouse.contracts import ContractError, available_sources, load_contract


def test_weather_contract_has_four_cities_and_required_variables():
    contract = load_contract("weather")
    assert [c["name"] for c in contract.targets] == [
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
    assert contract.schedule.cron == "*/20 * * * *"
    assert all(f.range is not None for f in hourly.fields if f.role == "measure")
    assert hourly.layout.type == "column_arrays" and contract.source.kind == "http"


def test_every_city_has_an_iana_time_zone():
    from zoneinfo import ZoneInfo

    for city in load_contract("weather").targets:
        ZoneInfo(city["timezone"])


def test_unknown_source_is_a_clear_error():
    with pytest.raises(ContractError, match="no contract for source 'nope'"):
        load_contract("nope")


def test_invalid_contract_is_a_clear_error(tmp_path: Path):
    (tmp_path / "bad.yml").write_text("name: bad\n", encoding="utf-8")
    with pytest.raises(ContractError, match="bad.yml is invalid"):
        load_contract("bad", tmp_path)
    assert "weather" in available_sources()


BASE = """\
name: demo
description: d
owner: o
source:
  kind: files
  files: {rows: {patterns: ["*.csv"]}}
schedule: {cron: "0 7 * * *"}
entities:
  rows:
    description: d
    grain: one row per id
    bronze_table: demo__rows
    layout: {type: csv, delimiter: ";"}
    natural_key: [id]
    event_time: {column: loaded_at, source_field: day, format: "%Y-%m-%d"}
    partition_by: loaded_date
    late_records: {policy: latest_fetched_at_wins}
    fields:
      - {name: id, type: bigint, role: key}
"""


def test_a_minimal_files_contract_loads(tmp_path: Path):
    (tmp_path / "demo.yml").write_text(BASE, encoding="utf-8")
    contract = load_contract("demo", tmp_path)
    assert contract.source.kind == "files"
    assert contract.entity("rows").layout.delimiter == ";"
    assert contract.landing_entities == ["rows"]


@pytest.mark.parametrize(
    ("change", "at"),
    [
        (('delimiter: ";"', 'delimter: ";"'), "entities.rows.layout.csv.delimter"),
        (("bronze_table: demo__rows", "bronze_table: rows"), "bronze_table must be demo__rows"),
        (("natural_key: [id]", "natural_key: [nope]"), "natural_key names unknown fields"),
        (("kind: files", "kind: ftp"), "at source"),
        (("policy: latest_fetched_at_wins", "policy: latest_version_wins"), "version_field"),
    ],
)
def test_a_bad_key_is_named(tmp_path: Path, change: tuple[str, str], at: str):
    (tmp_path / "demo.yml").write_text(BASE.replace(*change), encoding="utf-8")
    with pytest.raises(ContractError) as error:
        load_contract("demo", tmp_path)
    assert at in str(error.value)


def test_every_shipped_contract_loads():
    for name in available_sources():
        assert load_contract(name).name == name
