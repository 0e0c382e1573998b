"""Opening landed objects and planning a bronze run in plain Python (no JVM).

Objects are landed with :mod:`lakehouse.landing` or broken by hand; nothing is faked. The bronze
run with nothing new is the real :func:`spark.landing_to_bronze.run`, given a session factory
that fails if called: a run with nothing to do must never start Spark (issue 16.6).
"""

from __future__ import annotations

import gzip
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakehouse.lake import Lake
from lakehouse.landing import land_body, land_file, land_response
from spark.objects import ReadSpec, document_row, render, table_columns, table_frames
from spark.storage import list_objects

FETCHED = datetime(2025, 3, 9, 6, 0, tzinfo=UTC)
SPEC = ReadSpec(layout={"type": "json_lines"}, envelope={"raw__key": "key"})


def _http(lake: Lake, body: bytes, status: int = 200) -> Path:
    return land_response(
        lake,
        source="s",
        entity="e",
        key="k1",
        method="GET",
        url="http://x.invalid/",
        params={"a": 1},
        http_status=status,
        content_type="application/json",
        body=body,
        batch_id="b1",
        fetched_at=FETCHED,
    ).path


def test_listing_finds_documents_and_files_with_their_envelopes(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    doc = _http(lake, b'{"a": 1}')
    raw = land_file(
        lake,
        source="s",
        entity="e",
        name="drop.csv",
        stream=io.BytesIO(b"a;b\n1;2\n"),
        batch_id="b1",
        transport={"kind": "file", "location": "x"},
        fetched_at=FETCHED,
    ).path
    folder = doc.parent
    (folder / ".partial.json.gz.123.tmp").write_bytes(b"")  # an object being landed
    (folder / "orphan.csv").write_bytes(b"no envelope yet")
    listed = list_objects(str(lake.landing("s", "e")))
    assert sorted(listed) == sorted([f"{folder.name}/{doc.name}", f"{folder.name}/{raw.name}"])
    assert listed[f"{folder.name}/{raw.name}"].document is False
    assert listed[f"{folder.name}/{doc.name}"].size == doc.stat().st_size
    assert list_objects(str(tmp_path / "nothing")) == {}


@pytest.mark.parametrize(
    ("content", "field", "reason"),
    [
        (b"", "object", "empty landing object (0 bytes)"),
        (b"PK\x03\x04 not gzip", "object", "unreadable landing object: not gzip"),
        (gzip.compress(b"")[:5], "object", "unreadable landing object: not gzip"),
        (gzip.compress(b"   "), "object", "empty landing object (no document inside the gzip)"),
        (gzip.compress(b"[1, 2]"), "envelope", "unreadable landing object: not an {envelope"),
    ],
)
def test_broken_objects_become_problems_not_errors(
    tmp_path: Path, content: bytes, field: str, reason: str
) -> None:
    path = tmp_path / "fetch_date=2025-03-09" / "x.json.gz"
    path.parent.mkdir()
    path.write_bytes(content)
    row = document_row(str(path), True, SPEC)
    assert row["_problem_field"] == field and row["_problem_reason"].startswith(reason)
    assert row["body"] is None and row["_landing_path"] == str(path)


def test_http_status_is_checked_for_http_transports_only(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    failed = document_row(str(_http(lake, b'{"busy": 1}', status=503)), True, SPEC)
    assert failed["_problem_reason"] == "http_status 503 is not 2xx"
    assert failed["_problem_field"] == "envelope.transport.status"
    assert failed["raw__key"] == "k1" and failed["_batch_id"] == "b1"
    kafka = land_body(
        lake,
        source="s",
        entity="e",
        key="topic-0",
        body=b'{"id": 1}\n',
        batch_id="b2",
        transport={"kind": "kafka", "topic": "t", "partition": 0},
        fetched_at=FETCHED,
    ).path
    row = document_row(str(kafka), True, SPEC)
    assert row["_problem_reason"] is None and row["body"] == '{"id": 1}\n'
    assert row["_fetched_at"] == "2025-03-09T06:00:00Z"


def test_legacy_envelope_is_read_and_its_status_checked(tmp_path: Path) -> None:
    """Objects landed before `transport`: top-level http_status and request."""
    body = '{"a": 1}'
    import hashlib

    envelope = {
        "source": "s",
        "entity": "e",
        "key": "k",
        "batch_id": "old",
        "http_status": 200,
        "request": {"method": "GET", "url": "http://x.invalid", "params": {"p": "v"}},
        "fetched_at": "2025-03-01T00:00:00Z",
        "sha256": hashlib.sha256(body.encode()).hexdigest(),
    }
    path = tmp_path / "fetch_date=2025-03-01" / "old.json.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(json.dumps({"envelope": envelope, "body": body}).encode()))
    spec = ReadSpec(layout={"type": "records"}, envelope={"raw__p": "transport.params.p"})
    row = document_row(str(path), True, spec)
    assert row["_problem_reason"] is None and row["raw__p"] == "v" and row["body"] == body
    envelope["http_status"] = 404
    path.write_bytes(gzip.compress(json.dumps({"envelope": envelope, "body": body}).encode()))
    row = document_row(str(path), True, spec)
    assert row["_problem_field"] == "envelope.http_status"
    assert row["_problem_reason"] == "http_status 404 is not 2xx"


def test_binary_body_round_trips_through_base64(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    latin = "Zürich;Genève\n".encode("latin-1")
    path = land_body(
        lake,
        source="s",
        entity="e",
        key="k",
        body=latin,
        batch_id="b",
        transport={"kind": "file"},
        fetched_at=FETCHED,
    ).path
    assert "body_base64" in json.loads(gzip.decompress(path.read_bytes()))
    spec = ReadSpec(layout={"type": "text", "encoding": "latin-1"}, values={"raw__t": "text"})
    row = document_row(str(path), True, spec)
    assert row["body"] == "Zürich;Genève\n"


def test_altered_raw_file_is_rejected(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    path = land_file(
        lake,
        source="s",
        entity="e",
        name="a.csv",
        stream=io.BytesIO(b"x\n1\n"),
        batch_id="b",
        transport={"kind": "file"},
        fetched_at=FETCHED,
    ).path
    spec = ReadSpec(layout={"type": "csv"}, values={"raw__x": "x"})
    (frame,) = table_frames(str(path), False, spec, table_columns(spec))
    assert frame["raw__x"].tolist() == ["1"] and frame["_pos"].tolist() == [0]
    path.write_bytes(b"x\n2\n")
    (frame,) = table_frames(str(path), False, spec, table_columns(spec))
    assert frame["_problem_field"].tolist() == ["envelope.sha256"]


def test_render_keeps_source_text() -> None:
    from decimal import Decimal

    assert render(135.0) == "135.0" and render(float("nan")) is None
    assert render(True) == "true" and render(Decimal("12.30")) == "12.30"
    assert render({"a": [1]}) == '{"a": [1]}' and render(None) is None
    assert render(datetime(2025, 3, 1, 10, 0)) == "2025-03-01T10:00:00"


def test_run_with_nothing_new_starts_no_spark(tmp_path: Path) -> None:
    """A re-run with nothing new lists and reads the ledger in Python, commits nothing (16.6)."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from lakehouse.runs import latest_run
    from spark.landing_to_bronze import run
    from spark.storage import object_key

    lake = Lake(tmp_path / "lake")
    path = _weather_object(lake)
    ledger = lake.state / "bronze" / "weather__hourly" / "processed_objects"
    write_deltalake(
        str(ledger),
        pa.table(
            {
                "object_key": [object_key(str(path))],
                "landing_path": [str(path)],
                "run_id": ["r0"],
                "bronze_version": pa.array([0], pa.int64()),
                "processed_at": pa.array([FETCHED], pa.timestamp("us", tz="UTC")),
            }
        ),
    )

    def no_spark():  # noqa: ANN202
        raise AssertionError("a run with nothing new started Spark")

    began = time.monotonic()
    result = run(no_spark, lake, "weather", "hourly")
    assert time.monotonic() - began < 5
    assert result.status == "ok" and result.objects_seen == 1 and result.objects_processed == 0
    assert result.rows_in_table is None and result.delta_version_after is None
    assert latest_run(lake, "bronze", "weather")["objects_processed"] == 0
    assert not lake.bronze("weather__hourly").exists()


def _weather_object(lake: Lake) -> Path:
    body = json.dumps({"latitude": 1.0, "hourly": {"time": ["2025-03-05T00:00"]}}).encode()
    return land_response(
        lake,
        source="weather",
        entity="hourly",
        key="san_diego",
        method="GET",
        url="http://x.invalid/",
        params={},
        http_status=200,
        content_type="application/json",
        body=body,
        batch_id="b1",
        fetched_at=FETCHED,
    ).path


def test_cli_with_nothing_new_returns_in_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lakehouse bronze weather` with nothing new: no Prefect temporary server, no Spark (16.6)."""
    from typer.testing import CliRunner

    from lakehouse.cli.app import app
    from lakehouse.runs import latest_run

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    lake = Lake(tmp_path / "lake")
    began = time.monotonic()
    result = CliRunner().invoke(app, ["bronze", "weather", "--lake-root", str(lake.root)])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - began < 10
    assert "nothing committed" in result.output
    assert latest_run(lake, "bronze", "weather")["objects_processed"] == 0


def test_sas_values_become_the_text_render_gives_column_wise() -> None:
    import pandas as pd

    from spark.objects import _sas_text

    numbers = [135.0, 20554.0, float("nan"), 3.7, -0.0, 0.0, -12.0, 1e16, 55425779630.0, 1e-05]
    assert _sas_text(pd.Series(numbers)).to_pylist() == [render(v) for v in numbers]
    texts = pd.Series(["B2  ", "   ", "", None, "00123", " x\t"], dtype=object)
    assert _sas_text(texts).to_pylist() == ["B2", None, None, None, "00123", " x"]
