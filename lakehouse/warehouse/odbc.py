"""An ODBC data source (DSN) for the warehouse, so BI tools and pyodbc reach it by name.

unixODBC reads user DSNs from ``$ODBCINI`` or ``~/.odbc.ini`` and drivers from
``/etc/odbcinst.ini``, where Debian's ``odbc-postgresql`` registers "PostgreSQL Unicode"
(psqlODBC). The DSN holds server, port, database and user; the password only when asked, because
the file is plain text.
"""

from __future__ import annotations

import configparser
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings
from lakehouse.warehouse.server import WarehouseError, require_target

_log = get_logger("warehouse.odbc")

DRIVER_NAME = "PostgreSQL Unicode"
_DRIVER_LIBRARY = "psqlodbcw.so"
_LIBRARY_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/odbc"),
    Path("/usr/lib/aarch64-linux-gnu/odbc"),
    Path("/usr/lib/odbc"),
    Path("/usr/local/lib"),
)


@dataclass(frozen=True)
class DsnWritten:
    """Where the DSN went and how to use it (no password in here)."""

    name: str
    path: Path
    driver: str
    server: str
    port: int
    database: str
    user: str
    with_password: bool

    def connection_string(self) -> str:
        """The pyodbc/ODBC connection string, with the password left for the caller to add."""
        return f"DSN={self.name};PWD=<password>"


def _driver_ini() -> Path:
    """unixODBC's drivers file: ``$ODBCSYSINI/odbcinst.ini`` or what ``odbcinst -j`` reports."""
    if os.environ.get("ODBCSYSINI"):
        return Path(os.environ["ODBCSYSINI"]) / "odbcinst.ini"
    try:
        out = subprocess.run(["odbcinst", "-j"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return Path("/etc/odbcinst.ini")
    for line in out.splitlines():
        if line.startswith("DRIVERS"):
            return Path(line.split(":", 1)[1].strip())
    return Path("/etc/odbcinst.ini")


def find_driver() -> str:
    """The driver to name in the DSN: the registered "PostgreSQL Unicode", else its library path."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(_driver_ini(), encoding="utf-8")
    except configparser.Error:
        pass
    if parser.has_section(DRIVER_NAME):
        return DRIVER_NAME
    for directory in _LIBRARY_DIRS:
        library = directory / _DRIVER_LIBRARY
        if library.exists():
            return str(library)
    raise WarehouseError(
        "the PostgreSQL ODBC driver (psqlODBC) is not installed; run `make setup`, which "
        "installs Debian's `odbc-postgresql` and `unixodbc` packages"
    )


def default_dsn_path() -> Path:
    """unixODBC's user DSN file: ``$ODBCINI`` or ``~/.odbc.ini``."""
    return Path(os.environ.get("ODBCINI") or Path.home() / ".odbc.ini")


def write_dsn(
    settings: Settings,
    *,
    name: str = "lakehouse",
    path: Path | None = None,
    with_password: bool = False,
) -> DsnWritten:
    """Write (or replace) the DSN ``name`` for the running warehouse; other DSNs are kept.

    Args:
        settings: Settings naming the warehouse.
        name: DSN name that BI tools and ``DSN=<name>`` use.
        path: The odbc.ini to write; default ``$ODBCINI`` or ``~/.odbc.ini``.
        with_password: Also store the password (plain text; the file is made private).

    Returns:
        What was written, without the password.
    """
    if not name or any(c in name for c in "[]=;{}\n"):
        raise WarehouseError(f"DSN name {name!r} must not contain []=;{{}} or newlines")
    target = require_target(settings)
    driver = find_driver()
    path = (path or default_dsn_path()).expanduser()
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # ODBC keys are case-insensitive, but keep them readable
    if path.exists():
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as exc:
            raise WarehouseError(f"{path} is not a valid odbc.ini: {exc}") from None
    if parser.has_section(name):
        parser.remove_section(name)
    parser[name] = {
        "Description": "Lakehouse warehouse (gold marts, PostgreSQL)",
        "Driver": driver,
        "Servername": target.host,
        "Port": str(target.port),
        "Database": target.database,
        "Username": target.user,
        "SSLmode": "disable" if target.local else "prefer",
        # BI tools list tables per schema; gold is where the marts are.
        "ConnSettings": "set search_path to gold",
    }
    if with_password:
        parser[name]["Password"] = settings.warehouse_password.get_secret_value()
    if not parser.has_section("ODBC Data Sources"):
        parser["ODBC Data Sources"] = {}
    parser["ODBC Data Sources"][name] = DRIVER_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # Private before anything is written: the file may hold a password (now or from before).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        parser.write(handle, space_around_delimiters=True)
    os.replace(tmp, path)
    log_event(_log, "warehouse.dsn_written", dsn=name, path=str(path), dsn_has_pw=with_password)
    return DsnWritten(
        name=name,
        path=path,
        driver=driver,
        server=target.host,
        port=target.port,
        database=target.database,
        user=target.user,
        with_password=with_password,
    )
