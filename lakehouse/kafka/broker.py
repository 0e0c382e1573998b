"""The project's own Apache Kafka broker: one KRaft node in a folder of the lake's state.

``lakehouse kafka start`` runs Apache Kafka from its jars (cached once by
:mod:`lakehouse.kafka.jars`) as ``java -cp <jars> kafka.Kafka server.properties``, in the
background, listening on 127.0.0.1 only. One process is both broker and controller (KRaft, no
ZooKeeper), with a static one-voter quorum (``controller.quorum.voters``), so the controller's
port may change between starts. Settings suit one node and the later parts of issue 18:
replication factor 1 for every internal topic (consumer offsets, transaction state, share
state), transaction state log ``min.isr`` 1 (idempotent and transactional producers with
``acks=all`` work), topics are never created implicitly (``auto.create.topics.enable=false``;
create them with :func:`create_topic` or ``lakehouse kafka topics create``), consumer groups
start without the initial rebalance delay.

Folder layout (``<lake>/_state/kafka``)::

    server.properties    written at every start (ports may change)
    log4j2.properties    the broker's logging: log/server.log, rolled at 10 MB, 3 kept
    data/                the log dirs and the KRaft metadata log (formatted on first start)
    log/server.log       the broker's log; log/stdout.log: what the JVM printed itself
    broker.json          pid, ports, cluster id, Kafka version, start time

Ports: free ones on 127.0.0.1 picked on first start and remembered; a remembered port that is
taken by then is picked again, and a start that loses a port race is retried on new ports.
``start`` returns once a Kafka client gets metadata naming this broker; starting a running
broker is a no-op. ``stop`` sends SIGTERM (Kafka shuts down cleanly), waits, then SIGKILLs.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.kafka import KafkaBrokerError
from lakehouse.kafka.jars import KAFKA_VERSION, KafkaJarsError, classpath, require_jars
from lakehouse.kafka.log4j import log4j2_properties
from lakehouse.local_process import (
    CHILDREN,
    HOST,
    StateFile,
    accepts,
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

_log = get_logger("kafka.broker")

NODE_ID = 1
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
_PORT_ATTEMPTS = 3
# The broker shares a small machine with Spark and the tests; KAFKA_HEAP_OPTS overrides this,
# as in Apache Kafka's own scripts.
_DEFAULT_HEAP_OPTS = "-Xms128m -Xmx512m"
_JVM_OPTS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)


@dataclass(frozen=True)
class BrokerStatus:
    """What ``lakehouse kafka status`` reports."""

    running: bool
    directory: Path
    port: int | None = None
    controller_port: int | None = None
    pid: int | None = None
    formatted: bool = False
    cluster_id: str | None = None
    version: str = KAFKA_VERSION

    @property
    def bootstrap(self) -> str | None:
        """``127.0.0.1:<port>`` of a running broker, else None."""
        return f"{HOST}:{self.port}" if self.running and self.port else None

    @property
    def log_file(self) -> Path:
        return self.directory / "log" / "server.log"


def kafka_dir(settings: Settings) -> Path:
    """The folder of the project's broker: ``<lake>/_state/kafka``."""
    return (settings.lake.local_state / "kafka").resolve()


def new_cluster_id() -> str:
    """A cluster id as ``kafka-storage random-uuid`` makes one: 16 random bytes, base64url."""
    while True:
        raw = uuid.uuid4().bytes
        text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):  # Kafka's Uuid.randomUuid avoids these (CLI arguments)
            return text


