"""Which PostgreSQL a ``postgres`` source reads: its DSN setting, else the project's own server.

A contract with ``local_server: true`` stands its operational database up locally when
``LAKEHOUSE_<SOURCE>_<DSN_SETTING>`` is unset: a server of the project (the same
:class:`~lakehouse.warehouse.server.LocalServer` code as the warehouse, another folder) under
``<lake>/_state/postgres/<source>/``, database ``<source>``, user ``lakehouse``, a random password
kept in a 0600 file beside it (never printed or logged), ``wal_level = logical`` so change data
capture can run against it. Every part (a simulator, polling, capture) asks :func:`resolve_dsn`,
so with the setting set they all use that database instead.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from lakehouse.contracts import Contract, PostgresSource
from lakehouse.settings import Settings
from lakehouse.source_settings import env_name
from lakehouse.sources._common import setting
from lakehouse.warehouse.server import LocalServer, ServerSpec

USER = "lakehouse"
# Logical decoding for Debezium (pgoutput); a few slots and senders are plenty locally.
CDC_CONF = ("wal_level = logical", "max_replication_slots = 4", "max_wal_senders = 4")


def server_dir(settings: Settings, source: str) -> Path:
    return (settings.lake.local_state / "postgres" / source).resolve()


def _password(directory: Path) -> SecretStr:
    """The server's password: made once, kept in a 0600 file only this user reads."""
    path = directory / "password"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(18))
    return SecretStr(path.read_text(encoding="utf-8").strip())


def local_server(settings: Settings, contract: Contract) -> LocalServer:
    """The project's own server standing in for the source's database (not started here)."""
    directory = server_dir(settings, contract.name)
    return LocalServer(
        spec=ServerSpec(
            name=f"the {contract.name} database",
            directory=directory,
            user=USER,
            password=_password(directory),
            database=contract.name,
            extra_conf=CDC_CONF,
            directory_variable="LAKEHOUSE_LAKE_ROOT",
            port_variable=env_name(contract.name, _source(contract).dsn_setting),
        )
    )


def _source(contract: Contract) -> PostgresSource:
    src = contract.source
    if not isinstance(src, PostgresSource):
        raise TypeError(f"source {contract.name!r} is kind {src.kind!r}, not postgres")
    return src


def local_server_created(settings: Settings, contract: Contract) -> bool:
    """Whether the project's own server of this source was ever started (without touching it)."""
    directory = server_dir(settings, contract.name)
    return (directory / "server.json").exists() or (directory / "pgdata" / "PG_VERSION").exists()


def configured_dsn(contract: Contract) -> str | None:
    """The DSN setting's value (a secret), or None when unset."""
    value = setting(contract, _source(contract).dsn_setting, secret=True)
    if isinstance(value, SecretStr):
        return value.get_secret_value() or None
    return value or None


def resolve_dsn(settings: Settings, contract: Contract, *, start: bool = True) -> str | None:
    """The DSN every part uses: the setting, else (``local_server``) the project's own server.

    Args:
        start: Start the project's server when it is not running (``False``: None then).
    """
    dsn = configured_dsn(contract)
    if dsn or not _source(contract).local_server:
        return dsn
    server = local_server(settings, contract)
    status = server.start() if start else server.status()
    if not status.running or not status.port:
        return None
    password = server.spec.password.get_secret_value()
    return (
        f"host=127.0.0.1 port={status.port} dbname={server.spec.database} "
        f"user={server.spec.user} password={password}"
    )
