"""A new source with no Python: a contract, a staging model, a mart and a dashboard spec.

The source (``tests/fixtures/new_source/airquality.yml``) is a paged JSON API of air-quality
readings, served here by a small threaded HTTP server (the only fake: it stands in for a
public API). The test copies the dbt project, adds the fixture's staging model, source YAML,
gold mart and dashboard spec to the copy, points the lakehouse at a contracts folder holding
only the new contract, and runs ``lakehouse ingest``, ``lakehouse bronze``, ``lakehouse
transform`` and ``lakehouse site`` as a user would. It asserts that every page landed, that
bronze holds the good readings, that the bad reading is quarantined with its reason, that
silver and gold were built behind the generated gates, and that the site has the source's page.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
from deltalake import DeltaTable

from lakehouse.dbt import PROJECT_DIR

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "new_source"
STATIONS = [("st-1", "Oakland West"), ("st-2", "San Jose Knox"), ("st-3", "Fresno Garland")]
HOURS = [f"2025-03-05T{h:02d}:00:00+00:00" for h in range(4)]
# One reading out of the contract's range: quarantined with its reason, the rest flow.
BAD = ("st-2", HOURS[2])


def readings() -> list[dict]:
    out = []
    for i, (station, name) in enumerate(STATIONS):
        for j, hour in enumerate(HOURS):
            value = -3.0 if (station, hour) == BAD else round(5.0 + 1.5 * i + 0.25 * j, 2)
            out.append(
                {
                    "station": {"id": station, "name": name},
                    "measured": hour,
                    "value": value,
                    "flag": "valid" if j % 2 == 0 else "estimated",
                }
            )
    return out


class _Handler(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).requests.append({"path": url.path, **query})
        if url.path != "/v1/readings":
            self.send_error(404)
            return
        rows = readings()
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 100))
        body = json.dumps(
            {"data": rows[offset : offset + limit], "meta": {"total": len(rows)}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.requests = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The contracts folder with only the new source, and a dbt project with its model."""
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    shutil.copy(FIXTURE / "airquality.yml", contracts / "airquality.yml")
    dbt_copy = tmp_path / "dbt_project"
    shutil.copytree(PROJECT_DIR, dbt_copy, ignore=shutil.ignore_patterns("target", "logs"))
    staging = dbt_copy / "models" / "staging" / "airquality"
    staging.mkdir(parents=True)
    for model in (FIXTURE / "models").iterdir():
        shutil.copy(model, staging / model.name)
    marts = dbt_copy / "models" / "marts" / "airquality"
    marts.mkdir(parents=True)
    for model in (FIXTURE / "marts").iterdir():
        shutil.copy(model, marts / model.name)
    shutil.copy(FIXTURE / "dashboards" / "airquality.yml", dbt_copy / "dashboards")
    monkeypatch.setenv("LAKEHOUSE_CONTRACTS_DIR", str(contracts))
    monkeypatch.setenv("LAKEHOUSE_DBT_PROJECT_DIR", str(dbt_copy))
    return tmp_path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ),
        check=False,
    )


def test_a_contract_and_a_staging_model_make_a_source(api: str, project: Path) -> None:
    lake = Path(os.environ["LAKEHOUSE_LAKE_ROOT"])

    ingest = cli("ingest", "airquality", "--base-url", api)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    pages = [r for r in _Handler.requests if r["path"] == "/v1/readings"]
    # 12 readings, 5 a page: offsets 0, 5, 10; the contract's fixed parameter on every page.
    assert sorted(int(p.get("offset", 0)) for p in pages) == [0, 5, 10]
    assert all(p["country"] == "US" and p["limit"] == "5" for p in pages)

    bronze = cli("bronze", "airquality")
    assert bronze.returncode == 0, bronze.stdout + bronze.stderr
    table = DeltaTable(str(lake / "bronze" / "airquality__readings")).to_pyarrow_table()
    rows = table.to_pylist()
    assert len(rows) == len(readings()) - 1
    assert {(r["station_id"]) for r in rows} == {s for s, _ in STATIONS}
    assert all(r["pm25"] >= 0 for r in rows)

    quarantine = DeltaTable(str(lake / "quarantine" / "airquality__readings")).to_pyarrow_table()
    rejected = quarantine.to_pylist()
    assert len(rejected) == 1
    assert rejected[0]["field"] == "pm25"
    assert rejected[0]["raw_value"] == "-3.0"
    assert "outside [0.0, 1000.0]" in rejected[0]["reason"]

    transform = cli("transform")
    assert transform.returncode == 0, transform.stdout + transform.stderr
    with duckdb.connect(str(lake / "catalog" / "dbt_build.duckdb"), read_only=True) as con:
        silver = con.sql(
            "select station_id, pm25_ugm3, measured_at from silver.stg_airquality__readings"
        ).fetchall()
    assert len(silver) == len(readings()) - 1
    gates = [
        json.loads(p.read_text())
        for p in (lake / "_state" / "runs" / "gate" / "airquality").glob("*.json")
    ]
    assert gates, "the transform recorded no gate run for the new source"
    assert all(g["status"] == "ok" for g in gates)

    # The dashboard spec alone makes the source's page, from the mart the transform published.
    site = cli("site", "--skip-dbt-docs")
    assert site.returncode == 0, site.stdout + site.stderr
    page = (lake / "site" / "airquality.html").read_text(encoding="utf-8")
    assert "Daily PM2.5 of 3 stations from published gold" in page
    for station, name in STATIONS:
        assert f'<th scope="row">{station}</th>' in page and name in page
    assert 'data-chart="airquality-chart"' in page
    assert 'id="airquality-link"' in (lake / "site" / "index.html").read_text(encoding="utf-8")

    again = cli("bronze", "airquality")
    assert again.returncode == 0, again.stderr
    assert len(DeltaTable(str(lake / "bronze" / "airquality__readings")).to_pyarrow_table()) == (
        len(readings()) - 1
    )
