"""Kafka Connect standalone: one worker running one connector, in a folder of the lake's state.

Change data capture runs a connector (Debezium) in a Kafka Connect worker. This module runs the
worker the way the broker runs (:mod:`lakehouse.kafka.broker`): Apache Kafka's own Connect
runtime from its jars (cached once by :mod:`lakehouse.kafka.jars`), started with ``java -cp
<jars> org.apache.kafka.connect.cli.ConnectStandalone worker.properties connector.properties``
in the background. It knows nothing about what the connector reads: callers pass the
connector's properties.

Folder layout (``<lake>/_state/connect/<name>``)::

    worker.properties     written at every start: bootstrap, JSON converters, plugin path
    connector.properties  the connector's configuration (0600: it may name secrets by file)
    secrets.properties    values the connector reads through Connect's FileConfigProvider
                          (``${file:<path>:<key>}``), never written into the other files (0600)
    offsets.dat           where the connector got to (standalone mode keeps offsets in a file)
    log/connect.log       the worker's log; log/stdout.log: what the JVM printed itself
    worker.json           pid, REST port, start time, seconds the last start took

Standalone mode keeps the source offsets in ``offsets.dat``, flushed every second: a worker
killed anywhere resumes from the last flushed offset and sends what came after again (at least
once); the consumers dedupe. Values are plain JSON (``schemas.enable=false``), keys too.
``start`` returns once the REST API reports the connector and its task ``RUNNING``; a task
that fails raises :class:`ConnectError` with the connector's own first line.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.kafka import KafkaBrokerError
from lakehouse.kafka.jars import KafkaJarsError, classpath, require_connect_jars
from lakehouse.local_process import (
    CHILDREN,
    HOST,
    StateFile,
    cmdline,
    folder_lock,
    free_port,
    pid_alive,
    port_is_free,
    tail,
    terminate,
)
from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings

_log = get_logger("kafka.connect")

MAIN = "org.apache.kafka.connect.cli.ConnectStandalone"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
_DEFAULT_HEAP_OPTS = "-Xms64m -Xmx384m"

_LOG4J2 = """\
# Written by lakehouse at every Kafka Connect start.
name = lakehouse-connect
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/connect.log
appender.file.filePattern = ${sys:kafka.logs.dir}/connect.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %X{connector.context}%m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 10MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
# The full configuration dumps (hundreds of lines per client); the properties files have them.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
"""


class ConnectError(KafkaBrokerError):
    """Kafka Connect or its connector cannot run; the message says why and what to do."""


@dataclass(frozen=True)
class ConnectStatus:
    """What ``lakehouse capture status`` reports about a worker and its connector."""

    name: str
    directory: Path
    running: bool
    pid: int | None = None
    rest_port: int | None = None
    connector_state: str | None = None  # RUNNING, PAUSED, FAILED, UNASSIGNED (REST API)
    task_state: str | None = None
    trace: str | None = None  # the failed task's first line
    start_seconds: float | None = None

    @property
    def capturing(self) -> bool:
        return self.running and self.connector_state == "RUNNING" and self.task_state == "RUNNING"

    @property
    def log_file(self) -> Path:
        return self.directory / "log" / "connect.log"


def connect_dir(settings: Settings, name: str) -> Path:
    """The worker's folder: ``<lake>/_state/connect/<name>``."""
    return (settings.lake.local_state / "connect" / name).resolve()


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by this user only (it may hold or point to secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _properties(props: Mapping[str, str], header: str) -> str:
    def escape(value: str) -> str:
        return value.replace("\\", "\\\\").replace("\n", "\\n")

    return "\n".join([f"# {header}", *(f"{k}={escape(str(v))}" for k, v in props.items())]) + "\n"


class ConnectWorker:
    """Start, stop and inspect one standalone Kafka Connect worker and its one connector."""

    def __init__(self, settings: Settings, name: str, *, directory: Path | None = None) -> None:
        self.settings = settings
        self.name = name
        self.directory = (directory or connect_dir(settings, name)).resolve()
        self.state_file = self.directory / "worker.json"
        self.worker_file = self.directory / "worker.properties"
        self.connector_file = self.directory / "connector.properties"
        self.secrets_file = self.directory / "secrets.properties"
        self.offsets_file = self.directory / "offsets.dat"
        self.log4j_file = self.directory / "log4j2.properties"
        self.log_dir = self.directory / "log"
        self._state = StateFile(self.state_file)

    def secret_ref(self, key: str) -> str:
        """How a connector property names a secret kept in ``secrets.properties``."""
        return f"${{file:{self.secrets_file}:{key}}}"

    # ---------------------------------------------------------------- state

    def _is_ours(self, pid: int) -> bool:
        if not pid_alive(pid):
            return False
        args = cmdline(pid)
        if args is None:
            return True
        return MAIN in args and str(self.worker_file) in args

    def _rest(self, path: str, port: int, timeout: float = 5.0) -> object | None:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def status(self) -> ConnectStatus:
        state = self._state.read()
        pid, port = state.get("pid"), state.get("rest_port")
        running = isinstance(pid, int) and self._is_ours(pid)
        connector = task = trace = None
        if running and isinstance(port, int):
            found = self._rest(f"/connectors/{self.name}/status", port)
            if isinstance(found, dict):
                connector = (found.get("connector") or {}).get("state")
                tasks = found.get("tasks") or []
                if tasks:
                    task = tasks[0].get("state")
                    text = str(tasks[0].get("trace") or "").strip()
                    trace = text.splitlines()[0] if text else None
        return ConnectStatus(
            name=self.name,
            directory=self.directory,
            running=running,
            pid=pid if running else None,
            rest_port=port if running else None,
            connector_state=connector,
            task_state=task,
            trace=trace,
            start_seconds=state.get("start_seconds"),
        )

    # ---------------------------------------------------------------- start / stop

    def _write_files(
        self,
        bootstrap: str,
        port: int,
        connector: Mapping[str, str],
        secrets: Mapping[str, str],
        plugin_dir: Path,
    ) -> None:
        worker = {
            "bootstrap.servers": bootstrap,
            # Plain JSON keys and values: a change event is its payload, no schema beside it.
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
            "offset.storage.file.filename": str(self.offsets_file),
            # Offsets reach the file every second: a killed worker re-sends little.
            "offset.flush.interval.ms": "1000",
            "plugin.path": str(plugin_dir),
            # Plugins are found by their ServiceLoader manifests (Kafka's and Debezium's jars
            # carry them), not by scanning every class: seconds off each start.
            "plugin.discovery": "service_load",
            "listeners": f"http://{HOST}:{port}",
            "config.providers": "file",
            "config.providers.file.class": (
                "org.apache.kafka.common.config.provider.FileConfigProvider"
            ),
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_private(self.worker_file, _properties(worker, "Written by lakehouse at start."))
        _write_private(
            self.secrets_file, _properties(secrets, "Secrets of the connector (never logged).")
        )
        _write_private(
            self.connector_file,
            _properties({"name": self.name, **connector}, "Written by lakehouse at start."),
        )
        self.log4j_file.write_text(_LOG4J2, encoding="utf-8")

    def _launch(self, jars: list[Path]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        heap = os.environ.get("KAFKA_HEAP_OPTS", "").split() or _DEFAULT_HEAP_OPTS.split()
        args = [
            "java",
            *heap,
            "-XX:+UseSerialGC",  # one small worker on a shared machine
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            f"-Dkafka.logs.dir={self.log_dir}",
            # Kafka 4 refuses config providers not named here (KIP-1115).
            "-Dorg.apache.kafka.automatic.config.providers="
            "org.apache.kafka.common.config.provider.FileConfigProvider",
            "-cp",
            classpath(jars),
            MAIN,
            str(self.worker_file),
            str(self.connector_file),
        ]
        with (self.log_dir / "stdout.log").open("ab") as out:
            out.write(f"\n--- start {datetime.now(UTC).isoformat()} ---\n".encode())
            out.flush()
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,  # outlives the CLI that started it
            )
        CHILDREN[proc.pid] = proc
        return proc

    def start(
        self,
        connector: Mapping[str, str],
        *,
        bootstrap: str,
        secrets: Mapping[str, str] | None = None,
        timeout: float = START_TIMEOUT_S,
    ) -> ConnectStatus:
        """Start the worker with ``connector``; a running, healthy one is kept as it is.

        Returns once the connector and its task run. A worker whose connector failed is
        stopped and started again (the connector's own reason is raised if it fails again).
        """
        with folder_lock(self.directory):
            current = self.status()
            if current.capturing:
                return current
            if current.running and current.pid:
                self._terminate(current.pid, timeout=STOP_TIMEOUT_S)
            try:
                jars, plugin_dir = require_connect_jars()
            except KafkaJarsError as exc:
                raise ConnectError(str(exc)) from None
            port = self._state.read().get("rest_port")
            if not isinstance(port, int) or not port_is_free(port):
                port = free_port()
            self._write_files(bootstrap, port, connector, secrets or {}, plugin_dir)
            started = time.monotonic()
            proc = self._launch(jars)
            self._state.update(
                pid=proc.pid, rest_port=port, started_at=datetime.now(UTC).isoformat()
            )
            why = self._wait_running(proc, started + timeout)
            seconds = round(time.monotonic() - started, 1)
            if why is not None:
                self._terminate(proc.pid, timeout=10.0)
                self._state.update(pid=None)
                raise ConnectError(
                    f"Kafka Connect with connector {self.name!r} did not start ({why}); "
                    f"see {self.log_dir / 'connect.log'}:\n{tail(self.log_dir / 'connect.log', 8)}"
                )
            self._state.update(start_seconds=seconds)
            log_event(
                _log,
                "connect.started",
                connector=self.name,
                pid=proc.pid,
                rest_port=port,
                seconds=seconds,
                directory=str(self.directory),
            )
            return self.status()

    def _wait_running(self, proc: subprocess.Popen, deadline: float) -> str | None:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                CHILDREN.pop(proc.pid, None)
                return f"exited with code {proc.returncode}"
            now = self.status()
            if now.capturing:
                return None
            if "FAILED" in (now.connector_state, now.task_state):
                return f"the connector failed: {now.trace or 'no reason given'}"
            time.sleep(0.5)
        return "not running after the timeout"

    def stop(self, *, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Stop the worker if it runs (offsets and configuration stay); True when it ran."""
        with folder_lock(self.directory):
            current = self.status()
            if not current.running or current.pid is None:
                return False
            self._terminate(current.pid, timeout=timeout)
            self._state.update(pid=None, stopped_at=datetime.now(UTC).isoformat())
            log_event(_log, "connect.stopped", connector=self.name, pid=current.pid)
            return True

    def _terminate(self, pid: int, *, timeout: float) -> None:
        if terminate(pid, timeout=timeout):
            log_event(_log, "connect.killed", connector=self.name, pid=pid, after_s=timeout)

    def forget_offsets(self) -> bool:
        """Delete the connector's offsets (the worker must be stopped): the next start snapshots
        again. True when there were offsets."""
        if self.status().running:
            raise ConnectError(f"stop connector {self.name!r} before forgetting its offsets")
        try:
            self.offsets_file.unlink()
        except FileNotFoundError:
            return False
        return True

    def has_offsets(self) -> bool:
        """Whether the connector ever committed a position (it ran before)."""
        try:
            return self.offsets_file.stat().st_size > 0
        except OSError:
            return False
