"""The project's own PostgreSQL server, standing in locally for Redshift.

The server lives in a folder of its own (``Settings.warehouse_dir``, by default
``<lake>/_state/warehouse``), listens on 127.0.0.1 only, on a free port unless
``Settings.warehouse_port`` names one, and asks for a password (SCRAM) taken from
``Settings.warehouse_password``. It is never the system service: Debian's cluster tools are not
used, only ``initdb`` and ``pg_ctl`` on the project's folder.

Folder layout::

    <warehouse_dir>/pgdata/         the cluster (owned by the server user)
    <warehouse_dir>/log/postgres.log
    <warehouse_dir>/server.json     port and data folder, so ``status``, ``sql --engine warehouse``
                                    and the ODBC DSN find a running server (never the password)

PostgreSQL refuses to run as root. When this process is root, ``initdb`` and ``pg_ctl`` run as
the unprivileged ``postgres`` user that Debian's package creates, and the data folder belongs to
it; as a normal user they run directly.

As root, the warehouse folder is often out of that user's reach: a checkout under ``/root`` or a
temporary folder has a private (0700) parent, which ``postgres`` cannot traverse. Then the
cluster (``pgdata/`` and ``log/``) lives in a folder of its own under :data:`ROOT_CLUSTERS_DIR`
(``/var/lib/lakehouse/warehouse/lake-XXXXXXXX``, created by root with mode 0711, so the server
user can pass through but nobody can list it), and ``server.json``, which stays in the warehouse
folder, records it as ``cluster_dir`` so ``start``, ``stop`` and ``status`` find it. Moving the
cluster was chosen over granting traversal (ACLs or chmod on the user's private parents): it
changes no permission of the user's own folders. ``/var/tmp`` was not used because the system's
temporary-file cleaning deletes files unused for 30 days, which would break a stopped cluster.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from lakehouse.local_process import StateFile, free_port, pid_alive, port_is_free, tail
from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings

_log = get_logger("postgres.server")

SERVER_USER_WHEN_ROOT = "postgres"
# Where root keeps clusters whose warehouse folder the server user cannot reach (one folder per
# warehouse folder, recorded in its server.json); see the module docstring.
ROOT_CLUSTERS_DIR = Path("/var/lib/lakehouse/warehouse")
_START_TIMEOUT_S = 60
_CONF_NAME = "lakehouse.conf"


class WarehouseError(RuntimeError):
    """A warehouse problem the user can act on; the message says what to do."""


@dataclass(frozen=True)
class WarehouseTarget:
    """Where to connect: the local server or a configured one. ``repr`` never shows the password."""

    host: str
    port: int
    database: str
    user: str
    local: bool

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


@dataclass(frozen=True)
class ServerStatus:
    """What ``lakehouse warehouse status`` reports."""

    running: bool
    directory: Path
    port: int | None = None
    pid: int | None = None
    initialized: bool = False
    cluster_dir: Path | None = None  # where pgdata/ and log/ are, when not in ``directory``

    @property
    def log_file(self) -> Path:
        return (self.cluster_dir or self.directory) / "log" / "postgres.log"


def warehouse_dir(settings: Settings) -> Path:
    """The folder of the project's own server."""
    return (settings.warehouse_dir or settings.lake.local_state / "warehouse").resolve()


@dataclass(frozen=True)
class ServerSpec:
    """One project-run PostgreSQL server: where it lives and how it is reached.

    The warehouse is one (:meth:`warehouse`); an operational database standing in for a source's
    own server is another (``lakehouse.sources.postgres_local``). ``repr`` hides the password.
    """

    name: str  # what messages call it: "the warehouse", "the fleet database"
    directory: Path
    user: str
    password: SecretStr
    database: str
    port: int = 0  # 0: a free one, remembered in server.json while it stays free
    # Extra postgresql.conf lines (a source server for change data capture needs wal_level).
    extra_conf: tuple[str, ...] = ()
    # The setting to name when the folder is out of the server user's reach.
    directory_variable: str = "LAKEHOUSE_WAREHOUSE_DIR"
    port_variable: str = "LAKEHOUSE_WAREHOUSE_PORT"

    @classmethod
    def warehouse(cls, settings: Settings) -> ServerSpec:
        return cls(
            name="the warehouse",
            directory=warehouse_dir(settings),
            user=settings.warehouse_user,
            password=settings.warehouse_password,
            database=settings.warehouse_database,
            port=settings.warehouse_port,
        )


