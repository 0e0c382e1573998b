"""`lakehouse ingest <source>` end to end, as a user runs it: weather against the replay server.

Nothing is faked: the CLI runs as a subprocess (reaching the session's Prefect server through
``PREFECT_API_URL``) and fetches from a real ``ReplayServer`` in this process that answers HTTP
500 for one city and 503 then 429 for another; only the retry delays are shortened.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.landing import iter_objects, read_object
from lakehouse.replay import Fault, ReplayServer
from lakehouse.runs import list_runs
from lakehouse.settings import Settings

pytestmark = pytest.mark.slow

CITIES = {"san_francisco", "walnut_creek", "santa_barbara", "san_diego"}


def _ingest(base_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LAKEHOUSE_HTTP_BACKOFF_BASE_S": "0.05",
        "LAKEHOUSE_HTTP_BACKOFF_MAX_S": "0.5",
        "LAKEHOUSE_HTTP_MAX_ATTEMPTS": "4",
    }
    # cwd is the test's temporary folder (conftest), so no developer .env is read.
    command = [sys.executable, "-m", "lakehouse.cli.app", "ingest", "weather"]
    command += ["--base-url", base_url, "--start-date", "2025-03-05", "--end-date", "2025-03-11"]
    return subprocess.run(
        command, cwd=Path.cwd(), env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _landed_cities(lake) -> list[str]:
    return sorted(
        read_object(p)["envelope"]["key"] for p in iter_objects(lake, "weather", "hourly")
    )


def test_failing_city_is_named_others_land_and_a_healthy_rerun_completes(settings: Settings):
    lake = settings.lake
    faults = [
        Fault("san_diego", "http_500"),
        Fault("walnut_creek", "http_503", 1),
        Fault("walnut_creek", "http_429", 1),
    ]
    with ReplayServer(faults=faults) as server:
        failed = _ingest(server.url)
        assert failed.returncode == 1, failed.stderr
        assert "san_diego: HTTP 500" in failed.stderr
        assert "Traceback" not in failed.stderr
        assert _landed_cities(lake) == sorted(CITIES - {"san_diego"})
        walnut = [r for r in server.requests if r["city"] == "walnut_creek"]
        assert [r["status"] for r in walnut] == [503, 429, 200]
        run = list_runs(lake, "ingest", "weather")[-1]
        assert run["status"] == "failed" and run["targets"]["san_diego"]["status"] == "failed"

        server.set_faults([])
        healthy = _ingest(server.url)
    assert healthy.returncode == 0, healthy.stderr
    assert "4 ok, 0 failed" in healthy.stderr
    # The fourth city lands; the other three bodies are identical and are not stored again.
    assert _landed_cities(lake) == sorted(CITIES)
    assert list_runs(lake, "ingest", "weather")[-1]["objects"] == 1
    for path in iter_objects(lake, "weather", "hourly"):
        assert read_object(path)["envelope"]["transport"]["url"].endswith("/v1/archive")


def test_bad_dates_exit_2_with_a_clear_message():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lakehouse.cli.app",
            "ingest",
            "weather",
            "--start-date",
            "2025-03-11",
            "--end-date",
            "2025-03-05",
        ],
        cwd=Path.cwd(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert "error: start date 2025-03-11 is after end date 2025-03-05" in result.stderr


def test_an_unknown_source_exits_2_naming_the_known_ones():
    result = subprocess.run(
        [sys.executable, "-m", "lakehouse.cli.app", "ingest", "nowhere"],
        cwd=Path.cwd(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    from lakehouse.contracts import available_sources

    known = ", ".join(available_sources())
    assert result.stderr.strip().splitlines() == [
        f"error: unknown source 'nowhere' (known: {known})"
    ]
