"""The flights dbt models (issue 17): built on DuckDB from replay answers, compiled for the clouds.

Bronze is written here the way the contract (lakehouse/contracts/flights.yml) describes it,
from real answers of the Amadeus replay: one row per offer, itinerary and segment, search
parameters from the request, nested arrays as compact JSON text (what the Spark bronze job's
JSON reader gives for a string field). Then ``dbt build`` runs the seeds, every flights model,
their data tests and unit tests on DuckDB, and the marts are checked; Athena and Redshift
compile the same models offline.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.contracts import CONTRACTS_DIR, load_contract
from lakehouse.replay.amadeus import REPLAY_CREDENTIALS, AmadeusReplay

pytestmark = pytest.mark.slow

FLIGHTS_MODELS = {
    "stg_flights__airports",
    "stg_flights__offers",
    "stg_flights__itineraries",
    "stg_flights__segments",
    "dim_airport",
    "fct_flight_offers",
    "agg_fares_cheapest_daily",
    "agg_fares_booking_curve",
}
SEARCHES = [("sfo_jfk", "SFO", "JFK"), ("sfo_lhr", "SFO", "LHR"), ("sfo_nrt", "SFO", "NRT")]
OFFSETS = [7, 30]
DAYS = [
    datetime(2026, 11, 23, 18, 5, 1, 250000, tzinfo=UTC),
    datetime(2026, 11, 24, 9, 35, 2, 500000, tzinfo=UTC),
]


@pytest.fixture
def contracts_dir(tmp_path, monkeypatch) -> Path:
    """Weather and flights in a folder of their own (the registered contracts)."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    shutil.copy(CONTRACTS_DIR / "weather.yml", folder)
    shutil.copy(CONTRACTS_DIR / "flights.yml", folder)
    monkeypatch.setenv("LAKEHOUSE_CONTRACTS_DIR", str(folder))
    return folder


def _compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _answers():
    """(search_key, params, fetched_at, answer) for each search of each day."""
    for fetched_at in DAYS:
        replay = AmadeusReplay(clock=lambda at=fetched_at: at.timestamp())
        client_id, client_secret = next(iter(REPLAY_CREDENTIALS.items()))
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        token = json.loads(replay.answer_token(form)[2])["access_token"]
        for route_id, origin, destination in SEARCHES:
            for offset in OFFSETS:
                departure = fetched_at.date() + timedelta(days=offset)
                params = {
                    "originLocationCode": origin,
                    "destinationLocationCode": destination,
                    "departureDate": departure.isoformat(),
                    "returnDate": (departure + timedelta(days=7)).isoformat(),
                    "adults": "1",
                    "currencyCode": "USD",
                    "max": "20",
                }
                status, _, body = replay.answer_search(params, f"Bearer {token}")
                assert status == 200
                yield f"{route_id}__{offset}", params, fetched_at, json.loads(body)


def _meta(fetched_at: datetime) -> dict:
    return {
        "observed_at": fetched_at,
        "observed_date": fetched_at.date(),
        "_batch_id": "b1",
        "_landing_path": "x",
        "_source_sha256": "x",
        "_fetched_at": fetched_at,
        "_ingested_at": fetched_at,
    }


