"""The replay of Meetup's RSVP stream: its format, re-sends, resume and dropped connections."""

from __future__ import annotations

import json

import httpx
import pytest

from lakehouse.replay import ReplayServer, meetup
from lakehouse.replay.meetup import RsvpStream


def _get(url: str, **params: object) -> tuple[httpx.Response, list[bytes]]:
    response = httpx.get(f"{url}/2/rsvps", params=params, timeout=30)
    return response, response.content.splitlines()


def test_the_stream_is_chunked_json_lines_in_meetups_format() -> None:
    with ReplayServer(rsvps=RsvpStream(total=200)) as server:
        response, lines = _get(server.url)
        again = _get(server.url)[1]
    assert response.status_code == 200
    assert response.headers["transfer-encoding"] == "chunked"
    assert lines == again and len(lines) == 200  # deterministic
    records = [json.loads(line) for line in lines if line.startswith(b"{")]
    assert len(records) == 200 - 4  # every fiftieth line is not JSON
    first = records[0]
    assert set(first) >= {"rsvp_id", "mtime", "response", "guests", "member", "event", "group"}
    assert first["rsvp_id"] > 2**31 and first["member"]["member_id"] > 2**31  # beyond int32
    assert all(r["group"]["group_country"].islower() for r in records)
    assert any("venue" not in r for r in records)  # private venues
    assert isinstance(first["event"]["event_id"], str)
    mtimes = [r["mtime"] for r in records]
    assert mtimes == sorted(mtimes) and len(set(mtimes)) == len(mtimes)


def test_a_changed_rsvp_comes_again_with_a_newer_mtime() -> None:
    records = [r for r in (meetup.record(i) for i in range(200)) if r is not None]
    versions: dict[int, list[int]] = {}
    for r in records:
        versions.setdefault(r["rsvp_id"], []).append(r["mtime"])
    resent = {k: v for k, v in versions.items() if len(v) > 1}
    assert resent and any(len(v) == 3 for v in resent.values())
    assert all(v == sorted(v) for v in resent.values())


def test_since_mtime_resumes_inclusively_and_a_bad_value_is_a_400() -> None:
    with ReplayServer(rsvps=RsvpStream(total=100)) as server:
        full = _get(server.url)[1]
        at = json.loads(full[30])["mtime"]
        _, resumed = _get(server.url, since_mtime=at)
        bad, _ = _get(server.url, since_mtime="yesterday")
    assert resumed == full[30:]
    assert bad.status_code == 400


def test_a_dropped_connection_ends_without_the_last_chunk() -> None:
    with ReplayServer(rsvps=RsvpStream(total=100, drop_after=10, drops=1)) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{server.url}/2/rsvps", timeout=30)
        _, lines = _get(server.url)
        log = httpx.get(f"{server.url}/__replay/requests").json()
    assert len(lines) == 100
    assert [e["fault"] for e in log if e["path"] == "/2/rsvps"] == ["drop_after:10", None]
