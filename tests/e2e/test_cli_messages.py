"""What a user sees when a command cannot do what was asked: one clear line, the right exit code.

One table of cases run through the real `lakehouse` command in a subprocess (analyst SQL that
would write, read files or run several statements; arguments that cannot run; a source that
refuses connections). Each case names its exit code and the line that must be on stderr;
bad arguments must be answered before any orchestrator or Spark starts, so their whole stderr
is that one line. Nothing is faked: gold is a real published DuckDB build, and the refused
connection is a closed port on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from lakehouse import gold
from lakehouse.settings import Settings

pytestmark = pytest.mark.slow


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    exit_code: int
    line: str  # a regular expression one stderr line must match in full
    only_line: bool = True  # the whole of stderr is that line
    stdout: str | None = None  # stdout must contain this, when given
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "sql copy to a file",
        ("sql", "copy agg_weather_daily to '{tmp}/x.csv'"),
        1,
        r"error: .*(read-only|not allowed|only queries).*",
    ),
    Case("sql reads a file", ("sql", "select * from read_csv('/etc/passwd')"), 1, r"error: .*"),
    Case(
        "sql two statements", ("sql", "select 1; select 2"), 2, r"error: .*one (SQL )?statement.*"
    ),
    Case("sql empty", ("sql", "  "), 2, r"error: the query is empty.*"),
    Case(
        "sql markup printed verbatim",
        ("sql", "select '[/x]' as a, '[bold]x[/bold]' as b"),
        0,
        r"1 row",
        stdout="[bold]x[/bold]",
    ),
    Case(
        "run end before start",
        ("run", "--start-date", "2025-03-10", "--end-date", "2025-03-01"),
        2,
        r"error: start date 2025-03-10 is after end date 2025-03-01",
    ),
    Case(
        "run one date",
        ("run", "--start-date", "2025-03-10"),
        2,
        r"error: give both --start-date and --end-date, or neither for the recent window",
    ),
    Case(
        "run unknown source",
        ("run", "--source", "nope"),
        2,
        r"error: unknown source 'nope' \(known: .*weather.*\)",
    ),
    Case(
        "ingest end before start",
        ("ingest", "weather", "--start-date", "2025-03-10", "--end-date", "2025-03-01"),
        2,
        r"error: start date 2025-03-10 is after end date 2025-03-01",
    ),
    Case(
        "ingest unknown source",
        ("ingest", "nope"),
        2,
        r"error: unknown source 'nope' \(known: .*weather.*\)",
    ),
    Case(
        "bronze unknown source",
        ("bronze", "nope"),
        2,
        r"error: unknown source 'nope' \(known: .*weather.*\)",
    ),
    Case(
        "ingest refused connection",
        ("ingest", "weather", "--base-url", "http://127.0.0.1:{port}"),
        1,
        r"  san_diego: ConnectError: .*Connection refused \(gave up after 2 attempts\)",
        only_line=False,
        env={"LAKEHOUSE_HTTP_MAX_ATTEMPTS": "2", "LAKEHOUSE_HTTP_BACKOFF_BASE_S": "0.1"},
    ),
]


@pytest.fixture
def published(settings: Settings) -> Settings:
    """A published gold build with one mart, as a transform would leave it."""
    source = settings.lake.catalog / "dbt_build.duckdb"
    source.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(source)) as con:
        con.execute("create schema if not exists gold")
        con.execute(
            "create table gold.agg_weather_daily as "
            "select 'San Diego' as city, date '2025-03-09' as local_date, 14.6 as avg_temperature_c"
        )
    gold.publish_build(
        settings, gold.stage_build(settings, source, "gold", ["agg_weather_daily"], "b1")
    )
    return settings


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_bad_request_gets_one_clear_line(case: Case, published: Settings, tmp_path: Path):
    port = _closed_port()
    args = [a.format(tmp=tmp_path, port=port) for a in case.args]
    result = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **case.env},
        check=False,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == case.exit_code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert any(re.fullmatch(case.line, line) for line in lines), result.stderr
    if case.only_line:
        assert len(lines) == 1, result.stderr
    if case.stdout is not None:
        assert case.stdout in result.stdout
    assert not (tmp_path / "x.csv").exists()
