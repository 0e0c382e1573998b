"""Amadeus Flight Offers Search v2 and its OAuth2 token endpoint, answered offline.

A pure responder: it turns one request into ``(status, headers, body bytes)`` in the real API's
format and never touches a socket; :mod:`lakehouse.replay.server` moves the bytes.

- ``POST /v1/security/oauth2/token`` -> :meth:`AmadeusReplay.answer_token` (form
  ``grant_type=client_credentials&client_id=...&client_secret=...``). Accepted credentials are
  :data:`REPLAY_CREDENTIALS` unless others are given; anything else is a flat 401
  ``invalid_client`` (code 38187), as Amadeus answers.
- ``GET /v2/shopping/flight-offers`` -> :meth:`AmadeusReplay.answer_search` (``Authorization:
  Bearer <token>``; ``originLocationCode``, ``destinationLocationCode``, ``departureDate``,
  ``returnDate``, ``adults``, ``currencyCode``, ``max``, ``nonStop``).

**Tokens** are signed, not stored: a token carries the second it was issued and its lifetime, so
any responder with the same key validates it (threads, restarts) and one issued by this
responder is valid for ``expires_in`` seconds of the injected ``clock``; after that a search
answers 401 code 38192 "Access token expired".

**Offers** are deterministic: the same request on the same UTC day (of the clock) gives
byte-identical bodies, so re-landing a fetch is a no-op. A route gets a few offers from the
carriers with a hub at either end: nonstop and, where a carrier hub lies on the way, one-stop
(two segments per itinerary). Fares are strings with two decimals from the great-circle
distance, whether the route is international, the days between today and departure (late
bookings cost more), the stops, the carrier, and a pseudo-random component hashed from the
request. Times are airport-local wall-clock times without an offset, as Amadeus sends them;
arrivals are computed through the airports' IANA zones. Offers are sorted by price and their
``id`` is only a position ("1", "2", ...), exactly like the real API. Unknown airports give an
empty ``data`` array (count 0).

**Faults** are keyed by route ``ORIGIN-DESTINATION`` (``SFO-JFK``) as the search's
``originLocationCode``/``destinationLocationCode`` say, or ``*`` for every route, and consumed in
list order (see :class:`RouteFaults`); kinds are :data:`FAULT_KINDS`. A fault applies only to a
search whose token is valid (auth errors come first, as on the real API).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from lakehouse.replay.faults import FaultBook, TargetFault

TOKEN_PATH = "/v1/security/oauth2/token"
SEARCH_PATH = "/v2/shopping/flight-offers"
PATHS = (TOKEN_PATH, SEARCH_PATH)
# The search parameters that name a route (faults are keyed ORIGIN-DESTINATION).
ROUTE_PARAMS = ("originLocationCode", "destinationLocationCode")
DEFAULT_BASE_URL = "https://test.api.amadeus.com"
# Credentials the replay accepts unless a responder is given its own (not secrets: a replay).
REPLAY_CREDENTIALS = {"replay-client-id": "replay-client-secret"}
DEFAULT_EXPIRES_IN = 1799

Answer = tuple[int, dict[str, str], bytes]

FAULT_KINDS: dict[str, str] = {
    "expired_token": "401 code 38192 'Access token expired' (a valid token is treated as expired)",
    "http_429": "429 code 38194 'Too many requests', no Retry-After header",
    "http_500": "500 code 141 'SYSTEM ERROR HAS OCCURRED'",
    "truncate": "200 whose JSON body is cut in half",
    "bad_request": "400 code 477 'INVALID FORMAT' naming the departureDate parameter",
}

_AMADEUS_JSON = {"Content-Type": "application/vnd.amadeus+json"}
_TOKEN_JSON = {"Content-Type": "application/json"}
# Signs replay tokens; a replay needs no secret, only tokens that cannot be made up by accident.
_TOKEN_KEY = b"lakehouse-replay-amadeus"
_TOKEN = re.compile(r"^RP([0-9a-f]{10})([0-9a-f]{6})([0-9a-f]{14})$")
_IATA = re.compile(r"^[A-Z]{3}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CENT = Decimal("0.01")


# ================================================================ reference data


@dataclass(frozen=True)
class Airport:
    iata: str
    city_code: str
    country: str
    latitude: float
    longitude: float
    timezone: str


AIRPORTS: dict[str, Airport] = {
    a.iata: a
    for a in (
        Airport("SFO", "SFO", "US", 37.6190, -122.3749, "America/Los_Angeles"),
        Airport("LAX", "LAX", "US", 33.9425, -118.4081, "America/Los_Angeles"),
        Airport("SEA", "SEA", "US", 47.4490, -122.3093, "America/Los_Angeles"),
        Airport("DEN", "DEN", "US", 39.8617, -104.6731, "America/Denver"),
        Airport("ORD", "CHI", "US", 41.9786, -87.9048, "America/Chicago"),
        Airport("DFW", "DFW", "US", 32.8968, -97.0380, "America/Chicago"),
        Airport("IAH", "HOU", "US", 29.9844, -95.3414, "America/Chicago"),
        Airport("MSP", "MSP", "US", 44.8820, -93.2218, "America/Chicago"),
        Airport("ATL", "ATL", "US", 33.6367, -84.4281, "America/New_York"),
        Airport("DTW", "DTT", "US", 42.2124, -83.3534, "America/Detroit"),
        Airport("CLT", "CLT", "US", 35.2140, -80.9431, "America/New_York"),
        Airport("MIA", "MIA", "US", 25.7932, -80.2906, "America/New_York"),
        Airport("IAD", "WAS", "US", 38.9445, -77.4558, "America/New_York"),
        Airport("PHL", "PHL", "US", 39.8719, -75.2411, "America/New_York"),
        Airport("EWR", "NYC", "US", 40.6925, -74.1687, "America/New_York"),
        Airport("JFK", "NYC", "US", 40.6398, -73.7789, "America/New_York"),
        Airport("BOS", "BOS", "US", 42.3643, -71.0052, "America/New_York"),
        Airport("MEX", "MEX", "MX", 19.4363, -99.0721, "America/Mexico_City"),
        Airport("LHR", "LON", "GB", 51.4706, -0.4619, "Europe/London"),
        Airport("CDG", "PAR", "FR", 49.0128, 2.5500, "Europe/Paris"),
        Airport("NRT", "TYO", "JP", 35.7647, 140.3864, "Asia/Tokyo"),
        Airport("HND", "TYO", "JP", 35.5523, 139.7800, "Asia/Tokyo"),
    )
}


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    hubs: tuple[str, ...]
    # Countries a regional carrier flies between; None: any route touching a hub.
    countries: tuple[str, ...] | None = None


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("UA", "UNITED AIRLINES", ("SFO", "ORD", "EWR", "DEN", "IAH", "IAD", "LAX")),
        Carrier("AA", "AMERICAN AIRLINES", ("DFW", "CLT", "ORD", "MIA", "JFK", "LAX", "PHL")),
        Carrier("DL", "DELTA AIR LINES", ("ATL", "MSP", "DTW", "JFK", "LAX", "SEA", "BOS")),
        Carrier("B6", "JETBLUE AIRWAYS", ("JFK", "BOS"), ("US",)),
        Carrier("AS", "ALASKA AIRLINES", ("SEA", "SFO", "LAX"), ("US", "MX")),
        Carrier("BA", "BRITISH AIRWAYS", ("LHR",)),
        Carrier("VS", "VIRGIN ATLANTIC", ("LHR",)),
        Carrier("AF", "AIR FRANCE", ("CDG",)),
        Carrier("JL", "JAPAN AIRLINES", ("NRT", "HND")),
        Carrier("NH", "ALL NIPPON AIRWAYS", ("NRT", "HND")),
        Carrier("AM", "AEROMEXICO", ("MEX",)),
    )
}

AIRCRAFT = {
    "32N": "AIRBUS A320NEO",
    "738": "BOEING 737-800",
    "321": "AIRBUS A321",
    "739": "BOEING 737-900",
    "789": "BOEING 787-9",
    "77W": "BOEING 777-300ER",
    "359": "AIRBUS A350-900",
}

# Units of each currency per US dollar (fixed: the replay has no market).
CURRENCIES: dict[str, tuple[str, Decimal]] = {
    "USD": ("US DOLLAR", Decimal("1")),
    "EUR": ("EURO", Decimal("0.92")),
    "GBP": ("POUND STERLING", Decimal("0.79")),
    "CAD": ("CANADIAN DOLLAR", Decimal("1.37")),
    "MXN": ("MEXICAN PESO", Decimal("17.10")),
}
DEFAULT_CURRENCY = "EUR"  # Amadeus' test environment answers in EUR unless asked otherwise

MAX_OFFERS_PER_SEARCH = 6


# ================================================================ faults


@dataclass(frozen=True)
class RouteFault(TargetFault):
    """One fault for searches of a route (``SFO-JFK``, or ``*`` for every route).

    ``times`` is how many matching searches it applies to (None: every one); ``expired_token``
    always applies once, since a client renews its token after the first 401.
    """

    TARGET: ClassVar[str] = "route"
    KINDS: ClassVar[Mapping[str, str]] = FAULT_KINDS

    @property
    def route(self) -> str:
        return self.target

    @classmethod
    def normalize(cls, target: str) -> str:
        return target.upper()

    def check_target(self) -> None:
        if self.target != "*" and not re.fullmatch(r"[A-Z]{3}-[A-Z]{3}", self.target):
            raise ValueError(
                f"fault route {self.target!r} is not ORIGIN-DESTINATION (SFO-JFK) or *"
            )

    def matches(self, target: str) -> bool:
        return self.target in (target, "*")

    def uses(self) -> int | None:
        return 1 if self.kind == "expired_token" and self.times is None else self.times


# The active route faults: the shared book, matched by route (``*`` matches every one).
RouteFaults = FaultBook


# ================================================================ helpers


def _json(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts (the replay's only randomness)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return int(digest[:13], 16) / float(16**13)


def _pick(seq: list[Any] | tuple[Any, ...], *parts: object) -> Any:
    return seq[int(_unit(*parts) * len(seq))]


def _form(data: Mapping[str, Any] | bytes | str | None) -> dict[str, str]:
    """A form or query as ``{name: last value}``; raw ``a=b&c=d`` text or bytes are parsed."""
    if data is None:
        return {}
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str):
        data = parse_qs(data, keep_blank_values=True)
    out: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, list | tuple):
            if not value:
                continue
            value = value[-1]
        out[str(name)] = str(value)
    return out


def _errors(
    status: int,
    code: int,
    title: str,
    detail: str | None = None,
    parameter: str | None = None,
    example: str | None = None,
    **headers: str,
) -> Answer:
    issue: dict[str, Any] = {"status": status, "code": code, "title": title}
    if detail is not None:
        issue["detail"] = detail
    if parameter is not None:
        issue["source"] = {"parameter": parameter, **({"example": example} if example else {})}
    return status, {**_AMADEUS_JSON, **headers}, _json({"errors": [issue]})


def _token_error(status: int, error: str, description: str) -> Answer:
    body = {
        "error": error,
        "error_description": description,
        "code": 38187,
        "title": "Invalid parameters",
    }
    return status, dict(_TOKEN_JSON), _json(body)


def distance_km(a: Airport, b: Airport) -> float:
    """Great-circle distance between two airports (haversine, mean Earth radius)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def iso_duration(minutes: int) -> str:
    """ISO 8601 duration as Amadeus writes it: ``PT5H30M``, ``PT6H``, ``PT45M``."""
    hours, mins = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{mins}M" if mins or not hours else "")


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


