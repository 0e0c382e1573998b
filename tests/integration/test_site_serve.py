"""`lakehouse serve` as a user runs it: a real subprocess that prints its URL and serves the site.

Gold is the fixture of ``tests/fixtures/site/gold.sql`` read straight from a DuckDB file; the
site build, the CLI process and the HTTP server are the real ones.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import duckdb
import pytest

from lakehouse.settings import Settings
from lakehouse.site import build_site

pytestmark = pytest.mark.slow

FIXTURE_SQL = (Path(__file__).parents[1] / "fixtures" / "site" / "gold.sql").read_text()


def _query(path: Path):
    def query(sql: str):
        with duckdb.connect(str(path), read_only=True) as con:
            cursor = con.execute(sql)
            return [d[0] for d in cursor.description], cursor.fetchall()

    return query


def _serve() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lakehouse.cli.app", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_prints_the_url_and_serves_the_site(settings: Settings, tmp_path: Path) -> None:
    gold = tmp_path / "gold.duckdb"
    with duckdb.connect(str(gold)) as con:
        con.execute(FIXTURE_SQL)
    build_site(settings, query=_query(gold), dbt_docs=False)

    process = _serve()
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/"), url
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode("utf-8")
        assert "San Francisco" in page and 'id="city-summary"' in page
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_without_a_site_says_how_to_build_one(settings: Settings) -> None:
    process = _serve()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "run `lakehouse site` first" in err
