"""Shared fixtures: every test runs on a temporary lake and never reads a developer's settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lakehouse.settings import Settings


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Drop LAKEHOUSE_* variables from the developer's shell and point the lake at tmp."""
    for name in list(os.environ):
        if name.startswith("LAKEHOUSE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", str(tmp_path / "lake"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Local-profile settings on a temporary lake."""
    return Settings(lake_root=tmp_path / "lake", _env_file=None)