# ================================================================ the responder


class AmadeusReplay:
    """Answers the token and search endpoints; safe to share between request threads.

    Args:
        credentials: Accepted ``client_id -> client_secret`` pairs.
        expires_in: Lifetime of issued tokens in seconds (the real API's is 1799).
        clock: Seconds since the epoch (``time.time``); tests inject their own.
        base_url: Host written into ``meta.links.self``.
    """

    def __init__(
        self,
        credentials: Mapping[str, str] | None = None,
        expires_in: int = DEFAULT_EXPIRES_IN,
        clock: Callable[[], float] = time.time,
        base_url: str = DEFAULT_BASE_URL,
    ) -> None:
        if expires_in < 1:
            raise ValueError("expires_in must be at least 1 second")
        self.credentials = dict(REPLAY_CREDENTIALS if credentials is None else credentials)
        self.expires_in = expires_in
        self.clock = clock
        self.base_url = base_url.rstrip("/")

    # ------------------------------------------------------------ tokens

    def _sign(self, issued: int, lifetime: int) -> str:
        mac = hmac.new(_TOKEN_KEY, f"{issued}:{lifetime}".encode(), hashlib.sha256)
        return mac.hexdigest()[:14]

    def issue_token(self) -> str:
        issued = int(self.clock())
        return f"RP{issued:010x}{self.expires_in:06x}{self._sign(issued, self.expires_in)}"

    def token_state(self, token: str) -> str:
        """``valid``, ``expired`` or ``invalid`` for a token at the clock's current second."""
        match = _TOKEN.match(token)
        if not match:
            return "invalid"
        issued, lifetime = int(match.group(1), 16), int(match.group(2), 16)
        if not hmac.compare_digest(match.group(3), self._sign(issued, lifetime)):
            return "invalid"
        return "valid" if self.clock() < issued + lifetime else "expired"

    def answer_token(self, form: Mapping[str, Any] | bytes | str | None) -> Answer:
        """``POST /v1/security/oauth2/token`` with the form (a mapping, or the raw body)."""
        fields = _form(form)
        if fields.get("grant_type") != "client_credentials":
            return _token_error(
                400,
                "unsupported_grant_type",
                "Only client_credentials value is allowed for the body parameter grant_type",
            )
        client_id, secret = fields.get("client_id"), fields.get("client_secret")
        if not client_id or not secret:
            return _token_error(
                400,
                "invalid_request",
                "Mandatory parameters missing in the request body: client_id, client_secret",
            )
        expected = self.credentials.get(client_id)
        if expected is None or not hmac.compare_digest(expected, secret):
            return _token_error(401, "invalid_client", "Client credentials are invalid")
        body = {
            "type": "amadeusOAuth2Token",
            "username": "replay@lakehouse.invalid",
            "application_name": "lakehouse-replay",
            "client_id": client_id,
            "token_type": "Bearer",
            "access_token": self.issue_token(),
            "expires_in": self.expires_in,
            "state": "approved",
            "scope": "",
        }
        return 200, dict(_TOKEN_JSON), _json(body)

    # ------------------------------------------------------------ search

    def answer_search(
        self,
        query: Mapping[str, Any] | bytes | str | None,
        authorization: str | None,
        faults: Any = None,
    ) -> Answer:
        """``GET /v2/shopping/flight-offers``.

        Args:
            query: The query parameters (``parse_qs`` lists, plain values or the raw string).
            authorization: The ``Authorization`` header, or None when absent.
            faults: Where the search's fault comes from: a :class:`RouteFaults`, anything with
                ``take(route)`` returning an object with ``.kind`` (or a kind string, or None),
                a kind string itself, or None.
        """
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _errors(
                401,
                38191,
                "Invalid HTTP header",
                "Missing or invalid format for mandatory Authorization header",
            )
        state = self.token_state(token.strip())
        if state == "invalid":
            return _errors(
                401,
                38190,
                "Invalid access token",
                "The access token provided in the Authorization header is invalid",
            )
        if state == "expired":
            return _errors(401, 38192, "Access token expired", "The access token is expired")

        params = _form(query)
        route = (
            f"{params.get('originLocationCode', '')}-{params.get('destinationLocationCode', '')}"
        )
        kind = _fault_kind(faults, route.upper())
        if kind == "expired_token":
            return _errors(401, 38192, "Access token expired", "The access token is expired")
        if kind == "http_429":
            return _errors(
                429,
                38194,
                "Too many requests",
                "The network rate limit is exceeded, please try again later",
            )
        if kind == "http_500":
            return _errors(500, 141, "SYSTEM ERROR HAS OCCURRED")
        if kind == "bad_request":
            return _errors(
                400,
                477,
                "INVALID FORMAT",
                "invalid query parameter format",
                "departureDate",
                "2017-12-25",
            )

        today = datetime.fromtimestamp(self.clock(), UTC).date()
        try:
            search = _Search.parse(params, today)
        except _BadQuery as exc:
            return exc.answer
        status, headers, body = 200, dict(_AMADEUS_JSON), _json(self._offers_body(search, params))
        if kind == "truncate":
            body = body[: len(body) // 2]
        return status, headers, body

    def _offers_body(self, search: _Search, params: Mapping[str, str]) -> dict[str, Any]:
        link = f"{self.base_url}{SEARCH_PATH}?{urlencode(list(params.items()))}"
        offers = generate_offers(search)
        if not offers:
            return {"meta": {"count": 0, "links": {"self": link}}, "data": []}
        used_airports: set[str] = set()
        used_aircraft: set[str] = set()
        used_carriers: set[str] = set()
        for offer in offers:
            used_carriers.update(offer["validatingAirlineCodes"])
            for itinerary in offer["itineraries"]:
                for segment in itinerary["segments"]:
                    used_airports.update(
                        (segment["departure"]["iataCode"], segment["arrival"]["iataCode"])
                    )
                    used_aircraft.add(segment["aircraft"]["code"])
                    used_carriers.add(segment["carrierCode"])
        return {
            "meta": {"count": len(offers), "links": {"self": link}},
            "data": offers,
            "dictionaries": {
                "locations": {
                    code: {
                        "cityCode": AIRPORTS[code].city_code,
                        "countryCode": AIRPORTS[code].country,
                    }
                    for code in sorted(used_airports)
                },
                "aircraft": {code: AIRCRAFT[code] for code in sorted(used_aircraft)},
                "currencies": {search.currency: CURRENCIES[search.currency][0]},
                "carriers": {code: CARRIERS[code].name for code in sorted(used_carriers)},
            },
        }


def _fault_kind(faults: Any, route: str) -> str | None:
    if faults is None:
        return None
    if isinstance(faults, str):
        return faults
    fault = faults.take(route)
    if fault is None or isinstance(fault, str):
        return fault
    return fault.kind


class _BadQuery(Exception):
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer[2].decode())
        self.answer = answer


