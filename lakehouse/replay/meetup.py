"""Meetup's RSVP stream (``GET /2/rsvps``) replayed: chunked HTTP, one JSON object per line.

The real stream (``stream.meetup.com/2/rsvps``, gone since 2020) sent every public RSVP as it
happened, one JSON object per line of a chunked answer, and replayed the past with
``?since_mtime=<epoch ms>``. This responder sends a deterministic sequence in that format:

- line ``i`` is a pure function of ``i`` (:func:`line`), so every connection, every server and
  every test sees the same bytes; ``mtime`` grows strictly along the sequence;
- ``?since_mtime=M`` starts at the first line whose ``mtime`` is at least ``M`` (inclusive, as
  the consumers of the real stream assumed; the reader skips what it already has);
- a changed RSVP is sent again with the same ``rsvp_id`` and a newer ``mtime`` (the response
  flips, guests change): lines ``i % 10 == 7`` and ``i % 10 == 8`` re-send an earlier RSVP, so
  some RSVPs have three versions;
- private venues (every sixth original RSVP) come without ``venue``; ``group_country`` is
  lowercase; ids are large integers (``rsvp_id`` and ``member_id`` beyond a signed 32-bit integer);
- every fiftieth line (``i % 50 == 49``) is not JSON (a proxy's keep-alive text), as a long-lived
  HTTP stream delivers now and then.

The stream holds ``total`` lines, then the server ends the answer (``None``: it never ends and
sends one line every ``interval_s``). ``drop_after`` cuts the first ``drops`` connections after
that many lines without ending the chunked body, as a dropped connection does.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

PATH = "/2/rsvps"
START_MTIME = 1_454_871_130_000  # 2016-02-07T18:52:10Z, the sample's mtime
STEP_MS = 3_000  # lines are 3-5 s apart
RSVP_ID_BASE = 4_290_000_000  # beyond a signed 32-bit integer, as later Meetup ids were
MEMBER_ID_BASE = 3_100_000_000
NOT_JSON = b"<!-- keep-alive -->"

# (city, country, lat, lon, venues): groups meet at venues scattered around their city.
CITIES: tuple[tuple[str, str, float, float], ...] = (
    ("Salisbury", "gb", 51.07, -1.80),
    ("London", "gb", 51.51, -0.13),
    ("Berlin", "de", 52.52, 13.40),
    ("San Francisco", "us", 37.77, -122.42),
    ("New York", "us", 40.71, -74.01),
    ("Tokyo", "jp", 35.68, 139.69),
    ("Sydney", "au", -33.87, 151.21),
    ("Auckland", "nz", -36.85, 174.76),
    ("Suva", "fj", -18.14, 178.44),
    ("Sao Paulo", "br", -23.55, -46.63),
)
TOPICS: tuple[tuple[str, str], ...] = (
    ("boardgames", "Board Games"),
    ("hiking", "Hiking"),
    ("python", "Python"),
    ("photography", "Photography"),
    ("startups", "Startups"),
    ("language-exchange", "Language Exchange"),
)
NAMES = ("Ana", "Ben", "Chloé", "Dev", "Eun-ji", "Femi", "Gus", "Hana", "Ivo", "José")
GROUPS_PER_CITY = 3
VENUES_PER_GROUP = 4
EVENTS_PER_GROUP = 5


def _h(*parts: object) -> int:
    text = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


def mtime(i: int) -> int:
    """The ``mtime`` of line ``i``: strictly increasing, 3 to 5 s apart."""
    return START_MTIME + i * STEP_MS + _h("mtime", i) % 2_000


def is_noise(i: int) -> bool:
    return i % 50 == 49


def original_of(i: int) -> int:
    """Line of the first version of the RSVP line ``i`` sends (``i`` itself when it is new)."""
    if i % 10 == 7:
        return i - 3 - _h("resend7", i) % 3  # lines ending in 4, 3 or 2: always new RSVPs
    if i % 10 == 8:
        return i - 4 - _h("resend8", i) % 3  # ending in 4, 3 or 2
    return i


def _rsvp(j: int) -> dict:
    """The first version of the RSVP first sent on line ``j``."""
    city, country, lat, lon = CITIES[_h("city", j) % len(CITIES)]
    c = CITIES.index((city, country, lat, lon))
    g = _h("group", j) % GROUPS_PER_CITY
    group_id = 2_000_001 + c * 100 + g
    v = _h("venue", j) % VENUES_PER_GROUP
    venue_id = 24_000_001 + (c * 100 + g) * 10 + v
    e = _h("event", j) % EVENTS_PER_GROUP
    event_id = 228_600_001 + (c * 100 + g) * 10 + e
    topics = [TOPICS[(c + g) % len(TOPICS)], TOPICS[(c + 2 * g + 1) % len(TOPICS)]]
    urlname = f"{city.replace(' ', '-')}-{topics[0][0]}-{g + 1}"
    member = _h("member", j) % 400
    record: dict = {}
    if _h("private", j) % 6 != 0:
        record["venue"] = {
            "venue_name": f"{city} Hall {v + 1}",
            "lon": round(lon + ((_h("vlon", venue_id) % 2001) - 1000) / 20_000, 6),
            "lat": round(lat + ((_h("vlat", venue_id) % 2001) - 1000) / 20_000, 6),
            "venue_id": venue_id,
        }
    record.update(
        {
            "visibility": "public",
            "response": "yes" if _h("response", j) % 4 else "no",
            "guests": _h("guests", j) % 3,
            "member": {"member_id": MEMBER_ID_BASE + member, "member_name": NAMES[member % 10]},
            "rsvp_id": RSVP_ID_BASE + j,
            "mtime": mtime(j),
            "event": {
                "event_name": f"{topics[0][1]} night {e + 1}",
                "event_id": str(event_id),
                "time": mtime(j) + 86_400_000 * (1 + _h("when", event_id) % 20),
                "event_url": f"http://www.meetup.com/{urlname}/events/{event_id}/",
            },
            "group": {
                "group_topics": [{"urlkey": k, "topic_name": n} for k, n in topics],
                "group_city": city,
                "group_country": country,
                "group_id": group_id,
                "group_name": f"{city} {topics[0][1]} {g + 1}",
                "group_lon": lon,
                "group_urlname": urlname,
                "group_lat": lat,
            },
        }
    )
    return record


def record(i: int) -> dict | None:
    """The RSVP line ``i`` sends (a re-send: newer mtime, flipped response), None for noise."""
    if is_noise(i):
        return None
    j = original_of(i)
    rsvp = _rsvp(j)
    if j != i:
        rsvp["mtime"] = mtime(i)
        rsvp["response"] = "no" if rsvp["response"] == "yes" and i % 10 == 7 else "yes"
        rsvp["guests"] = (rsvp["guests"] + 1) % 3
    return rsvp


def line(i: int) -> bytes:
    """Line ``i`` of the stream as sent, with its newline."""
    rsvp = record(i)
    if rsvp is None:
        return NOT_JSON + b"\n"
    return json.dumps(rsvp, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def first_line(since_mtime: int | None) -> int:
    """Index of the first line whose ``mtime`` is at least ``since_mtime``."""
    if since_mtime is None or since_mtime <= START_MTIME:
        return 0
    i = max(0, (since_mtime - START_MTIME) // STEP_MS - 1)
    while mtime(i) < since_mtime:
        i += 1
    return i


@dataclass
class RsvpStream:
    """The stream's size and pacing, and the connection drops it injects."""

    total: int | None = 1_000
    interval_s: float = 0.05  # between lines of an endless stream
    drop_after: int | None = None
    drops: int = 0

    def take_drop(self) -> int | None:
        """Lines the next connection sends before it is cut (None: not cut)."""
        if self.drop_after is None or self.drops < 1:
            return None
        self.drops -= 1
        return self.drop_after

    def lines(self, since_mtime: int | None, cut_after: int | None = None) -> Iterator[bytes]:
        """The lines one connection sends, from ``since_mtime`` on."""
        i = first_line(since_mtime)
        sent = 0
        while self.total is None or i < self.total:
            if cut_after is not None and sent >= cut_after:
                return
            if self.total is None and sent:
                time.sleep(self.interval_s)
            yield line(i)
            sent += 1
            i += 1


class BadRequest(ValueError):
    """A request the real stream rejected (HTTP 400)."""


def since_param(query: dict[str, list[str]]) -> int | None:
    """``since_mtime`` as epoch milliseconds, None when absent."""
    values = query.get("since_mtime")
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError:
        raise BadRequest(f"since_mtime must be epoch milliseconds, not {values[0]!r}") from None