def find_bindir() -> Path:
    """Folder of ``initdb`` and ``pg_ctl``: Debian's newest server version, else PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise WarehouseError(
        "PostgreSQL server programs (initdb, pg_ctl) were not found; run `make setup`, which "
        "installs Debian's `postgresql` package."
    )


class LocalServer:
    """Start, stop and inspect one of the project's PostgreSQL servers in its own folder.

    ``LocalServer(settings)`` is the warehouse; ``LocalServer(spec=...)`` any other server.
    """

    def __init__(self, settings: Settings | None = None, *, spec: ServerSpec | None = None) -> None:
        if spec is None:
            if settings is None:
                raise TypeError("LocalServer needs settings (the warehouse) or a spec")
            spec = ServerSpec.warehouse(settings)
        self.spec = spec
        self.directory = spec.directory
        self.state_file = self.directory / "server.json"

    @property
    def cluster_dir(self) -> Path:
        """The folder of ``pgdata/`` and ``log/``: the warehouse folder, or the one its state
        records when the cluster had to live elsewhere (root, see :meth:`_place_cluster`)."""
        recorded = self._read_state().get("cluster_dir")
        return Path(recorded) if recorded else self.directory

    @property
    def pgdata(self) -> Path:
        return self.cluster_dir / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir / "log" / "postgres.log"

    # ---------------------------------------------------------------- who runs the server

    @staticmethod
    def _as_root() -> bool:
        return os.geteuid() == 0

    def _server_user(self) -> pwd.struct_passwd | None:
        """The unprivileged user that runs the server when we are root, else None."""
        if not self._as_root():
            return None
        try:
            return pwd.getpwnam(SERVER_USER_WHEN_ROOT)
        except KeyError as exc:
            raise WarehouseError(
                "PostgreSQL refuses to run as root and the 'postgres' user does not exist; "
                "install Debian's `postgresql` package (`make setup`) or run as a normal user."
            ) from exc

    def _give_to_server_user(self, path: Path) -> None:
        user = self._server_user()
        if user is not None:
            os.chown(path, user.pw_uid, user.pw_gid)

    def _run(self, args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self._server_user() is not None:
            cmd = ["runuser", "-u", SERVER_USER_WHEN_ROOT, "--", *cmd]
        # cwd "/" because the server user may not be allowed into our working folder.
        result = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise WarehouseError(
                f"{Path(args[0]).name} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )
        return result

    def _server_user_can_traverse(self, folder: Path) -> bool:
        probe = subprocess.run(
            ["runuser", "-u", SERVER_USER_WHEN_ROOT, "--", "test", "-x", str(folder)],
            capture_output=True,
            cwd="/",
        )
        return probe.returncode == 0

    def _place_cluster(self) -> None:
        """As root, keep the cluster where the server user can reach it.

        The warehouse folder is used when the server user can traverse it (as before). When it
        cannot (a private parent), a new folder under :data:`ROOT_CLUSTERS_DIR` holds the
        cluster and ``server.json`` records it; a recorded folder is used for as long as it
        exists. A cluster already initialized in an unreachable warehouse folder is not moved
        (its data would be left behind): that stays an error with advice.
        """
        if self._server_user() is None:
            return
        recorded = self._read_state().get("cluster_dir")
        if recorded:
            if _own_dir(Path(recorded)):
                return
            self._write_state(cluster_dir=None)  # gone (or not ours): place it again
        if self._server_user_can_traverse(self.directory):
            return
        if (self.directory / "pgdata" / "PG_VERSION").exists():
            self._check_reachable()  # raises with advice
        try:
            ROOT_CLUSTERS_DIR.mkdir(mode=0o711, parents=True, exist_ok=True)
            if not _own_dir(ROOT_CLUSTERS_DIR):
                raise OSError(f"{ROOT_CLUSTERS_DIR} is not a folder owned by this user")
            cluster = Path(tempfile.mkdtemp(prefix="lake-", dir=ROOT_CLUSTERS_DIR))
            cluster.chmod(0o711)
        except OSError as exc:
            raise WarehouseError(
                f"PostgreSQL refuses to run as root, so it runs as the '{SERVER_USER_WHEN_ROOT}' "
                f"user, which cannot reach {self.directory} (a parent folder is private), and "
                f"no cluster folder could be made under {ROOT_CLUSTERS_DIR} ({exc}). Set "
                f"{self.spec.directory_variable} to a folder that user can reach, e.g. under "
                "/var/tmp."
            ) from None
        self._write_state(cluster_dir=str(cluster))
        log_event(
            _log, "postgres.cluster_placed", directory=str(self.directory), cluster=str(cluster)
        )

    def _check_reachable(self) -> None:
        """Fail early, with advice, when the server user cannot reach the data folder."""
        if self._server_user() is None:
            return
        probe = subprocess.run(
            ["runuser", "-u", SERVER_USER_WHEN_ROOT, "--", "test", "-w", str(self.pgdata)],
            capture_output=True,
        )
        if probe.returncode != 0:
            raise WarehouseError(
                f"PostgreSQL refuses to run as root, so it runs as the '{SERVER_USER_WHEN_ROOT}' "
                f"user, which cannot reach {self.pgdata} (a parent folder is private). Set "
                f"{self.spec.directory_variable} to a folder that user can reach, e.g. under "
                "/var/tmp."
            )

    # ---------------------------------------------------------------- state

    def _read_state(self) -> dict:
        return StateFile(self.state_file).read()

    def _write_state(self, **fields: object) -> None:
        """Merge ``fields`` into ``server.json``; a field set to None is removed."""
        StateFile(self.state_file).update(**fields)

    def status(self) -> ServerStatus:
        """Read ``postmaster.pid``: running means its process is alive (no subprocess needed)."""
        cluster_dir = self.cluster_dir
        pgdata = cluster_dir / "pgdata"
        initialized = (pgdata / "PG_VERSION").exists()
        pid_file = pgdata / "postmaster.pid"
        try:
            lines = pid_file.read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, NotADirectoryError):
            lines = []
        if len(lines) >= 4 and lines[0].strip().isdigit() and pid_alive(int(lines[0])):
            return ServerStatus(
                running=True,
                directory=self.directory,
                port=int(lines[3]),
                pid=int(lines[0]),
                initialized=initialized,
                cluster_dir=cluster_dir,
            )
        return ServerStatus(
            running=False,
            directory=self.directory,
            port=self._read_state().get("port"),
            initialized=initialized,
            cluster_dir=cluster_dir,
        )

    # ---------------------------------------------------------------- lifecycle

    def _initdb(self, bindir: Path) -> None:
        """Create the cluster with SCRAM password auth; the password goes through a 0600 file."""
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._give_to_server_user(self.pgdata)
        self._check_reachable()
        # Beside pgdata, so the server user can read it wherever the cluster lives.
        fd, pwfile = tempfile.mkstemp(prefix=".pwfile-", dir=self.cluster_dir)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.spec.password.get_secret_value() + "\n")
            self._give_to_server_user(Path(pwfile))
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    self.spec.user,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ]
            )
        finally:
            Path(pwfile).unlink(missing_ok=True)
        with (self.pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                f"\n# Written by lakehouse: listen address and port.\n"
                f"include_if_exists = '{_CONF_NAME}'\n"
            )
        log_event(_log, "postgres.initdb", server=self.spec.name, directory=str(self.directory))

    def _choose_port(self) -> int:
        if self.spec.port:
            return self.spec.port
        remembered = self._read_state().get("port")
        if isinstance(remembered, int) and port_is_free(remembered):
            return remembered
        return free_port()

    def _write_conf(self, port: int) -> None:
        conf = self.pgdata / _CONF_NAME
        # TCP on loopback only (no Unix socket, so nothing clashes with a system cluster), small
        # memory: the machine is shared with Spark and the tests.
        conf.write_text(
            "listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            "unix_socket_directories = ''\n"
            "max_connections = 40\n"
            "shared_buffers = '32MB'\n"
            "password_encryption = 'scram-sha-256'\n"
            + "".join(f"{line}\n" for line in self.spec.extra_conf),
            encoding="utf-8",
        )
        self._give_to_server_user(conf)

    def start(self) -> ServerStatus:
        """Start the server (creating it on first use); a running server is left as is."""
        self.directory.mkdir(parents=True, exist_ok=True)
        current = self.status()
        if not current.running:
            bindir = find_bindir()
            self._place_cluster()
            current = self.status()
            if not current.initialized:
                self._initdb(bindir)
            self._check_reachable()
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._give_to_server_user(self.log_file.parent)
            port = self._choose_port()
            if not port_is_free(port):
                raise WarehouseError(
                    f"port {port} on 127.0.0.1 is taken; set {self.spec.port_variable}=0 to pick a "
                    "free one, or another port"
                )
            self._write_conf(port)
            result = self._run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.pgdata),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    str(_START_TIMEOUT_S),
                    "start",
                ],
                check=False,
            )
            if result.returncode != 0:
                raise WarehouseError(
                    f"{self.spec.name} did not start (pg_ctl exit {result.returncode}); see "
                    f"{self.log_file}:\n{tail(self.log_file)}"
                )
            self._write_state(
                port=port,
                data_dir=str(self.pgdata),
                bindir=str(bindir),
                started_at=datetime.now(UTC).isoformat(),
            )
            current = self.status()
            log_event(
                _log,
                "postgres.started",
                server=self.spec.name,
                port=current.port,
                directory=str(self.directory),
            )
        self._ensure_database(current.port)
        return current

    def _ensure_database(self, port: int | None) -> None:
        """Create the configured database; this also proves the password is right."""
        from psycopg import sql

        target = WarehouseTarget(
            host="127.0.0.1",
            port=int(port or 0),
            database="postgres",
            user=self.spec.user,
            local=True,
        )
        with open_connection(target, self.spec.password, autocommit=True) as conn:
            name = self.spec.database
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (name,)
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
                log_event(_log, "postgres.database_created", server=self.spec.name, database=name)

    def stop(self) -> bool:
        """Stop the server if it runs; True when it was running."""
        if not self.status().running:
            return False
        self._run(
            [str(find_bindir() / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"]
        )
        log_event(_log, "postgres.stopped", server=self.spec.name, directory=str(self.directory))
        return True


def _own_dir(path: Path) -> bool:
    """``path`` is a real folder (no symlink) owned by this process's user."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()


