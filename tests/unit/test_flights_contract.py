"""The draft flights contract (issue 17) loads and says what the dbt models and replay assume."""

from __future__ import annotations

from datetime import date

import pytest

from lakehouse.contracts import HttpSource, OAuth2ClientCredentials, load_contract

ROUTES = ["SFO-JFK", "SFO-ORD", "LAX-BOS", "SEA-MIA", "SFO-LHR", "SFO-NRT", "LAX-MEX", "JFK-CDG"]


@pytest.fixture(scope="module")
def contract():
    return load_contract("flights")


def test_source_is_http_with_oauth2_client_credentials(contract):
    source = contract.source
    assert isinstance(source, HttpSource)
    assert isinstance(source.auth, OAuth2ClientCredentials)
    assert source.auth.token_path == "/v1/security/oauth2/token"
    assert source.settings["client_secret"].secret is True
    assert source.settings["client_id"].secret is False
    assert source.endpoints["search"].path == "/v2/shopping/flight-offers"
    assert source.endpoints["search"].lands_as == "offers"
    assert contract.schedule.cron == "*/30 * * * *"


def test_targets_are_eight_routes_times_five_offsets(contract):
    targets = contract.source.targets
    assert [f"{t['origin']}-{t['destination']}" for t in targets.items] == ROUTES
    assert targets.vary == {"departure_offset_days": [7, 14, 30, 60, 90]}
    assert {t["trip_length_days"] for t in targets.items} == {7}


def test_param_templates_render_the_search(contract):
    """The templates, rendered by the engine's own renderer."""
    from lakehouse.sources.templates import render_params

    target = {**contract.source.targets.items[0], "departure_offset_days": 30}
    context = {"target": target, "today": date(2026, 11, 24)}
    assert render_params(contract.source.params, context) == {
        "originLocationCode": "SFO",
        "destinationLocationCode": "JFK",
        "departureDate": "2026-12-24",
        "returnDate": "2026-12-31",
        "adults": "1",
        "currencyCode": "USD",
        "max": "20",
    }


def test_three_entities_read_the_one_landing_entity(contract):
    assert contract.landing_entities == ["offers"]
    assert set(contract.entities_reading("offers")) == {"offers", "itineraries", "segments"}
    paths = {name: e.layout.path for name, e in contract.entities.items()}
    assert paths == {
        "offers": "data[]",
        "itineraries": "data[].itineraries[]",
        "segments": "data[].itineraries[].segments[]",
    }
    for entity in contract.entities.values():
        # Every key starts with the search; the positional offer id is never alone.
        assert entity.natural_key[:3] == ["search_key", "observed_at", "offer_id"]
        assert entity.event_time.source_field == "envelope.fetched_at"
        assert entity.partition_by == "observed_date"


def test_amounts_are_exact_decimals(contract):
    offers = contract.entity("offers")
    for name in ("price_total", "price_base", "price_grand_total"):
        field = offers.field(name)
        assert (field.type, field.precision, field.scale) == ("decimal", 12, 2)
    assert offers.field("price_currency").allowed_values == ["USD"]


def test_bronze_columns_are_lowercase(contract):
    """Glue and Redshift fold names to lowercase; quoted camelCase would not match."""
    for entity in contract.entities.values():
        for field in entity.fields:
            assert field.name == field.name.lower(), field.name
