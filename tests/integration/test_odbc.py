"""BI over ODBC for real: unixODBC + psqlODBC ("PostgreSQL Unicode") + pyodbc against the
project's PostgreSQL server, through the DSN that ``lakehouse warehouse odbc-dsn`` writes.

Nothing is faked; ODBCINI points unixODBC at a per-test file so no user DSN is touched.
"""

from __future__ import annotations

import configparser
import stat
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyodbc
import pytest
from typer.testing import CliRunner

from lakehouse.cli.app import app
from lakehouse.warehouse import testing
from lakehouse.warehouse.publish import publish_tables
from lakehouse.warehouse.query import run_query

pytestmark = pytest.mark.slow

# One shared server for the session (see lakehouse.warehouse.testing).
warehouse_server = testing.warehouse_server
warehouse_settings = testing.warehouse_settings

_DAILY = pa.table(
    {
        "city": ["berlin", "berlin", "lima"],
        "local_date": pa.array([date(2024, 6, 1), date(2024, 6, 2), date(2024, 6, 1)]),
        "observation_count": pa.array([24, 23, 24], pa.int32()),
        "avg_temperature_c": [14.25, 15.5, 18.0],
        "total_precipitation_mm": [0.0, None, 1.2],
    }
)


def test_dsn_reaches_published_gold_through_pyodbc(
    warehouse_server, warehouse_settings, tmp_path: Path
):
    publish_tables(warehouse_settings, {"agg_weather_daily": _DAILY}, build_id="odbc-test")
    odbc_ini = tmp_path / "odbc.ini"
    # Another DSN already in the file must survive the rewrite.
    odbc_ini.write_text("[other]\nDriver = PostgreSQL ANSI\nServername = example\n")
    password = warehouse_settings.warehouse_password.get_secret_value()

    result = CliRunner().invoke(app, ["warehouse", "odbc-dsn", "--name", "lakehouse_test"])
    assert result.exit_code == 0, result.output
    assert "DSN=lakehouse_test" in result.output and password not in result.output

    text = odbc_ini.read_text()
    assert password not in text
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read_string(text)
    assert parsed["other"]["Servername"] == "example"
    assert parsed["lakehouse_test"]["Driver"] == "PostgreSQL Unicode"
    assert parsed["lakehouse_test"]["Port"] == str(warehouse_server.port)

    expected = run_query(warehouse_settings, "select * from agg_weather_daily order by 1, 2").rows
    with pyodbc.connect(f"DSN=lakehouse_test;PWD={password}", timeout=10) as conn:
        # The DSN sets search_path to gold, as BI tools expect unqualified mart names.
        rows = conn.execute("select * from agg_weather_daily order by 1, 2").fetchall()
        columns = [d[0] for d in conn.execute("select * from agg_weather_daily").description]
    assert columns == _DAILY.column_names
    assert [tuple(r) for r in rows] == expected
    assert [tuple(r) for r in rows][1] == ("berlin", date(2024, 6, 2), 23, 15.5, None)

    with pytest.raises(pyodbc.Error, match="password"):
        pyodbc.connect("DSN=lakehouse_test;PWD=wrong-password", timeout=10)


def test_dsn_with_password_is_private_and_connects_without_pwd(
    warehouse_settings, tmp_path, monkeypatch
):
    target = tmp_path / "private" / "odbc.ini"
    result = CliRunner().invoke(
        app, ["warehouse", "odbc-dsn", "--name", "bi", "--path", str(target), "--with-password"]
    )
    assert result.exit_code == 0, result.output
    assert "plain text" in result.output  # the warning
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    monkeypatch.setenv("ODBCINI", str(target))  # unixODBC reads it on each connect
    with pyodbc.connect("DSN=bi", timeout=10) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "lakehouse"


def test_odbc_dsn_without_a_running_warehouse_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE_DIR", str(tmp_path / "no-server"))
    result = CliRunner().invoke(app, ["warehouse", "odbc-dsn", "--path", str(tmp_path / "x.ini")])
    assert result.exit_code == 1
    assert "not running" in result.output and "lakehouse warehouse start" in result.output
    assert not (tmp_path / "x.ini").exists()