def _missing(parameter: str) -> _BadQuery:
    return _BadQuery(
        _errors(400, 32171, "MANDATORY DATA MISSING", "This field must be filled.", parameter)
    )


def _bad_format(parameter: str, example: str) -> _BadQuery:
    return _BadQuery(
        _errors(400, 477, "INVALID FORMAT", "invalid query parameter format", parameter, example)
    )


@dataclass(frozen=True)
class _Search:
    origin: str
    destination: str
    departure: date
    return_date: date | None
    adults: int
    currency: str
    max_offers: int
    non_stop: bool
    today: date

    @classmethod
    def parse(cls, params: Mapping[str, str], today: date) -> _Search:
        codes = {}
        for name in ("originLocationCode", "destinationLocationCode"):
            value = params.get(name)
            if not value:
                raise _missing(name)
            if not _IATA.match(value):
                raise _bad_format(name, "BOS")
            codes[name] = value
        if codes["originLocationCode"] == codes["destinationLocationCode"]:
            raise _BadQuery(
                _errors(
                    400,
                    4926,
                    "INVALID DATA RECEIVED",
                    "Origin and destination are the same",
                    "destinationLocationCode",
                )
            )
        if not params.get("departureDate"):
            raise _missing("departureDate")
        departure = _date(params, "departureDate")
        if departure < today:
            raise _BadQuery(
                _errors(400, 425, "INVALID DATE", "Date/Time is in the past", "departureDate")
            )
        return_date = _date(params, "returnDate") if params.get("returnDate") else None
        if return_date is not None and return_date < departure:
            raise _BadQuery(
                _errors(
                    400,
                    425,
                    "INVALID DATE",
                    "Return date is before the departure date",
                    "returnDate",
                )
            )
        if not params.get("adults"):
            raise _missing("adults")
        adults = _int(params, "adults", 1, 9, "1")
        max_offers = _int(params, "max", 1, 250, "250") if params.get("max") else 250
        currency = params.get("currencyCode") or DEFAULT_CURRENCY
        if not _CURRENCY.match(currency):
            raise _bad_format("currencyCode", "USD")
        if currency not in CURRENCIES:
            raise _BadQuery(
                _errors(400, 572, "INVALID OPTION", "Currency is not supported", "currencyCode")
            )
        non_stop = params.get("nonStop", "false").lower()
        if non_stop not in ("true", "false"):
            raise _bad_format("nonStop", "false")
        return cls(
            codes["originLocationCode"],
            codes["destinationLocationCode"],
            departure,
            return_date,
            adults,
            currency,
            max_offers,
            non_stop == "true",
            today,
        )

    @property
    def days_ahead(self) -> int:
        return (self.departure - self.today).days


