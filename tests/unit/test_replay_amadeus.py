"""The Amadeus replay responder (token + Flight Offers Search v2), without a server."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from lakehouse.replay.amadeus import (
    FAULT_KINDS,
    REPLAY_CREDENTIALS,
    AmadeusReplay,
    RouteFault,
    RouteFaults,
    iso_duration,
)

NOW = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
CLIENT_ID, CLIENT_SECRET = next(iter(REPLAY_CREDENTIALS.items()))
FORM = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


class Clock:
    def __init__(self, at: datetime = NOW) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _query(origin="SFO", destination="JFK", days=30, trip=7, **extra) -> dict[str, list[str]]:
    departure = NOW.date() + timedelta(days=days)
    query = {
        "originLocationCode": origin,
        "destinationLocationCode": destination,
        "departureDate": departure.isoformat(),
        "returnDate": (departure + timedelta(days=trip)).isoformat(),
        "adults": "1",
        "currencyCode": "USD",
        "max": "20",
        **extra,
    }
    # As the server hands them over: parse_qs lists.
    return {k: [str(v)] for k, v in query.items()}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def replay(clock) -> AmadeusReplay:
    return AmadeusReplay(clock=clock, expires_in=1799)


@pytest.fixture
def bearer(replay) -> str:
    status, _, body = replay.answer_token(FORM)
    assert status == 200
    return "Bearer " + json.loads(body)["access_token"]


def _search(replay, bearer, faults=None, **kwargs):
    status, headers, body = replay.answer_search(_query(**kwargs), bearer, faults)
    return status, headers, body


# ---------------------------------------------------------------- token


def test_token_answer_has_the_amadeus_shape(replay):
    status, headers, body = replay.answer_token(FORM)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    token = json.loads(body)
    assert token["type"] == "amadeusOAuth2Token"
    assert token["token_type"] == "Bearer"
    assert token["client_id"] == CLIENT_ID
    assert token["expires_in"] == 1799
    assert token["state"] == "approved"
    assert token["scope"] == ""
    assert set(token) == {
        "type",
        "username",
        "application_name",
        "client_id",
        "token_type",
        "access_token",
        "expires_in",
        "state",
        "scope",
    }


def test_token_form_may_be_the_raw_body(replay):
    raw = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    assert replay.answer_token(raw.encode())[0] == 200


def test_rejected_credentials_answer_flat_invalid_client(replay):
    status, _, body = replay.answer_token({**FORM, "client_secret": "wrong"})
    assert status == 401
    assert json.loads(body) == {
        "error": "invalid_client",
        "error_description": "Client credentials are invalid",
        "code": 38187,
        "title": "Invalid parameters",
    }
    assert replay.answer_token({**FORM, "client_id": "nobody"})[0] == 401


def test_wrong_grant_type_and_missing_credentials_are_400(replay):
    status, _, body = replay.answer_token({**FORM, "grant_type": "password"})
    assert status == 400
    assert json.loads(body)["error"] == "unsupported_grant_type"
    status, _, body = replay.answer_token({"grant_type": "client_credentials"})
    assert status == 400
    assert json.loads(body)["error"] == "invalid_request"


def test_configured_credentials_and_lifetime(clock):
    replay = AmadeusReplay(credentials={"id": "s3"}, expires_in=5, clock=clock)
    assert replay.answer_token(FORM)[0] == 401
    status, _, body = replay.answer_token({**FORM, "client_id": "id", "client_secret": "s3"})
    assert status == 200
    assert json.loads(body)["expires_in"] == 5


def test_token_is_valid_for_expires_in_seconds_of_the_clock(clock):
    replay = AmadeusReplay(clock=clock, expires_in=60)
    bearer = "Bearer " + json.loads(replay.answer_token(FORM)[2])["access_token"]
    clock.advance(59)
    assert _search(replay, bearer)[0] == 200
    clock.advance(1)
    status, headers, body = _search(replay, bearer)
    assert status == 401
    assert headers["Content-Type"] == "application/vnd.amadeus+json"
    error = json.loads(body)["errors"][0]
    assert (error["status"], error["code"], error["title"]) == (401, 38192, "Access token expired")
    # A renewed token works again.
    bearer = "Bearer " + json.loads(replay.answer_token(FORM)[2])["access_token"]
    assert _search(replay, bearer)[0] == 200


def test_tokens_are_checked_without_state(replay, bearer, clock):
    # Another responder (another thread or a restarted server) accepts the same token.
    assert _search(AmadeusReplay(clock=clock), bearer)[0] == 200


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, 38191), ("Basic abc", 38191), ("Bearer", 38191), ("Bearer made-up", 38190)],
)
def test_missing_or_unknown_tokens_are_401(replay, authorization, code):
    status, _, body = replay.answer_search(_query(), authorization)
    assert status == 401
    assert json.loads(body)["errors"][0]["code"] == code


def test_a_tampered_token_is_invalid(replay, bearer):
    tampered = bearer[:-1] + ("0" if bearer[-1] != "0" else "1")
    status, _, body = replay.answer_search(_query(), tampered)
    assert (status, json.loads(body)["errors"][0]["code"]) == (401, 38190)


# ---------------------------------------------------------------- offers


def test_same_request_gives_byte_identical_bodies(replay, bearer, clock):
    first = _search(replay, bearer)
    clock.advance(600)  # later the same day, same token
    assert _search(replay, bearer) == first
    # A fresh responder gives the same bytes too.
    assert _search(AmadeusReplay(clock=clock), bearer) == first


def test_search_answer_has_the_amadeus_shape(replay, bearer):
    status, headers, body = _search(replay, bearer)
    assert status == 200
    assert headers == {"Content-Type": "application/vnd.amadeus+json"}
    answer = json.loads(body)
    assert set(answer) == {"meta", "data", "dictionaries"}
    assert answer["meta"]["count"] == len(answer["data"]) >= 3
    assert "/v2/shopping/flight-offers?originLocationCode=SFO" in answer["meta"]["links"]["self"]
    assert set(answer["dictionaries"]) == {"locations", "aircraft", "currencies", "carriers"}
    assert answer["dictionaries"]["currencies"] == {"USD": "US DOLLAR"}
    assert answer["dictionaries"]["locations"]["JFK"] == {"cityCode": "NYC", "countryCode": "US"}
    offer = answer["data"][0]
    for key in (
        "type",
        "id",
        "source",
        "instantTicketingRequired",
        "nonHomogeneous",
        "oneWay",
        "lastTicketingDate",
        "numberOfBookableSeats",
        "itineraries",
        "price",
        "pricingOptions",
        "validatingAirlineCodes",
        "travelerPricings",
    ):
        assert key in offer, key
    assert offer["type"] == "flight-offer"
    assert offer["source"] == "GDS"
    assert set(offer["price"]) == {"currency", "total", "base", "fees", "grandTotal"}
    segment = offer["itineraries"][0]["segments"][0]
    for key in (
        "departure",
        "arrival",
        "carrierCode",
        "number",
        "aircraft",
        "operating",
        "duration",
        "id",
        "numberOfStops",
        "blacklistedInEU",
    ):
        assert key in segment, key
    # Airport-local wall-clock times without an offset.
    datetime.strptime(segment["departure"]["at"], "%Y-%m-%dT%H:%M:%S")
    assert segment["departure"]["iataCode"] == "SFO"
    pricing = offer["travelerPricings"][0]
    assert pricing["travelerType"] == "ADULT"
    detail = pricing["fareDetailsBySegment"][0]
    assert set(detail) == {"segmentId", "cabin", "fareBasis", "class", "includedCheckedBags"}
    # Every carrier, aircraft and airport used is in the dictionaries.
    for offer in answer["data"]:
        for itinerary in offer["itineraries"]:
            for seg in itinerary["segments"]:
                assert seg["carrierCode"] in answer["dictionaries"]["carriers"]
                assert seg["aircraft"]["code"] in answer["dictionaries"]["aircraft"]
                assert seg["arrival"]["iataCode"] in answer["dictionaries"]["locations"]


def test_offers_vary_in_carrier_and_stops_and_are_sorted_by_price(replay, bearer):
    offers = json.loads(_search(replay, bearer)[2])["data"]
    assert [o["id"] for o in offers] == [str(i) for i in range(1, len(offers) + 1)]
    totals = [Decimal(o["price"]["grandTotal"]) for o in offers]
    assert totals == sorted(totals)
    assert len({o["validatingAirlineCodes"][0] for o in offers}) >= 2
    stops = set()
    for offer in offers:
        assert len(offer["itineraries"]) == 2
        for itinerary in offer["itineraries"]:
            stops.add(len(itinerary["segments"]) - 1)
            segments = itinerary["segments"]
            # A one-stop itinerary connects: first arrival airport is the second departure.
            if len(segments) == 2:
                assert segments[0]["arrival"]["iataCode"] == segments[1]["departure"]["iataCode"]
        outbound, inbound = offer["itineraries"]
        assert outbound["segments"][0]["departure"]["iataCode"] == "SFO"
        assert outbound["segments"][-1]["arrival"]["iataCode"] == "JFK"
        assert inbound["segments"][0]["departure"]["iataCode"] == "JFK"
        assert inbound["segments"][-1]["arrival"]["iataCode"] == "SFO"
        # Segment ids run over the whole offer; every segment has its fare details.
        ids = [s["id"] for it in offer["itineraries"] for s in it["segments"]]
        assert ids == [str(i) for i in range(1, len(ids) + 1)]
        details = offer["travelerPricings"][0]["fareDetailsBySegment"]
        assert [d["segmentId"] for d in details] == ids
    assert stops == {0, 1}


def test_amounts_are_strings_with_two_decimals_that_add_up(replay, bearer):
    for offer in json.loads(_search(replay, bearer, origin="SFO", destination="LHR")[2])["data"]:
        price = offer["price"]
        for key in ("total", "base", "grandTotal"):
            assert isinstance(price[key], str)
            assert len(price[key].split(".")[1]) == 2
        assert price["total"] == price["grandTotal"]
        assert Decimal(price["total"]) > Decimal(price["base"]) > 0
        assert offer["travelerPricings"][0]["price"]["total"] == price["total"]


def test_local_times_follow_the_airports_zones(replay, bearer):
    offers = json.loads(_search(replay, bearer, origin="SFO", destination="NRT")[2])["data"]
    nonstop = next(o for o in offers if len(o["itineraries"][0]["segments"]) == 1)
    segment = nonstop["itineraries"][0]["segments"][0]
    departs = datetime.fromisoformat(segment["departure"]["at"])
    arrives = datetime.fromisoformat(segment["arrival"]["at"])
    minutes = _minutes(segment["duration"])
    # Tokyo is 17 hours ahead of San Francisco in winter: local arrival = departure + flight + 17h.
    assert arrives - departs == timedelta(minutes=minutes, hours=17)


def _minutes(duration: str) -> int:
    hours = int(duration[2:].split("H")[0]) if "H" in duration else 0
    mins = (
        int(duration.rstrip("M").split("H")[-1].replace("PT", "")) if duration.endswith("M") else 0
    )
    return 60 * hours + mins


def test_iso_durations():
    assert iso_duration(330) == "PT5H30M"
    assert iso_duration(360) == "PT6H"
    assert iso_duration(45) == "PT45M"


def test_prices_vary_by_route_days_ahead_and_search(replay, bearer):
    def cheapest(**kwargs) -> Decimal:
        offers = json.loads(_search(replay, bearer, **kwargs)[2])["data"]
        return min(Decimal(o["price"]["grandTotal"]) for o in offers)

    assert cheapest(destination="LHR") > cheapest(destination="ORD")
    # A late booking costs more than the same trip booked well ahead.
    assert cheapest(days=3) > cheapest(days=45)
    # Near-identical searches differ by the pseudo-random component.
    assert cheapest(days=30) != cheapest(days=31)


def test_the_booking_curve_moves_as_the_clock_moves(replay, bearer, clock):
    departure = (NOW.date() + timedelta(days=20)).isoformat()
    query = {**_query(), "departureDate": [departure], "returnDate": [departure]}
    first = replay.answer_search(query, bearer)[2]
    clock.advance(24 * 3600)
    bearer = "Bearer " + json.loads(replay.answer_token(FORM)[2])["access_token"]
    assert replay.answer_search(query, bearer)[2] != first


def test_max_caps_the_offers_and_non_stop_filters(replay, bearer):
    assert len(json.loads(_search(replay, bearer, max="2")[2])["data"]) == 2
    offers = json.loads(_search(replay, bearer, nonStop="true")[2])["data"]
    assert offers and all(len(it["segments"]) == 1 for o in offers for it in o["itineraries"])


def test_one_way_and_currency(replay, bearer):
    query = _query(currencyCode="EUR")
    del query["returnDate"]
    answer = json.loads(replay.answer_search(query, bearer)[2])
    assert all(len(o["itineraries"]) == 1 for o in answer["data"])
    assert answer["dictionaries"]["currencies"] == {"EUR": "EURO"}
    assert {o["price"]["currency"] for o in answer["data"]} == {"EUR"}


def test_unknown_airport_gives_no_offers(replay, bearer):
    status, _, body = _search(replay, bearer, destination="ZZZ")
    assert status == 200
    answer = json.loads(body)
    assert answer["meta"]["count"] == 0
    assert answer["data"] == []


def test_every_contract_route_has_offers_at_every_offset(replay, bearer):
    routes = [
        "SFO-JFK",
        "SFO-ORD",
        "LAX-BOS",
        "SEA-MIA",
        "SFO-LHR",
        "SFO-NRT",
        "LAX-MEX",
        "JFK-CDG",
    ]
    for route in routes:
        origin, destination = route.split("-")
        for days in (7, 14, 30, 60, 90):
            status, _, body = _search(
                replay, bearer, origin=origin, destination=destination, days=days
            )
            assert status == 200
            assert json.loads(body)["meta"]["count"] >= 2, (route, days)


# ---------------------------------------------------------------- request errors


def _error(answer) -> tuple[int, int, str, str | None]:
    status, _, body = answer
    issue = json.loads(body)["errors"][0]
    assert issue["status"] == status
    return status, issue["code"], issue["title"], issue.get("source", {}).get("parameter")


def test_past_departure_is_invalid_date(replay, bearer):
    assert _error(_search(replay, bearer, days=-1)) == (400, 425, "INVALID DATE", "departureDate")
    status, _, body = _search(replay, bearer, days=-1)
    assert json.loads(body)["errors"][0]["detail"] == "Date/Time is in the past"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"departureDate": ["2026/12/01"]}, (400, 477, "INVALID FORMAT", "departureDate")),
        ({"originLocationCode": ["sfo"]}, (400, 477, "INVALID FORMAT", "originLocationCode")),
        ({"adults": ["10"]}, (400, 477, "INVALID FORMAT", "adults")),
        ({"max": ["0"]}, (400, 477, "INVALID FORMAT", "max")),
        (
            {"destinationLocationCode": [""]},
            (400, 32171, "MANDATORY DATA MISSING", "destinationLocationCode"),
        ),
        ({"returnDate": ["2026-11-25"]}, (400, 425, "INVALID DATE", "returnDate")),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(replay, bearer, override, expected):
    assert _error(replay.answer_search({**_query(), **override}, bearer)) == expected


# ---------------------------------------------------------------- faults


def test_fault_kinds():
    assert set(FAULT_KINDS) == {"expired_token", "http_429", "http_500", "truncate", "bad_request"}
    with pytest.raises(ValueError, match="unknown fault kind"):
        RouteFault("SFO-JFK", "http_503")
    with pytest.raises(ValueError, match="ORIGIN-DESTINATION"):
        RouteFault("sfo_jfk", "http_500")
    assert RouteFault.parse("sfo-jfk:http_429:2") == RouteFault("SFO-JFK", "http_429", 2)
    assert RouteFault.from_dict({"route": "SFO-JFK", "kind": "truncate"}).times is None


def test_expired_token_fault_answers_38192_once(replay, bearer):
    faults = RouteFaults([RouteFault("SFO-JFK", "expired_token")])
    assert _error(_search(replay, bearer, faults)) == (401, 38192, "Access token expired", None)
    assert _search(replay, bearer, faults)[0] == 200


def test_429_fault_n_times_without_retry_after(replay, bearer):
    faults = RouteFaults([RouteFault("SFO-JFK", "http_429", 2)])
    for _ in range(2):
        answer = _search(replay, bearer, faults)
        assert _error(answer)[:3] == (429, 38194, "Too many requests")
        assert "Retry-After" not in answer[1]
    assert _search(replay, bearer, faults)[0] == 200


def test_faults_are_keyed_by_route_and_consumed_in_order(replay, bearer):
    faults = RouteFaults(
        [RouteFault("SFO-JFK", "http_500", 1), RouteFault("SFO-JFK", "http_429", 1)]
    )
    assert _search(replay, bearer, faults, destination="ORD")[0] == 200
    assert _error(_search(replay, bearer, faults)) == (500, 141, "SYSTEM ERROR HAS OCCURRED", None)
    assert _search(replay, bearer, faults)[0] == 429
    assert _search(replay, bearer, faults)[0] == 200
    assert faults.active() == []
    everywhere = RouteFaults([RouteFault("*", "http_500")])
    assert _search(replay, bearer, everywhere, destination="LHR")[0] == 500
    assert everywhere.active()[0]["remaining"] is None


def test_truncate_fault_cuts_the_body_in_half(replay, bearer):
    whole = _search(replay, bearer)[2]
    status, _, body = _search(replay, bearer, "truncate")
    assert status == 200
    assert body == whole[: len(whole) // 2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_bad_request_fault_names_the_parameter(replay, bearer):
    assert _error(_search(replay, bearer, "bad_request")) == (
        400,
        477,
        "INVALID FORMAT",
        "departureDate",
    )


def test_auth_errors_come_before_faults(replay):
    faults = RouteFaults([RouteFault("SFO-JFK", "http_500", 1)])
    assert replay.answer_search(_query(), None, faults)[0] == 401
    assert faults.active()[0]["remaining"] == 1


def test_a_faults_object_with_take_works(replay, bearer):
    """The server may hand over any fault book whose take(route) returns an object with .kind."""

    class Book:
        def __init__(self):
            self.asked = []

        def take(self, route):
            self.asked.append(route)
            return RouteFault(route, "http_500")

    book = Book()
    assert _search(replay, bearer, book, origin="LAX", destination="MEX")[0] == 500
    assert book.asked == ["LAX-MEX"]


def test_module_level_functions_use_the_real_clock():
    from lakehouse.replay import amadeus

    status, _, body = amadeus.answer_token(FORM)
    assert status == 200
    token = json.loads(body)["access_token"]
    today = datetime.now(UTC).date()
    query = {
        "originLocationCode": "SFO",
        "destinationLocationCode": "JFK",
        "departureDate": (today + timedelta(days=30)).isoformat(),
        "adults": "1",
    }
    status, _, body = amadeus.answer_search(query, f"Bearer {token}")
    assert status == 200
    assert json.loads(body)["data"]
    assert isinstance(date.fromisoformat(json.loads(body)["data"][0]["lastTicketingDate"]), date)