def resolve_target(settings: Settings) -> WarehouseTarget | None:
    """The warehouse to use: the project's running server, else a configured port, else None."""
    status = LocalServer(settings).status()
    if status.running and status.port:
        return WarehouseTarget(
            host="127.0.0.1",
            port=status.port,
            database=settings.warehouse_database,
            user=settings.warehouse_user,
            local=True,
        )
    if settings.warehouse_port:
        return WarehouseTarget(
            host=settings.warehouse_host,
            port=settings.warehouse_port,
            database=settings.warehouse_database,
            user=settings.warehouse_user,
            local=False,
        )
    return None


def require_target(settings: Settings) -> WarehouseTarget:
    """Like :func:`resolve_target`, with a clear error when there is no warehouse."""
    target = resolve_target(settings)
    if target is None:
        raise WarehouseError(
            f"the warehouse is not running (folder {warehouse_dir(settings)}); start it with "
            "`lakehouse warehouse start`, or set LAKEHOUSE_WAREHOUSE_PORT for another server"
        )
    return target


_PASSWORD_ERROR = re.compile(r"password authentication failed|no password supplied", re.I)


def open_connection(
    target: WarehouseTarget, settings: Settings | SecretStr, *, autocommit: bool = False
):
    """Open a psycopg connection; failures become :class:`WarehouseError` without the password.

    ``settings`` gives the warehouse password; a server of another spec passes its own password.
    """
    import psycopg

    password = settings if isinstance(settings, SecretStr) else settings.warehouse_password

    try:
        return psycopg.connect(
            host=target.host,
            port=target.port,
            dbname=target.database,
            user=target.user,
            password=password.get_secret_value(),
            connect_timeout=10,
            autocommit=autocommit,
            application_name="lakehouse",
        )
    except psycopg.OperationalError as exc:
        if _PASSWORD_ERROR.search(str(exc)):
            raise WarehouseError(
                f"the warehouse at {target.describe()} rejected the password of user "
                f"'{target.user}'; set LAKEHOUSE_WAREHOUSE_PASSWORD to the password the server "
                "was created with"
            ) from None
        raise WarehouseError(
            f"cannot connect to the warehouse at {target.describe()}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
        ) from None


def connect(settings: Settings, *, autocommit: bool = False):
    """Connect to the warehouse in use (see :func:`require_target`)."""
    return open_connection(require_target(settings), settings, autocommit=autocommit)