def server_properties(
    directory: Path, port: int, controller_port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The broker's configuration: one KRaft node, replication factor 1 everywhere."""
    props = {
        # KRaft: this one process is broker and controller, the only voter of the quorum.
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(directory / "data"),
        # Topics exist only when created on purpose (lakehouse kafka topics create).
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        # Internal topics on one node: replication factor 1, few partitions.
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "share.coordinator.state.topic.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        # A shared 2-core machine: fewer threads than Kafka's server defaults.
        "num.network.threads": "2",
        "num.io.threads": "4",
        "background.threads": "4",
        "log.retention.hours": "168",
    }
    if extra:
        props.update(extra)
    return props


_LOG4J2 = log4j2_properties(
    "lakehouse-kafka",
    log_file="server.log",
    levels={"kafka.request.logger": "WARN", "state.change.logger": "WARN"},
)


class LocalBroker:
    """Start, stop and inspect the project's Kafka broker in its own folder."""

    def __init__(self, settings: Settings, *, directory: Path | None = None) -> None:
        self.settings = settings
        self.directory = (directory or kafka_dir(settings)).resolve()
        self.state_file = self.directory / "broker.json"
        self.config_file = self.directory / "server.properties"
        self.log4j_file = self.directory / "log4j2.properties"
        self.data_dir = self.directory / "data"
        self.log_dir = self.directory / "log"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "server.log"

    @property
    def stdout_file(self) -> Path:
        return self.log_dir / "stdout.log"

    # ---------------------------------------------------------------- state

    def _read_state(self) -> dict:
        return StateFile(self.state_file).read()

    def _write_state(self, **fields: object) -> None:
        """Merge ``fields`` into ``broker.json``; a field set to None is removed."""
        StateFile(self.state_file).update(**fields)

    def _lock(self) -> AbstractContextManager[None]:
        return folder_lock(self.directory)

    def _is_our_broker(self, pid: int) -> bool:
        """``pid`` is alive and is this folder's broker (not a reused pid)."""
        if not pid_alive(pid):
            return False
        args = cmdline(pid)
        if args is None:  # no /proc: trust the recorded pid
            return True
        return "kafka.Kafka" in args and str(self.config_file) in args

    @property
    def formatted(self) -> bool:
        return (self.data_dir / "meta.properties").exists()

    def status(self) -> BrokerStatus:
        """Running means the recorded pid is alive and is this folder's broker (no JVM, no I/O)."""
        state = self._read_state()
        pid = state.get("pid")
        running = isinstance(pid, int) and self._is_our_broker(pid)
        return BrokerStatus(
            running=running,
            directory=self.directory,
            port=state.get("port"),
            controller_port=state.get("controller_port"),
            pid=pid if running else None,
            formatted=self.formatted,
            cluster_id=state.get("cluster_id"),
            version=state.get("version", KAFKA_VERSION),
        )

    # ---------------------------------------------------------------- lifecycle

    def _choose_ports(self, *, fresh: bool) -> tuple[int, int]:
        state = self._read_state()
        chosen: list[int] = []
        for key in ("port", "controller_port"):
            remembered = state.get(key)
            if (
                not fresh
                and isinstance(remembered, int)
                and remembered not in chosen
                and port_is_free(remembered)
            ):
                chosen.append(remembered)
            else:
                chosen.append(free_port(set(chosen)))
        return chosen[0], chosen[1]

    def _write_config(self, port: int, controller_port: int) -> None:
        props = server_properties(self.directory, port, controller_port)
        lines = ["# Written by lakehouse at every broker start (lakehouse.kafka.broker)."]
        lines += [f"{k}={v}" for k, v in props.items()]
        self.config_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.log4j_file.write_text(_LOG4J2, encoding="utf-8")

    def _java_args(self, jars: list[Path], main: str, *args: str) -> list[str]:
        heap = os.environ.get("KAFKA_HEAP_OPTS", "").split() or _DEFAULT_HEAP_OPTS.split()
        return [
            "java",
            *heap,
            *_JVM_OPTS,
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            f"-Dkafka.logs.dir={self.log_dir}",
            "-cp",
            classpath(jars),
            main,
            *args,
        ]

    def _format(self, jars: list[Path]) -> None:
        """Format the data folder for KRaft once (``kafka-storage format``)."""
        cluster_id = self._read_state().get("cluster_id") or new_cluster_id()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            result = subprocess.run(
                self._java_args(
                    jars,
                    "kafka.tools.StorageTool",
                    "format",
                    "--config",
                    str(self.config_file),
                    "--cluster-id",
                    cluster_id,
                    "--ignore-formatted",
                ),
                capture_output=True,
                text=True,
                cwd=self.directory,
                timeout=START_TIMEOUT_S,
            )
        except FileNotFoundError:
            raise KafkaBrokerError("java was not found; Kafka needs Java 17 or newer") from None
        if result.returncode != 0:
            raise KafkaBrokerError(
                f"formatting the broker's storage failed (exit {result.returncode}):\n"
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )
        self._write_state(cluster_id=cluster_id, version=KAFKA_VERSION)
        log_event(_log, "kafka.formatted", directory=str(self.directory), cluster_id=cluster_id)

    def _launch(self, jars: list[Path]) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.stdout_file.open("ab") as out:
            out.write(f"\n--- start {datetime.now(UTC).isoformat()} ---\n".encode())
            out.flush()
            proc = subprocess.Popen(
                self._java_args(jars, "kafka.Kafka", str(self.config_file)),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                start_new_session=True,  # outlives the CLI and its terminal
            )
        CHILDREN[proc.pid] = proc
        return proc

    def _wait_ready(self, proc: subprocess.Popen, port: int, deadline: float) -> str | None:
        """None once the broker serves metadata naming itself; else why it did not start."""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                CHILDREN.pop(proc.pid, None)
                return f"exited with code {proc.returncode}"
            if accepts(port) and _metadata_ready(f"{HOST}:{port}", timeout=5.0):
                return None
            time.sleep(0.5)
        return f"not ready after {START_TIMEOUT_S:.0f} s"

    def start(self, *, timeout: float = START_TIMEOUT_S) -> BrokerStatus:
        """Start the broker (formatting its storage on first use); a running one is kept."""
        with self._lock():
            current = self.status()
            if current.running:
                return current
            try:
                jars = require_jars()
            except KafkaJarsError as exc:
                raise KafkaBrokerError(str(exc)) from None
            self.directory.mkdir(parents=True, exist_ok=True)
            reason = ""
            for attempt in range(_PORT_ATTEMPTS):
                port, controller_port = self._choose_ports(fresh=attempt > 0)
                self._write_config(port, controller_port)
                if not self.formatted:
                    self._format(jars)
                log_mark = self.log_file.stat().st_size if self.log_file.exists() else 0
                started = time.monotonic()
                proc = self._launch(jars)
                self._write_state(
                    pid=proc.pid,
                    port=port,
                    controller_port=controller_port,
                    version=KAFKA_VERSION,
                    started_at=datetime.now(UTC).isoformat(),
                )
                why = self._wait_ready(proc, port, started + timeout)
                if why is None:
                    log_event(
                        _log,
                        "kafka.started",
                        bootstrap=f"{HOST}:{port}",
                        pid=proc.pid,
                        seconds=round(time.monotonic() - started, 1),
                        directory=str(self.directory),
                    )
                    return self.status()
                self._terminate(proc.pid, timeout=10.0)
                self._write_state(pid=None)
                reason = why
                if not self._lost_port_race(log_mark):
                    break
                log_event(_log, "kafka.port_taken", port=port, controller_port=controller_port)
            raise KafkaBrokerError(
                f"the Kafka broker did not start ({reason}); see {self.log_file}:\n"
                f"{tail(self.log_file)}\n{tail(self.stdout_file, 5)}"
            )

    def _lost_port_race(self, log_mark: int) -> bool:
        """The last start failed because a port was taken between choosing and binding it."""
        for path, mark in ((self.log_file, log_mark), (self.stdout_file, 0)):
            try:
                with path.open("rb") as handle:
                    handle.seek(mark)
                    text = handle.read().decode(errors="replace")
            except OSError:
                continue
            if "Address already in use" in text.split("--- start")[-1]:
                return True
        return False

    def _terminate(self, pid: int, *, timeout: float) -> None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL."""
        if terminate(pid, timeout=timeout):
            log_event(_log, "kafka.killed", pid=pid, after_s=timeout)

    def stop(self, *, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Stop the broker if it runs (its data stays); True when it was running."""
        with self._lock():
            current = self.status()
            if not current.running or current.pid is None:
                return False
            started = time.monotonic()
            self._terminate(current.pid, timeout=timeout)
            self._write_state(pid=None, stopped_at=datetime.now(UTC).isoformat())
            log_event(
                _log,
                "kafka.stopped",
                pid=current.pid,
                seconds=round(time.monotonic() - started, 1),
                directory=str(self.directory),
            )
            return True


# -------------------------------------------------------------------- clients


def _admin(bootstrap: str, timeout: float):  # noqa: ANN202 - confluent_kafka is imported late
    from confluent_kafka.admin import AdminClient

    return AdminClient(
        {
            "bootstrap.servers": bootstrap,
            "socket.connection.setup.timeout.ms": int(timeout * 1000),
            "log_level": 2,  # errors only: a broker that is starting refuses connections
        }
    )


def _metadata_ready(bootstrap: str, *, timeout: float) -> bool:
    """The broker answers metadata and lists itself (it registered with the controller)."""
    from confluent_kafka import KafkaException

    try:
        metadata = _admin(bootstrap, timeout).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(metadata.brokers)


def create_topic(
    bootstrap: str,
    name: str,
    *,
    partitions: int = 1,
    replication_factor: int = -1,
    config: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> bool:
    """Create topic ``name``; True when created, False when it already existed.

    ``replication_factor=-1`` leaves it to the cluster (``default.replication.factor``: 1 on the
    local broker, the cluster's own on MSK).
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    if partitions < 1:
        raise KafkaBrokerError(f"a topic needs at least one partition, not {partitions}")
    topic = NewTopic(
        name,
        num_partitions=partitions,
        replication_factor=replication_factor,
        config=dict(config or {}),
    )
    admin = _admin(bootstrap, timeout)  # kept referenced: its futures die with it
    future = admin.create_topics([topic], operation_timeout=timeout, request_timeout=timeout)[name]
    try:
        future.result(timeout=timeout + 5)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
            return False
        raise KafkaBrokerError(f"could not create topic {name!r} at {bootstrap}: {exc}") from None
    log_event(_log, "kafka.topic_created", topic=name, partitions=partitions, bootstrap=bootstrap)
    return True


def list_topics(bootstrap: str, *, timeout: float = 15.0) -> dict[str, int]:
    """Topic name -> partition count, internal topics (``__*``) left out."""
    from confluent_kafka import KafkaException

    try:
        metadata = _admin(bootstrap, timeout).list_topics(timeout=timeout)
    except KafkaException as exc:
        raise KafkaBrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    return {
        name: len(topic.partitions)
        for name, topic in sorted(metadata.topics.items())
        if not name.startswith("__")
    }
