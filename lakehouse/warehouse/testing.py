"""One real warehouse server shared by every test of a pytest session.

Test modules use the ``warehouse_server`` fixture (session scope) and ``warehouse_settings``
(per test) from here. pytest keeps one cache per module that imports a fixture, so the server
itself is a process-wide singleton with a reference count: the first module to need it starts
it and the last one to finish stops it, so a session runs one server, not one per module.

The server's folder is a fresh temporary directory outside the per-test lake, because every test
gets its own lake while the server outlives them; it is made traversable so that the unprivileged
server user (when tests run as root) can reach its data folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakehouse.settings import Settings
from lakehouse.warehouse.server import LocalServer


@dataclass(frozen=True)
class SharedServer:
    """The session's server: its folder and the password it was created with."""

    directory: Path
    password: str
    port: int

    def settings(self, lake_root: Path) -> Settings:
        return Settings(
            lake_root=lake_root,
            warehouse_dir=self.directory,
            warehouse_password=self.password,
            _env_file=None,
        )


_lock = threading.Lock()
_shared: SharedServer | None = None
_users = 0


def _acquire() -> SharedServer:
    global _shared, _users
    with _lock:
        if _shared is None:
            directory = Path(tempfile.mkdtemp(prefix="lakehouse-warehouse-"))
            directory.chmod(0o711)
            password = secrets.token_urlsafe(18)
            settings = Settings(
                lake_root=directory / "lake",
                warehouse_dir=directory,
                warehouse_password=password,
                _env_file=None,
            )
            status = LocalServer(settings).start()
            _shared = SharedServer(directory=directory, password=password, port=int(status.port))
        _users += 1
        return _shared


def _release() -> None:
    global _shared, _users
    with _lock:
        _users -= 1
        if _users == 0 and _shared is not None:
            shared, _shared = _shared, None
            settings = shared.settings(shared.directory / "lake")
            try:
                LocalServer(settings).stop()
            finally:
                shutil.rmtree(shared.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse_server() -> Iterator[SharedServer]:
    """Start (once per session) the project's PostgreSQL server; stop it at the end."""
    shared = _acquire()
    try:
        yield shared
    finally:
        _release()


@pytest.fixture
def warehouse_settings(
    warehouse_server: SharedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings of this test's lake, pointed at the shared server; the CLI sees them via env."""
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE_DIR", str(warehouse_server.directory))
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE_PASSWORD", warehouse_server.password)
    monkeypatch.setenv("ODBCINI", str(tmp_path / "odbc.ini"))
    return warehouse_server.settings(Path(os.environ["LAKEHOUSE_LAKE_ROOT"]))