def _date(params: Mapping[str, str], name: str) -> date:
    try:
        return date.fromisoformat(params[name]) if len(params[name]) == 10 else _raise()
    except ValueError:
        raise _bad_format(name, "2017-12-25") from None


def _raise() -> date:
    raise ValueError


def _int(params: Mapping[str, str], name: str, low: int, high: int, example: str) -> int:
    raw = params.get(name, "")
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _bad_format(name, example)
    return int(raw)


# ================================================================ offer generation


@dataclass(frozen=True)
class _Routing:
    carrier: str
    via: str | None  # connection airport of a one-stop routing


def _routings(origin: Airport, destination: Airport) -> list[_Routing]:
    """Nonstop and one-stop routings of the carriers with a hub at either end."""
    countries = {origin.country, destination.country}
    direct = distance_km(origin, destination)
    routings = []
    for carrier in sorted(
        CARRIERS.values(), key=lambda c: _unit(c.code, origin.iata, destination.iata)
    ):
        if origin.iata not in carrier.hubs and destination.iata not in carrier.hubs:
            continue
        if carrier.countries is not None and not countries <= set(carrier.countries):
            continue
        if direct < 13000:
            routings.append(_Routing(carrier.code, None))
        # The carrier's hub that makes the shortest detour (at most 40% longer than nonstop).
        vias = [
            (distance_km(origin, AIRPORTS[h]) + distance_km(AIRPORTS[h], destination), h)
            for h in carrier.hubs
            if h not in (origin.iata, destination.iata) and h in AIRPORTS
        ]
        if vias:
            total, hub = min(vias)
            if total <= 1.4 * direct and distance_km(origin, AIRPORTS[hub]) > 250:
                routings.append(_Routing(carrier.code, hub))
    return routings


