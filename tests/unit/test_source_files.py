"""Kind files: a folder, an HTTP listing (HTML and JSON) and an S3 prefix (moto server mode).

Matched files land byte for byte (a binary file too), unmatched ones are named in a warning,
the same file dropped twice is a no-op and a corrected file under the same name lands again.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import threading
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lakehouse.contracts import load_contract
from lakehouse.landing import body_bytes, iter_objects, read_object
from lakehouse.sources import IngestRequest, WindowError
from lakehouse.sources import files as files_kind

FIXTURES = Path(__file__).parents[1] / "fixtures" / "contracts"
SOURCE = "kinds_files"
# Not UTF-8, with every byte value, larger than landing's 1 MiB chunk.
BINARY = bytes(range(256)) * 9000 + b"\xff\xfe\x00end"
CSV = b"ident,name\nKSFO,San Francisco International\nKSAN,San Diego International\n"


@pytest.fixture
def contract():
    return load_contract(SOURCE, FIXTURES)


@pytest.fixture
def fast(settings):
    return settings.model_copy(update={"http_backoff_base_s": 0.01, "http_max_attempts": 2})


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    """A drop folder: two matching files (one binary, upper-case suffix), one nested, noise."""
    folder = tmp_path / "drop"
    (folder / "more").mkdir(parents=True)
    (folder / "i94_apr16_sub.SAS7BDAT").write_bytes(BINARY)
    (folder / "airport-codes_csv.csv").write_bytes(CSV)
    (folder / "more" / "airport-codes-2.csv").write_bytes(CSV.replace(b"KSAN", b"KLAX"))
    (folder / "readme.txt").write_text("not data\n")
    (folder / ".airport-codes-partial.csv").write_bytes(b"hidden, half written")
    return folder


def _by_key(result) -> dict:
    return {t.key: t for t in result.targets}


def test_a_folder_lands_matched_files_exactly_and_names_the_rest(fast, contract, drop):
    result = files_kind.run(fast, contract, IngestRequest(location=str(drop)))
    assert result.ok and result.kind == "files", result.failure_message()
    targets = _by_key(result)
    assert set(targets) == {
        "i94_apr16_sub.SAS7BDAT",
        "airport-codes_csv.csv",
        "more/airport-codes-2.csv",
        files_kind.UNMATCHED,
    }
    assert targets[files_kind.UNMATCHED].warnings == [
        "1 file matched no entity's patterns and was skipped: readme.txt"
    ]
    sas = targets["i94_apr16_sub.SAS7BDAT"]
    assert sas.objects == 1 and sas.bytes == len(BINARY) and sas.rows == 0
    assert sas.label == "arrivals: i94_apr16_sub.SAS7BDAT"
    landed = Path(sas.path)
    assert landed.parent.parent == fast.lake.landing(SOURCE, "arrivals")
    assert body_bytes(landed) == BINARY and landed.read_bytes() == BINARY
    envelope = read_object(landed)["envelope"]
    transport = envelope["transport"]
    assert transport["kind"] == "file" and transport["location"] == str(drop)
    assert transport["name"] == "i94_apr16_sub.SAS7BDAT" and transport["size"] == len(BINARY)
    assert transport["modified"].endswith("Z")
    assert envelope["sha256"] and envelope["body_bytes"] == len(BINARY)
    airports = list(iter_objects(fast.lake, SOURCE, "airports"))
    assert sorted(body_bytes(p) for p in airports) == sorted([CSV, CSV.replace(b"KSAN", b"KLAX")])

    # Dropped again: nothing new. Corrected under the same name: a new object.
    again = _by_key(files_kind.run(fast, contract, IngestRequest(location=str(drop))))
    assert all(
        t.duplicate and t.objects == 0 for k, t in again.items() if k != files_kind.UNMATCHED
    )
    (drop / "airport-codes_csv.csv").write_bytes(CSV + b"KOAK,Oakland International\n")
    fixed = _by_key(files_kind.run(fast, contract, IngestRequest(location=str(drop))))
    assert fixed["airport-codes_csv.csv"].objects == 1
    assert fixed["i94_apr16_sub.SAS7BDAT"].duplicate
    assert len(list(iter_objects(fast.lake, SOURCE, "airports"))) == 3


def test_the_location_comes_from_the_setting_and_missing_ones_fail_clearly(
    fast, contract, drop, tmp_path, monkeypatch
):
    result = files_kind.run(fast, contract, IngestRequest())
    assert not result.ok
    assert result.targets[0].reason == (
        "no location: give --location, set LAKEHOUSE_KINDS_FILES_LOCATION or location: in the "
        "contract"
    )
    monkeypatch.setenv("LAKEHOUSE_KINDS_FILES_LOCATION", str(drop))
    assert files_kind.run(fast, contract, IngestRequest()).ok
    gone = files_kind.run(fast, contract, IngestRequest(location=str(tmp_path / "nowhere")))
    assert not gone.ok and gone.targets[0].reason.endswith("nowhere is not a folder")
    with pytest.raises(WindowError, match="takes no dates"):
        files_kind.check_request(contract, IngestRequest(start_date=date(2025, 1, 1)))


def test_a_missing_default_inbox_is_a_warning_but_a_named_folder_fails(
    fast, contract, tmp_path, monkeypatch
):
    # A registered files source whose own inbox was never created must not fail every daily
    # refresh; a folder the user names (--from, the setting) that does not exist still fails.
    inbox = tmp_path / "inbox"
    default = contract.model_copy(
        update={"source": contract.source.model_copy(update={"location": str(inbox)})}
    )
    result = files_kind.run(fast, default, IngestRequest())
    assert result.ok and [t.key for t in result.targets] == ["location"]
    assert result.targets[0].objects == 0
    assert result.targets[0].warnings[0].startswith(f"no inbox folder {inbox} yet")
    named = files_kind.run(fast, default, IngestRequest(location=str(inbox)))
    assert not named.ok and named.targets[0].reason.endswith("inbox is not a folder")
    monkeypatch.setenv("LAKEHOUSE_KINDS_FILES_LOCATION", str(tmp_path / "elsewhere"))
    assert not files_kind.run(fast, default, IngestRequest()).ok


class _Served:
    """The drop folder behind Python's file server (its HTML listing), plus a JSON index."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> _Served:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_an_html_listing_lands_the_linked_files(fast, contract, drop):
    with _Served(drop) as server:
        result = files_kind.run(fast, contract, IngestRequest(location=server.url + "/"))
    assert result.ok, result.failure_message()
    targets = _by_key(result)
    # The HTML listing names the sub-folder (skipped) and files; hidden files are listed too
    # by Python's server but match no pattern.
    assert {"i94_apr16_sub.SAS7BDAT", "airport-codes_csv.csv"} <= set(targets)
    sas = targets["i94_apr16_sub.SAS7BDAT"]
    assert body_bytes(Path(sas.path)) == BINARY
    transport = read_object(Path(sas.path))["envelope"]["transport"]
    assert transport["size"] == len(BINARY) and transport["modified"].endswith("Z")
    assert "readme.txt" in targets[files_kind.UNMATCHED].warnings[0]


