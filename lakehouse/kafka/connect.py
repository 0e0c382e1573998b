"""Kafka Connect in distributed mode: one worker of its own Connect cluster, one connector.

Change data capture runs a connector (Debezium) in a Kafka Connect worker. This module runs the
worker the way the broker runs (:mod:`lakehouse.kafka.broker`): Apache Kafka's own Connect
runtime from its jars (cached once by :mod:`lakehouse.kafka.jars`), started with ``java -cp
<jars> org.apache.kafka.connect.cli.ConnectDistributed worker.properties``, either in the
background (:meth:`ConnectWorker.launch`, ``lakehouse capture start``) or in the foreground
(:meth:`ConnectWorker.supervise`, ``lakehouse capture run``, a container's command). It knows
nothing about what the connector reads: callers pass the connector's properties.

Distributed mode, even for one worker, so that everything a restart needs lives in Kafka, not
on the worker's disk (a Fargate task keeps no disk): the connector's configuration, its source
offsets and its status are in three compacted topics of the worker's Connect cluster
``<cluster>`` (:func:`connect_names`): ``_connect.<cluster>.configs``, ``.offsets`` and
``.status``, group id ``_connect.<cluster>``; the worker creates them on first start with the
cluster's default replication factor and partition count. A worker that starts again finds its
connector in the config topic and resumes from the committed offsets. The connector is
submitted through the REST API (``PUT /connectors/<name>/config``, idempotent); its offsets are
read and reset there too (``GET``/``DELETE /connectors/<name>/offsets``, the connector stopped
first with ``PUT /connectors/<name>/stop``; Kafka 3.6 and later).

Folder layout (``<lake>/_state/connect/<name>``), rewritten at every start::

    worker.properties     bootstrap, client security, the three topics, JSON converters
    secrets.properties    values the connector reads through Connect's FileConfigProvider
                          (``${file:<path>:<key>}``), never written into the configuration (0600)
    log4j2.properties     the worker's logging: log/connect.log, or standard output in the
                          foreground
    log/connect.log       the worker's log; log/stdout.log: what the JVM printed itself
    worker.json           pid, REST port, start time, seconds the last start took

Offsets are committed every second and when the worker stops: a worker killed anywhere resumes
from the last committed offset and sends what came after again (at least once); the consumers
dedupe. Values are plain JSON (``schemas.enable=false``), keys too.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.kafka import KafkaBrokerError
from lakehouse.kafka.jars import KafkaJarsError, classpath, require_connect_jars
from lakehouse.kafka.log4j import log4j2_properties
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

MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 60.0
# How often a foreground worker's connector is looked at.
WATCH_INTERVAL_S = 5.0
_DEFAULT_HEAP_OPTS = "-Xms64m -Xmx384m"
_LOG_LEVELS = {
    "org.reflections": "ERROR",
    # One access-log line per REST call (a foreground worker is asked every few seconds).
    "org.apache.kafka.connect.runtime.rest.RestServer": "WARN",
}
_FILE_PATTERN = "[%d] %p %X{connector.context}%m (%c)%n"


class ConnectError(KafkaBrokerError):
    """Kafka Connect or its connector cannot run; the message says why and what to do."""


def connect_names(cluster: str) -> dict[str, str]:
    """The worker's group id and internal topics in Kafka, all named for its Connect cluster."""
    base = f"_connect.{cluster}"
    return {
        "group.id": base,
        "config.storage.topic": f"{base}.configs",
        "offset.storage.topic": f"{base}.offsets",
        "status.storage.topic": f"{base}.status",
    }


@dataclass(frozen=True)
class ConnectStatus:
    """What ``lakehouse capture status`` reports about a worker and its connector."""

    name: str
    directory: Path
    running: bool
    pid: int | None = None
    rest_port: int | None = None
    connector_state: str | None = None  # RUNNING, PAUSED, STOPPED, FAILED, UNASSIGNED
    task_state: str | None = None
    trace: str | None = None  # the failed task's (or connector's) first line
    start_seconds: float | None = None

    @property
    def capturing(self) -> bool:
        return self.running and self.connector_state == "RUNNING" and self.task_state == "RUNNING"

    @property
    def failed(self) -> bool:
        return "FAILED" in (self.connector_state, self.task_state)

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