def _write_bronze(settings) -> dict[str, int]:
    """Bronze rows of the three flights tables, typed as the contract says."""
    from deltalake import write_deltalake

    rows: dict[str, list[dict]] = {"offers": [], "itineraries": [], "segments": []}
    for key, params, fetched_at, answer in _answers():
        search = {
            "search_key": key,
            "origin_location_code": params["originLocationCode"],
            "destination_location_code": params["destinationLocationCode"],
        }
        for offer in answer["data"]:
            price = offer["price"]
            rows["offers"].append(
                {
                    **search,
                    "departure_date": date.fromisoformat(params["departureDate"]),
                    "return_date": date.fromisoformat(params["returnDate"]),
                    "offer_id": offer["id"],
                    "source": offer["source"],
                    "last_ticketing_date": date.fromisoformat(offer["lastTicketingDate"]),
                    "number_of_bookable_seats": offer["numberOfBookableSeats"],
                    "validating_airline_codes": _compact(offer["validatingAirlineCodes"]),
                    "price_currency": price["currency"],
                    "price_total": Decimal(price["total"]),
                    "price_base": Decimal(price["base"]),
                    "price_grand_total": Decimal(price["grandTotal"]),
                    "traveler_pricings": _compact(offer["travelerPricings"]),
                    **_meta(fetched_at),
                }
            )
            for itinerary in offer["itineraries"]:
                rows["itineraries"].append(
                    {
                        **search,
                        "offer_id": offer["id"],
                        "duration": itinerary["duration"],
                        "segments_json": _compact(itinerary["segments"]),
                        **_meta(fetched_at),
                    }
                )
                for seg in itinerary["segments"]:
                    rows["segments"].append(
                        {
                            **search,
                            "offer_id": offer["id"],
                            "segment_id": seg["id"],
                            "departure_iata_code": seg["departure"]["iataCode"],
                            "departure_terminal": seg["departure"].get("terminal"),
                            # Wall-clock time held as a UTC-typed timestamp, as Spark writes it.
                            "departure_at": datetime.fromisoformat(seg["departure"]["at"]).replace(
                                tzinfo=UTC
                            ),
                            "arrival_iata_code": seg["arrival"]["iataCode"],
                            "arrival_terminal": seg["arrival"].get("terminal"),
                            "arrival_at": datetime.fromisoformat(seg["arrival"]["at"]).replace(
                                tzinfo=UTC
                            ),
                            "carrier_code": seg["carrierCode"],
                            "flight_number": seg["number"],
                            "operating_carrier_code": seg["operating"]["carrierCode"],
                            "aircraft_code": seg["aircraft"]["code"],
                            "duration": seg["duration"],
                            "number_of_stops": seg["numberOfStops"],
                            **_meta(fetched_at),
                        }
                    )
    contract = load_contract("flights")
    arrow = {
        "string": pa.string(),
        "integer": pa.int32(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "decimal": pa.decimal128(12, 2),
    }
    meta_types = {
        "observed_at": pa.timestamp("us", tz="UTC"),
        "observed_date": pa.date32(),
        "_batch_id": pa.string(),
        "_landing_path": pa.string(),
        "_source_sha256": pa.string(),
        "_fetched_at": pa.timestamp("us", tz="UTC"),
        "_ingested_at": pa.timestamp("us", tz="UTC"),
    }
    counts = {}
    for name, entity in contract.entities.items():
        schema = pa.schema(
            [(f.name, arrow[f.type]) for f in entity.fields] + list(meta_types.items())
        )
        table = pa.Table.from_pylist(rows[name], schema=schema)
        path = settings.lake.bronze(entity.bronze_table)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_deltalake(str(path), table, partition_by=["observed_date"])
        counts[name] = table.num_rows
    return counts


def test_flights_models_build_and_pass_their_tests_on_duckdb(settings, contracts_dir):
    import duckdb

    from lakehouse.dbt import build_database
    from lakehouse.warehouse.dbt_targets import run_dbt_on

    counts = _write_bronze(settings)
    result = run_dbt_on(settings, ["build", "--select", "+agg_fares_booking_curve"], target="dev")
    assert result.success, result.failures
    built = {n["name"] for n in result.nodes if n["resource_type"] == "model"}
    assert FLIGHTS_MODELS <= built
    unit_tests = {n["name"] for n in result.nodes if n["resource_type"] == "unit_test"}
    assert {
        "cheapest_offer_of_the_day_and_its_carrier",
        "running_low_and_the_day_it_was_seen",
    } <= unit_tests

    con = duckdb.connect(str(build_database(settings)), read_only=True)
    try:

        def one(sql):
            return con.execute(sql).fetchall()

        # dim_airport: exact columns, zones from the coordinates, NA stays NA.
        columns = [r[0] for r in one("describe gold.dim_airport")]
        assert columns == [
            "iata_code",
            "name",
            "municipality",
            "country_code",
            "latitude",
            "longitude",
            "timezone",
        ]
        zones = dict(one("select iata_code, timezone from gold.dim_airport"))
        assert zones["SFO"] == "America/Los_Angeles"
        assert zones["NRT"] == "Asia/Tokyo"
        assert zones["LHR"] == "Europe/London"
        assert one("select country_code from gold.dim_airport where iata_code = 'WDH'") == [("NA",)]
        # The seed keeps continent "NA" (North America) as text.
        schema = one(
            "select table_schema from information_schema.tables where table_name = 'airport_codes'"
        )[0][0]
        assert one(f"select continent from {schema}.airport_codes where iata_code = 'SFO'") == [
            ("NA",)
        ]
        assert one("select count(*) from gold.dim_airport where iata_code = 'THF'") == [(0,)]

        # One fact row per bronze offer, keyed by content, amounts exact.
        assert one("select count(*), count(distinct offer_key) from gold.fct_flight_offers") == [
            (counts["offers"], counts["offers"])
        ]
        types = dict((r[0], r[1]) for r in one("describe gold.fct_flight_offers"))
        assert types["total_usd"] == "DECIMAL(12,2)"
        stops = one("select distinct outbound_stops from gold.fct_flight_offers order by 1")
        assert stops == [(0,), (1,)]

        # Segment UTC = local wall clock through the airport's zone (silver is views over the
        # bronze datasets of the dbt process, so read it through the fact): SFO is UTC-8 and
        # Tokyo UTC+9 in winter, London UTC+0.
        offsets = dict(
            one(
                "select destination_iata, "
                "max(date_diff('minute', return_departure_at_local, return_departure_at_utc)) "
                "from gold.fct_flight_offers group by 1"
            )
        )
        assert offsets == {"JFK": 300, "LHR": 0, "NRT": -540}
        assert one(
            "select distinct date_diff('minute', outbound_departure_at_local, "
            "outbound_departure_at_utc) from gold.fct_flight_offers"
        ) == [(480,)]
        daily = one(
            "select * from gold.agg_fares_cheapest_daily "
            "order by origin_iata, destination_iata, departure_date, observed_date"
        )
        columns = [r[0] for r in one("describe gold.agg_fares_cheapest_daily")]
        assert columns == [
            "origin_iata",
            "destination_iata",
            "departure_date",
            "return_date",
            "observed_date",
            "cheapest_total_usd",
            "carrier_code",
            "offer_count",
            "is_international",
        ]
        assert len(daily) == len(SEARCHES) * len(OFFSETS) * len(DAYS)
        international = dict(
            one(
                "select destination_iata, bool_and(is_international) "
                "from gold.agg_fares_cheapest_daily group by 1"
            )
        )
        assert international == {"JFK": False, "LHR": True, "NRT": True}
        cheapest = one(
            "select min(total_usd) from gold.fct_flight_offers "
            "where origin_iata = 'SFO' and destination_iata = 'LHR' "
            "and departure_date = '2026-12-23'"
        )[0][0]
        assert one(
            "select cheapest_total_usd from gold.agg_fares_cheapest_daily "
            "where destination_iata = 'LHR' and departure_date = '2026-12-23'"
        ) == [(cheapest,)]

        curve = one(
            "select count(*), min(days_before_departure), max(days_before_departure) "
            "from gold.agg_fares_booking_curve"
        )
        assert curve == [(len(daily), 7, 30)]
    finally:
        con.close()


@pytest.mark.parametrize("target", ["athena", "redshift"])
def test_flights_models_compile_for_the_clouds(settings, contracts_dir, target, monkeypatch):
    from lakehouse.warehouse.dbt_targets import check_sql, compiled_models, run_dbt_on

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DBT_REDSHIFT_HOST", "127.0.0.1")
    monkeypatch.setenv("DBT_REDSHIFT_PORT", "9")
    result = run_dbt_on(
        settings,
        [
            "compile",
            "--no-populate-cache",
            "--select",
            "+agg_fares_booking_curve",
        ],
        target=target,
    )
    assert result.success, result.failures
    compiled = {k: v for k, v in compiled_models(result).items() if k in FLIGHTS_MODELS}
    assert set(compiled) == FLIGHTS_MODELS
    for sql in compiled.values():
        check_sql(sql, target)
        assert "{{" not in sql and "{%" not in sql
    utc = compiled["stg_flights__segments"].lower()
    assert {"athena": "at_timezone(", "redshift": "convert_timezone("}[target] in utc


def test_flights_models_are_disabled_without_the_contract(settings, tmp_path, monkeypatch):
    from lakehouse.warehouse.dbt_targets import run_dbt_on

    weather_only = tmp_path / "weather-only"
    weather_only.mkdir()
    shutil.copy(CONTRACTS_DIR / "weather.yml", weather_only)
    monkeypatch.setenv("LAKEHOUSE_CONTRACTS_DIR", str(weather_only))

    result = run_dbt_on(
        settings,
        ["ls", "--resource-type", "model", "--resource-type", "seed", "--output", "name"],
        target="dev",
    )
    assert result.success, result.failures
    listed = {line.split(".")[-1] for line in result.raw.result}
    assert "fct_weather_hourly" in listed
    assert not (FLIGHTS_MODELS | {"airport_codes", "airport_timezones"}) & listed