def test_a_json_listing_and_a_missing_file_that_fails_alone(fast, contract, drop):
    (drop / "index.json").write_text(
        json.dumps(
            [
                "i94_apr16_sub.SAS7BDAT",
                {"name": "airport-codes_csv.csv", "url": "airport-codes_csv.csv", "size": len(CSV)},
                "airport-codes-gone.csv",
            ]
        )
    )
    with _Served(drop) as server:
        result = files_kind.run(fast, contract, IngestRequest(location=server.url + "/index.json"))
    targets = _by_key(result)
    assert set(targets) == {
        "i94_apr16_sub.SAS7BDAT",
        "airport-codes_csv.csv",
        "airport-codes-gone.csv",
    }
    assert targets["airport-codes_csv.csv"].ok and targets["i94_apr16_sub.SAS7BDAT"].ok
    gone = targets["airport-codes-gone.csv"]
    assert not gone.ok and "HTTP 404" in gone.reason
    assert result.failure_message().startswith("1 of 3 targets failed")


def test_listing_parses_json_objects_and_html_links():
    html = (
        b'<a href="../">up</a><a href="sub/">sub</a><a href="?C=M">sort</a>'
        b'<a href="a%20b.csv">a b</a><a href="http://other/x.csv#frag">x</a>'
    )
    assert [
        (f["name"], f["url"]) for f in files_kind.parse_listing(html, "text/html", "http://h/d/")
    ] == [("a b.csv", "http://h/d/a%20b.csv"), ("x.csv", "http://other/x.csv")]
    listed = files_kind.parse_listing(
        b'{"files": [{"href": "/f/1.csv", "size": 3}]}', "application/json", "http://h/d/index.json"
    )
    assert listed == [{"url": "http://h/f/1.csv", "name": "1.csv", "size": 3, "modified": None}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3(monkeypatch):
    """A moto S3 server on a free port; dummy credentials for this test only."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket="drops")
    try:
        yield client
    finally:
        server.stop()


def test_an_s3_prefix_lands_its_files(fast, contract, s3):
    s3.put_object(Bucket="drops", Key="in/i94_apr16_sub.sas7bdat", Body=BINARY)
    s3.put_object(Bucket="drops", Key="in/airport-codes_csv.csv", Body=CSV)
    s3.put_object(Bucket="drops", Key="in/other.bin", Body=b"x")
    s3.put_object(Bucket="drops", Key="elsewhere/airport-codes_csv.csv", Body=b"not in prefix")
    assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")

    result = files_kind.run(fast, contract, IngestRequest(location="s3://drops/in"))
    assert result.ok, result.failure_message()
    targets = _by_key(result)
    assert set(targets) == {"i94_apr16_sub.sas7bdat", "airport-codes_csv.csv", files_kind.UNMATCHED}
    sas = targets["i94_apr16_sub.sas7bdat"]
    assert body_bytes(Path(sas.path)) == BINARY
    transport = read_object(Path(sas.path))["envelope"]["transport"]
    assert transport == {
        "kind": "file",
        "location": "s3://drops/in",
        "name": "i94_apr16_sub.sas7bdat",
        "size": len(BINARY),
        "modified": transport["modified"],
    }
    again = _by_key(files_kind.run(fast, contract, IngestRequest(location="s3://drops/in/")))
    assert again["i94_apr16_sub.sas7bdat"].duplicate

    missing = files_kind.run(fast, contract, IngestRequest(location="s3://no-such-bucket/x"))
    assert not missing.ok and "NoSuchBucket" in missing.targets[0].reason