def _aircraft(km: float, *key: object) -> str:
    if km < 2500:
        return _pick(("32N", "738"), "aircraft", *key)
    if km < 6000:
        return _pick(("321", "739", "789"), "aircraft", *key)
    return _pick(("789", "77W", "359"), "aircraft", *key)


def _flight_minutes(km: float) -> int:
    return 5 * round((km / 830 * 60 + 35) / 5)


def _itinerary(
    routing: _Routing, start: Airport, end: Airport, day: date, first_segment_id: int
) -> tuple[dict[str, Any], list[tuple[str, Airport, Airport]]]:
    """One direction: its segments with local times and durations."""
    hops = [start, AIRPORTS[routing.via], end] if routing.via else [start, end]
    key = (routing.carrier, start.iata, end.iata, routing.via or "-")
    # Schedules repeat daily: the departure slot depends on the flight, not the date.
    slot = 6 * 60 + 5 * int(_unit("slot", *key) * 180)  # 06:00 .. 20:55 local
    departs_local = datetime.combine(day, datetime.min.time()) + timedelta(minutes=slot)
    departs_utc = departs_local.replace(tzinfo=ZoneInfo(start.timezone)).astimezone(UTC)
    first_departure_utc = departs_utc
    segments, legs = [], []
    for index, (a, b) in enumerate(zip(hops, hops[1:], strict=False)):
        km = distance_km(a, b)
        minutes = _flight_minutes(km)
        arrives_utc = departs_utc + timedelta(minutes=minutes)
        number = str(100 + int(_unit("number", routing.carrier, a.iata, b.iata) * 8900))
        departure: dict[str, Any] = {"iataCode": a.iata}
        if _unit("terminal", a.iata, routing.carrier) < 0.6:
            departure["terminal"] = str(1 + int(_unit("terminal#", a.iata, routing.carrier) * 4))
        departure["at"] = departs_utc.astimezone(ZoneInfo(a.timezone)).strftime("%Y-%m-%dT%H:%M:%S")
        arrival: dict[str, Any] = {"iataCode": b.iata}
        if _unit("terminal", b.iata, routing.carrier) < 0.6:
            arrival["terminal"] = str(1 + int(_unit("terminal#", b.iata, routing.carrier) * 4))
        arrival["at"] = arrives_utc.astimezone(ZoneInfo(b.timezone)).strftime("%Y-%m-%dT%H:%M:%S")
        segment_id = str(first_segment_id + index)
        segments.append(
            {
                "departure": departure,
                "arrival": arrival,
                "carrierCode": routing.carrier,
                "number": number,
                "aircraft": {"code": _aircraft(km, routing.carrier, a.iata, b.iata)},
                "operating": {"carrierCode": routing.carrier},
                "duration": iso_duration(minutes),
                "id": segment_id,
                "numberOfStops": 0,
                "blacklistedInEU": False,
            }
        )
        legs.append((segment_id, a, b))
        connection = 60 + 5 * int(_unit("connection", *key, index) * 18)  # 1h .. 2h25
        departs_utc = arrives_utc + timedelta(minutes=connection)
    total = int((arrives_utc - first_departure_utc).total_seconds() // 60)
    return {"duration": iso_duration(total), "segments": segments}, legs


def _fare_usd(search: _Search, routing: _Routing, origin: Airport, destination: Airport) -> Decimal:
    """One adult's base fare in USD, before taxes."""
    km = distance_km(origin, destination)
    international = origin.country != destination.country
    fare = 49 + 0.085 * km
    if international:
        fare *= 1.25
    if search.return_date is None:
        fare *= 0.62
    days = max(search.days_ahead, 0)
    fare *= 1 + 0.85 * math.exp(-days / 9)  # late bookings cost more
    fare *= 1 + 0.04 * max(0, days - 60) / 30  # and very early ones a little
    if routing.via:
        fare *= 0.82
    fare *= 0.9 + 0.3 * _unit("carrier", routing.carrier, origin.iata, destination.iata)
    fare *= 0.92 + 0.16 * _unit(
        "fare",
        origin.iata,
        destination.iata,
        search.departure,
        search.return_date,
        search.days_ahead,
        routing.carrier,
        routing.via,
    )
    return Decimal(str(round(fare, 2)))


def _booking_class(days_ahead: int) -> str:
    if days_ahead >= 60:
        return "L"
    if days_ahead >= 21:
        return "K"
    if days_ahead >= 7:
        return "M"
    return "Y"


def generate_offers(search: _Search) -> list[dict[str, Any]]:
    """The offers of one search, cheapest first, ids by position."""
    origin, destination = AIRPORTS.get(search.origin), AIRPORTS.get(search.destination)
    if origin is None or destination is None:
        return []
    international = origin.country != destination.country
    rate = CURRENCIES[search.currency][1]
    routings = [r for r in _routings(origin, destination) if not (search.non_stop and r.via)]
    # Not every flight has seats left on every day.
    routings = [
        r
        for r in routings
        if _unit("sold-out", search.departure, search.return_date, r.carrier, r.via) >= 0.15
    ][:MAX_OFFERS_PER_SEARCH]
    cls = _booking_class(search.days_ahead)
    priced = []
    for routing in routings:
        itineraries, legs = [], []
        outbound, out_legs = _itinerary(routing, origin, destination, search.departure, 1)
        itineraries.append(outbound)
        legs += out_legs
        if search.return_date is not None:
            back, back_legs = _itinerary(
                routing, destination, origin, search.return_date, len(out_legs) + 1
            )
            itineraries.append(back)
            legs += back_legs
        base = (_fare_usd(search, routing, origin, destination) * rate).quantize(_CENT)
        taxes = (
            base * Decimal("0.075")
            + Decimal("5.60") * len(legs) * rate
            + (Decimal("62.40") * rate if international else Decimal(0))
        ).quantize(_CENT)
        per_adult = base + taxes
        fare_basis = f"{cls}{'A' if international else 'U'}{min(search.days_ahead, 99):02d}NR"
        traveler_pricings = [
            {
                "travelerId": str(n),
                "fareOption": "STANDARD",
                "travelerType": "ADULT",
                "price": {
                    "currency": search.currency,
                    "total": _money(per_adult),
                    "base": _money(base),
                },
                "fareDetailsBySegment": [
                    {
                        "segmentId": segment_id,
                        "cabin": "ECONOMY",
                        "fareBasis": fare_basis,
                        "class": cls,
                        "includedCheckedBags": {"quantity": 1 if international else 0},
                    }
                    for segment_id, _a, _b in legs
                ],
            }
            for n in range(1, search.adults + 1)
        ]
        total = per_adult * search.adults
        offer = {
            "type": "flight-offer",
            "id": "",
            "source": "GDS",
            "instantTicketingRequired": False,
            "nonHomogeneous": False,
            "oneWay": False,
            "lastTicketingDate": (
                search.today + timedelta(days=min(3, search.days_ahead))
            ).isoformat(),
            "numberOfBookableSeats": 1 + int(_unit("seats", search.departure, routing) * 9),
            "itineraries": itineraries,
            "price": {
                "currency": search.currency,
                "total": _money(total),
                "base": _money(base * search.adults),
                "fees": [
                    {"amount": "0.00", "type": "SUPPLIER"},
                    {"amount": "0.00", "type": "TICKETING"},
                ],
                "grandTotal": _money(total),
            },
            "pricingOptions": {"fareType": ["PUBLISHED"], "includedCheckedBagsOnly": True},
            "validatingAirlineCodes": [routing.carrier],
            "travelerPricings": traveler_pricings,
        }
        priced.append((total, routing.carrier, routing.via or "", offer))
    priced.sort(key=lambda p: (p[0], p[1], p[2]))
    offers = [p[3] for p in priced[: search.max_offers]]
    for position, offer in enumerate(offers, start=1):
        offer["id"] = str(position)
    return offers


# ================================================================ module-level responder

_DEFAULT = AmadeusReplay()


def answer_token(form: Mapping[str, Any] | bytes | str | None) -> Answer:
    """:meth:`AmadeusReplay.answer_token` of the default responder (real clock, 1799 s)."""
    return _DEFAULT.answer_token(form)


def answer_search(
    query: Mapping[str, Any] | bytes | str | None, authorization: str | None, faults: Any = None
) -> Answer:
    """:meth:`AmadeusReplay.answer_search` of the default responder."""
    return _DEFAULT.answer_search(query, authorization, faults)
