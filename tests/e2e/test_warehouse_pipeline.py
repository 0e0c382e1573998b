"""Done-when of the warehouse: the pipeline through the CLI publishes gold to the real
PostgreSQL server, BI reads it over ODBC with the same rows as the lake engine, and a failed
gate leaves the warehouse's published gold unchanged (checked through ODBC too).

Nothing is faked: the replay server answers in Open-Meteo's format, Spark, dbt and the gates
run for real, and pyodbc goes through unixODBC and psqlODBC to the project's own server.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyodbc
import pytest

from lakehouse import gold
from lakehouse.contracts import load_contract
from lakehouse.replay import Fault, ReplayServer
from lakehouse.warehouse import testing
from lakehouse.warehouse.query import run_query

# Two pipeline runs (Spark, dbt, gates) on a shared 2-core machine can outlast the default.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

# One shared server for the session (see lakehouse.warehouse.testing).
warehouse_server = testing.warehouse_server
warehouse_settings = testing.warehouse_settings

DAYS = ["--start-date", "2024-06-01", "--end-date", "2024-06-02"]
DAILY_SQL = "select * from agg_weather_daily order by city, local_date"
ANALYSTS_DOC = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"


def _lakehouse(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the CLI as a user would (a subprocess; env carries the lake and warehouse)."""
    result = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=1200,
    )
    if check:
        assert result.returncode == 0, f"lakehouse {' '.join(args)}:\n{result.stderr[-4000:]}"
    return result


def _pipeline(base_url: str) -> subprocess.CompletedProcess:
    """ingest -> bronze -> transform through the CLI; returns the transform's result."""
    _lakehouse("ingest", "weather", "--base-url", base_url, *DAYS)
    _lakehouse("bronze", "weather")
    return _lakehouse("transform", check=False)


def _plain(value):
    """A value as JSON would carry it, so ODBC rows compare with `--format json` rows."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _odbc_daily(dsn: str, password: str) -> list[dict]:
    with pyodbc.connect(f"DSN={dsn};PWD={password}", timeout=10) as conn:
        cursor = conn.execute(DAILY_SQL)
        columns = [d[0] for d in cursor.description]
        return [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in cursor]


def _lake_daily() -> list[dict]:
    out = _lakehouse("sql", "--engine", "lake", "--format", "json", DAILY_SQL).stdout
    rows = json.loads(out)
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def _close(a: list[dict], b: list[dict]) -> bool:
    if len(a) != len(b) or any(x.keys() != y.keys() for x, y in zip(a, b, strict=True)):
        return False
    for x, y in zip(a, b, strict=True):
        for key in x:
            if isinstance(x[key], float) and isinstance(y[key], float):
                if not math.isclose(x[key], y[key], rel_tol=1e-12, abs_tol=1e-12):
                    return False
            elif x[key] != y[key]:
                return False
    return True


def _doc_queries() -> list[str]:
    """The analysts' example queries (SQL blocks of docs/analysts.md that read marts)."""
    blocks = re.findall(r"```sql\n(.*?)```", ANALYSTS_DOC.read_text(encoding="utf-8"), re.S)
    return [b.strip().rstrip(";") for b in blocks if b.lstrip().lower().startswith("select")]


def test_pipeline_publishes_to_the_warehouse_and_a_failed_gate_leaves_it(
    warehouse_settings, tmp_path
):
    password = warehouse_settings.warehouse_password.get_secret_value()
    dsn = "lakehouse_e2e"

    # -------- a good run: lake and warehouse publish the same gold
    with ReplayServer() as replay:
        run = _pipeline(replay.url)
    assert run.returncode == 0, run.stderr[-4000:]
    assert password not in run.stdout + run.stderr
    # The transform summary says the warehouse was published.
    assert re.search(r"warehouse: published=True", run.stderr), run.stderr[-3000:]
    pointer = gold.published_pointer(warehouse_settings)
    assert pointer is not None
    status = _lakehouse("warehouse", "status").stdout
    assert f"build {pointer['build_id']}" in status, status

    _lakehouse("warehouse", "odbc-dsn", "--name", dsn)
    over_odbc = _odbc_daily(dsn, password)
    on_lake = _lake_daily()
    cities = {c["name"] for c in load_contract("weather").targets}
    assert {row["city"] for row in over_odbc} == cities
    # Two UTC days span at least two local days per city.
    assert len(over_odbc) >= 2 * len(cities)
    assert _close(over_odbc, on_lake), (over_odbc[:3], on_lake[:3])

    # The analysts' example queries run on both engines with the same answers.
    for sql in _doc_queries():
        lake_columns, lake_rows = gold.query(warehouse_settings, sql)
        warehouse = run_query(warehouse_settings, sql)
        assert warehouse.columns == lake_columns, sql
        as_dicts = [
            [{c: _plain(v) for c, v in zip(lake_columns, r, strict=True)} for r in rows]
            for rows in (lake_rows, warehouse.rows)
        ]
        assert _close(*as_dicts), sql

    # -------- a run whose bronze gate fails: nothing changes, on the lake or over ODBC
    city = load_contract("weather").targets[0]["id"]
    with ReplayServer(faults=[Fault(city, "impossible_temperature")]) as replay:
        failed = _pipeline(replay.url)
    assert failed.returncode == 1, failed.stderr[-2000:]
    assert "transform failed at gate" in failed.stderr, failed.stderr[-2000:]
    assert "warehouse: published" not in failed.stderr
    assert gold.published_pointer(warehouse_settings)["build_id"] == pointer["build_id"]
    assert _odbc_daily(dsn, password) == over_odbc
    assert f"build {pointer['build_id']}" in _lakehouse("warehouse", "status").stdout
