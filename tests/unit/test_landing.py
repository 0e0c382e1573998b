"""Landing is atomic, never overwrites, keeps bodies byte-exact and stores identical bodies once."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from lakehouse.landing import _atomic_write, iter_objects, land_response, read_object

BODY = '{"latitude":32.725,"hourly":{"time":["2025-03-05T00:00"],"temperature_2m":[14.6]}}'


def _land(lake, body: bytes, key: str = "san_diego", when: datetime | None = None):
    return land_response(
        lake,
        source="weather",
        entity="hourly",
        key=key,
        method="GET",
        url="http://127.0.0.1:8765/v1/archive",
        params={"latitude": 32.7157, "timezone": "GMT"},
        http_status=200,
        content_type="application/json",
        body=body,
        batch_id="batch-1",
        fetched_at=when,
    )


def test_object_holds_envelope_and_the_body_exactly_as_received(settings):
    lake = settings.lake
    landed = _land(lake, BODY.encode(), when=datetime(2025, 3, 5, 12, 0, tzinfo=UTC))
    assert landed.created
    assert landed.path.parent.name == "fetch_date=2025-03-05"
    assert landed.path.parent.parent == lake.landing("weather", "hourly")
    document = read_object(landed.path)
    assert document["body"] == BODY
    envelope = document["envelope"]
    assert envelope["key"] == "san_diego" and envelope["batch_id"] == "batch-1"
    assert envelope["fetched_at"] == "2025-03-05T12:00:00Z"
    assert envelope["body_bytes"] == len(BODY) and envelope["sha256"] == landed.sha256
    transport = envelope["transport"]
    assert transport == {
        "kind": "http",
        "method": "GET",
        "url": "http://127.0.0.1:8765/v1/archive",
        "params": {"latitude": 32.7157, "timezone": "GMT"},
        "status": 200,
    }


def test_identical_body_is_stored_once_and_a_new_body_gets_its_own_object(settings):
    lake = settings.lake
    first = _land(lake, BODY.encode())
    again = _land(lake, BODY.encode())
    changed = _land(lake, BODY.replace("14.6", "14.7").encode())
    assert first.created and not again.created and changed.created
    assert again.path == first.path
    assert list(iter_objects(lake, "weather", "hourly")) == sorted([first.path, changed.path])


def test_a_truncated_body_is_landed_as_received(settings):
    truncated = BODY.encode()[: len(BODY) // 2]
    landed = _land(settings.lake, truncated)
    assert read_object(landed.path)["body"].encode() == truncated
    with pytest.raises(json.JSONDecodeError):
        json.loads(read_object(landed.path)["body"])


def test_writes_are_atomic_and_never_overwrite(tmp_path):
    target = tmp_path / "fetch_date=2025-03-05" / "object.json.gz"
    _atomic_write(target, gzip.compress(b"first"))
    with pytest.raises(FileExistsError):
        _atomic_write(target, gzip.compress(b"second"))
    assert gzip.decompress(target.read_bytes()) == b"first"
    # No temporary file is left behind, whichever way the write ended.
    assert [p.name for p in target.parent.iterdir()] == ["object.json.gz"]