def worker_properties(
    cluster: str,
    bootstrap: str,
    port: int,
    plugin_dir: Path,
    client: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The distributed worker's configuration; ``client``: security properties of its Kafka
    clients (:func:`lakehouse.kafka.client_properties`), given to the worker's own clients and,
    prefixed, to the connector's producer, consumer and admin client."""
    props = {
        "bootstrap.servers": bootstrap,
        **connect_names(cluster),
        # The cluster's own defaults: replication factor 1 on the local broker, MSK's on MSK.
        "config.storage.replication.factor": "-1",
        "offset.storage.replication.factor": "-1",
        "status.storage.replication.factor": "-1",
        "offset.storage.partitions": "-1",
        "status.storage.partitions": "-1",
        # One worker per Connect cluster: a connector whose worker left is given to the next
        # worker at once, not held for the default five minutes in case the old one returns.
        "scheduled.rebalance.max.delay.ms": "0",
        # Plain JSON keys and values: a change event is its payload, no schema beside it.
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter.schemas.enable": "false",
        # Offsets are committed every second: a killed worker re-sends little.
        "offset.flush.interval.ms": "1000",
        "plugin.path": str(plugin_dir),
        # Plugins are found by their ServiceLoader manifests (Kafka's and Debezium's jars
        # carry them), not by scanning every class: seconds off each start.
        "plugin.discovery": "service_load",
        # The REST API answers on this host only (it can change connectors: no one else's).
        "listeners": f"http://{HOST}:{port}",
        "rest.advertised.host.name": HOST,
        "rest.advertised.port": str(port),
        "config.providers": "file",
        "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
    }
    for prefix in ("", "producer.", "consumer.", "admin."):
        props.update({f"{prefix}{k}": v for k, v in (client or {}).items()})
    return props


class ConnectWorker:
    """Start, stop and inspect one Kafka Connect worker (distributed mode) and its connector.

    ``name`` names the connector (and the folder); ``cluster`` the Connect cluster in Kafka
    (group id and internal topics, :func:`connect_names`).
    """

    def __init__(
        self, settings: Settings, name: str, *, cluster: str, directory: Path | None = None
    ) -> None:
        self.settings = settings
        self.name = name
        self.cluster = cluster
        self.directory = (directory or connect_dir(settings, name)).resolve()
        self.state_file = self.directory / "worker.json"
        self.worker_file = self.directory / "worker.properties"
        self.secrets_file = self.directory / "secrets.properties"
        self.log4j_file = self.directory / "log4j2.properties"
        self.log_dir = self.directory / "log"
        self._state = StateFile(self.state_file)
        self._launched_at: float | None = None  # monotonic time this object launched the JVM

    def secret_ref(self, key: str) -> str:
        """How a connector property names a secret kept in ``secrets.properties``."""
        return f"${{file:{self.secrets_file}:{key}}}"

    # ---------------------------------------------------------------- REST

    def _port(self) -> int | None:
        port = self._state.read().get("rest_port")
        return port if isinstance(port, int) else None

    def _request(
        self, method: str, path: str, body: object = None, *, timeout: float = 30.0
    ) -> tuple[int, object]:
        """One REST call: (HTTP status, parsed JSON or None); status 0 when nothing answered."""
        port = self._port()
        if port is None:
            return 0, None
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(
            f"http://{HOST}:{port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError):
            return 0, None
        try:
            return status, json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            return status, None

    def _call(self, method: str, path: str, body: object = None, *, ok: tuple[int, ...]) -> object:
        """A REST call that must succeed; retried while the worker rebalances (409) or its
        leader is busy, for up to a minute."""
        deadline = time.monotonic() + 60.0
        while True:
            status, found = self._request(method, path, body)
            if status in ok:
                return found
            if time.monotonic() > deadline or status not in (0, 409, 500, 503):
                message = found.get("message") if isinstance(found, dict) else None
                raise ConnectError(
                    f"Kafka Connect refused {method} {path} (HTTP {status}): "
                    f"{str(message or 'no answer').splitlines()[0]}"
                )
            time.sleep(1.0)

    # ---------------------------------------------------------------- state

    def _is_ours(self, pid: int) -> bool:
        if not pid_alive(pid):
            return False
        args = cmdline(pid)
        if args is None:
            return True
        return MAIN in args and str(self.worker_file) in args

    def status(self) -> ConnectStatus:
        state = self._state.read()
        pid, port = state.get("pid"), state.get("rest_port")
        running = isinstance(pid, int) and self._is_ours(pid)
        connector = task = trace = None
        if running:
            code, found = self._request("GET", f"/connectors/{self.name}/status", timeout=5.0)
            if code == 200 and isinstance(found, dict):
                connector = (found.get("connector") or {}).get("state")
                text = str((found.get("connector") or {}).get("trace") or "").strip()
                tasks = found.get("tasks") or []
                if tasks:
                    task = tasks[0].get("state")
                    text = str(tasks[0].get("trace") or "").strip() or text
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

    # ---------------------------------------------------------------- the worker process

    def _write_files(
        self,
        bootstrap: str,
        port: int,
        secrets: Mapping[str, str],
        plugin_dir: Path,
        client: Mapping[str, str] | None,
        *,
        foreground: bool,
    ) -> None:
        worker = worker_properties(self.cluster, bootstrap, port, plugin_dir, client)
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_private(self.worker_file, _properties(worker, "Written by lakehouse at start."))
        _write_private(
            self.secrets_file, _properties(secrets, "Secrets of the connector (never logged).")
        )
        self.log4j_file.write_text(
            log4j2_properties(
                "lakehouse-connect",
                log_file=None if foreground else "connect.log",
                pattern=None if foreground else _FILE_PATTERN,
                levels=_LOG_LEVELS,
            ),
            encoding="utf-8",
        )

    def _java_args(self, jars: list[Path]) -> list[str]:
        heap = os.environ.get("KAFKA_HEAP_OPTS", "").split() or _DEFAULT_HEAP_OPTS.split()
        return [
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
        ]

    def launch(
        self,
        *,
        bootstrap: str,
        secrets: Mapping[str, str] | None = None,
        client: Mapping[str, str] | None = None,
        foreground: bool = False,
        timeout: float = START_TIMEOUT_S,
    ) -> subprocess.Popen | None:
        """Start the worker and wait until its REST API serves the Connect cluster.

        In the background (the default) a running worker is kept (returns None); in the
        foreground the worker is this process's child, logging to standard output.
        """
        with folder_lock(self.directory):
            current = self.status()
            if current.running and not foreground:
                return None
            if current.running and current.pid:
                self._terminate(current.pid, timeout=STOP_TIMEOUT_S)
            try:
                jars, plugin_dir = require_connect_jars()
            except KafkaJarsError as exc:
                raise ConnectError(str(exc)) from None
            port = self._port()
            if port is None or not port_is_free(port):
                port = free_port()
            self._write_files(
                bootstrap, port, secrets or {}, plugin_dir, client, foreground=foreground
            )
            self.log_dir.mkdir(parents=True, exist_ok=True)
            started = time.monotonic()
            if foreground:
                proc = subprocess.Popen(
                    self._java_args(jars), stdin=subprocess.DEVNULL, cwd=self.directory
                )
            else:
                with (self.log_dir / "stdout.log").open("ab") as out:
                    out.write(f"\n--- start {datetime.now(UTC).isoformat()} ---\n".encode())
                    out.flush()
                    proc = subprocess.Popen(
                        self._java_args(jars),
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd=self.directory,
                        start_new_session=True,  # outlives the CLI that started it
                    )
            CHILDREN[proc.pid] = proc
            self._state.update(
                pid=proc.pid, rest_port=port, started_at=datetime.now(UTC).isoformat()
            )
            self._launched_at = started
            why = self._wait_ready(proc, started + timeout)
            if why is not None:
                self._terminate(proc.pid, timeout=10.0)
                self._state.update(pid=None)
                where = "its output above" if foreground else f"{self.log_file}"
                raise ConnectError(
                    f"Kafka Connect worker {self.name!r} did not start ({why}); see {where}"
                    + ("" if foreground else f":\n{tail(self.log_file, 8)}")
                )
            return proc

    @property
    def log_file(self) -> Path:
        return self.log_dir / "connect.log"

    def _wait_ready(self, proc: subprocess.Popen, deadline: float) -> str | None:
        """None once the worker joined its Connect cluster: the connector list answers (404
        while its REST resources are not registered yet, 409 while it joins or rebalances)."""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                CHILDREN.pop(proc.pid, None)
                return f"exited with code {proc.returncode}"
            code, _ = self._request("GET", "/connectors", timeout=5.0)
            if code == 200:
                return None
            time.sleep(0.5)
        return "not serving after the timeout"

    # ---------------------------------------------------------------- the connector

    def has_offsets(self) -> bool:
        """Whether the connector ever committed a position (the worker must run)."""
        code, found = self._request("GET", f"/connectors/{self.name}/offsets")
        if code == 404:
            return False  # no such connector in this Connect cluster yet
        if code != 200 or not isinstance(found, dict):
            raise ConnectError(f"cannot read the offsets of connector {self.name!r} (HTTP {code})")
        return bool(found.get("offsets"))

    def exists(self) -> bool:
        code, _ = self._request("GET", f"/connectors/{self.name}")
        return code == 200

    def stop_connector(self, *, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the connector and its task; it stays in the Connect cluster, STOPPED."""
        if self.exists():
            self._call("PUT", f"/connectors/{self.name}/stop", ok=(202, 204))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status().connector_state == "STOPPED":
                return
            time.sleep(0.5)
        raise ConnectError(f"connector {self.name!r} did not stop within {timeout:.0f} s")

    def reset_offsets(self, connector: Mapping[str, str]) -> None:
        """Forget the connector's offsets (Kafka 3.6+): it starts again from nothing, as new.
        Stops it first (creating it stopped with ``connector`` when it does not exist)."""
        if not self.exists():
            self._call(
                "POST",
                "/connectors",
                {"name": self.name, "config": dict(connector), "initial_state": "STOPPED"},
                ok=(201, 409),
            )
        self.stop_connector()
        self._call("DELETE", f"/connectors/{self.name}/offsets", ok=(200,))
        log_event(_log, "connect.offsets_reset", connector=self.name)

    def submit(self, connector: Mapping[str, str], *, timeout: float = START_TIMEOUT_S) -> None:
        """Create or update the connector and run it; returns once it and its task run.

        The configuration is written only when it differs from the one in the Connect cluster
        (writing it restarts the connector). A failed connector or task raises
        :class:`ConnectError` with its own first line.
        """
        wanted = {"name": self.name, **{k: str(v) for k, v in connector.items()}}
        code, current = self._request("GET", f"/connectors/{self.name}/config")
        if code != 200 or current != wanted:
            self._call("PUT", f"/connectors/{self.name}/config", wanted, ok=(200, 201))
        # A connector left STOPPED (a reset cut short) or PAUSED runs again; no-op if running.
        self._call("PUT", f"/connectors/{self.name}/resume", ok=(202, 204))
        self.wait_running(timeout=timeout)

    def wait_running(self, *, timeout: float = START_TIMEOUT_S) -> None:
        """Return once the connector and its task run, recording how long the start took
        (``worker.json``, event ``connect.started``); a failure raises its own first line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.status()
            if not now.running:
                raise ConnectError(f"the Kafka Connect worker of {self.name!r} exited")
            if now.capturing:
                if self._launched_at is None:
                    return  # it was running already: no start to measure
                seconds = round(time.monotonic() - self._launched_at, 1)
                self._launched_at = None
                self._state.update(start_seconds=seconds)
                log_event(
                    _log,
                    "connect.started",
                    connector=self.name,
                    pid=now.pid,
                    rest_port=now.rest_port,
                    seconds=seconds,
                    directory=str(self.directory),
                )
                return
            if now.failed:
                raise ConnectError(
                    f"connector {self.name!r} failed: {now.trace or 'no reason given'}"
                )
            time.sleep(0.5)
        raise ConnectError(f"connector {self.name!r} not running after {timeout:.0f} s")

    # ---------------------------------------------------------------- stop / supervise

    def stop(self, *, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Stop the worker if it runs (the connector, its offsets and its configuration stay in
        Kafka: the next start resumes); True when it ran."""
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

    def supervise(self, proc: subprocess.Popen, *, interval: float = WATCH_INTERVAL_S) -> int:
        """Watch a foreground worker until SIGTERM or SIGINT (then stop it cleanly: 0), its
        connector fails (stop it: 1) or it exits by itself (its exit code, 1 if that was 0,
        128 + the signal's number if one killed it, as a shell says: 137 for an OOM kill)."""
        stopping = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda *_: stopping.set())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            while not stopping.wait(interval):
                if proc.poll() is not None:
                    CHILDREN.pop(proc.pid, None)
                    self._state.update(pid=None)
                    code = proc.returncode
                    log_event(_log, "connect.exited", logging.ERROR, connector=self.name, code=code)
                    return 128 - code if code < 0 else code or 1
                now = self.status()
                if now.failed:
                    log_event(
                        _log,
                        "connect.failed",
                        logging.ERROR,
                        connector=self.name,
                        connector_state=now.connector_state,
                        task_state=now.task_state,
                        reason=now.trace or "no reason given",
                    )
                    self.stop()
                    return 1
            log_event(_log, "connect.stopping", connector=self.name, pid=proc.pid)
            self.stop()
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
