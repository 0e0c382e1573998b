"""Shared fixtures: every test runs on a temporary lake and never reads a developer's settings.

Flows run against one temporary Prefect server per test session (``prefect_test_harness``); CLI
subprocesses reach the same server through ``PREFECT_API_URL`` so none of them starts its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.settings import Settings


@pytest.fixture(scope="session", autouse=True)
def prefect_api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start one temporary Prefect server for the session and export its URL to subprocesses."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        url = PREFECT_API_URL.value()
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Drop LAKEHOUSE_* variables from the developer's shell, point the lake at tmp and set
    the replay's flight credentials."""
    for name in list(os.environ):
        if name.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(tmp_path / "lake"))
    # The replay server's Amadeus credentials (a test that needs others sets its own).
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_ID", "replay-client-id")
    monkeypatch.setenv("LAKEHOUSE_FLIGHTS_CLIENT_SECRET", "replay-client-secret")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Local-profile settings on a temporary lake."""
    return Settings(lake_root=tmp_path / "lake", _env_file=None)
