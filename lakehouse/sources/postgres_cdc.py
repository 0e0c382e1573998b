"""Kind ``postgres`` with ``capture: cdc``: Debezium change data capture into Kafka.

``lakehouse ingest <source>`` makes sure the capture runs, and lands nothing itself: the
Debezium PostgreSQL connector (``pgoutput`` logical decoding) in a Kafka Connect worker
(:class:`lakehouse.kafka.connect.ConnectWorker`, distributed mode, folder ``<lake>/_state/
connect/<source>-capture``, Connect cluster named for ``cdc.topic_prefix``, so its configuration
and offsets are in Kafka topics ``_connect.<topic_prefix>.*``) writes every committed change of
the contract's tables to Kafka, one topic per table: ``<cdc.topic_prefix>.<schema>.<table>``.
The bronze job (``spark/kafka_to_bronze.py``) reads those topics (and never the connector's
heartbeat topic, :func:`heartbeat_topic`), lands the raw change events immutable in
``landing/<source>/<entity>/`` and loads them with the ``debezium`` layout.

Two ways to run it, one worker: ``lakehouse capture start`` (and ``ingest``) leave it running
in the background; ``lakehouse capture run`` (:func:`run_capture`) runs it in the foreground
until SIGTERM, the command of the capture's container on AWS. A restart anywhere resumes from
the offsets committed in Kafka: no second snapshot.

The connector: replication slot ``cdc.slot``, publication ``cdc.publication`` (created by
Debezium for exactly the contract's tables when missing), ``snapshot.mode=initial`` (the
tables' current rows as ``op=r`` events first, then the stream), tombstones after deletes, a
heartbeat every :data:`HEARTBEAT_INTERVAL_MS` (so that on a busy database whose captured tables
are idle the connector still confirms its position and the slot does not hold the WAL).
Value choices, so events are plain JSON that bronze parses like polled rows:

- ``decimal.handling.mode=string``: numerics as exact text, as polling lands them (``double``
  would round; ``precise`` gives base64 bytes);
- ``time.precision.mode=adaptive_time_microseconds``: ``timestamptz`` is ISO-8601 text (always,
  whatever the mode), ``date`` an integer of days and ``timestamp`` of microseconds since
  1970-01-01, which the ``debezium`` layout renders as the contract's text (microseconds keep
  PostgreSQL's full precision, which ``connect`` mode would cut to milliseconds);
- JSON converters without schemas (:mod:`lakehouse.kafka.connect`).

Before each start the slot and the publication are checked (:func:`check_replication`): a
connector that ran before (it has offsets) whose slot is gone, or whose publication is missing,
cannot resume - the changes between its position and now are lost to the slot. That is said in
one line, and capture recovers with a new snapshot: the connector is stopped, the slot (if any)
dropped, its offsets reset through Connect's REST API, and it snapshots the tables again;
bronze dedupes what it already has.
"""

from __future__ import annotations

import logging
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from lakehouse.contracts import ChangeCapture, Contract, PostgresSource
from lakehouse.kafka import KafkaBrokerError, client_properties, ensure_bootstrap
from lakehouse.kafka.connect import ConnectWorker
from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings
from lakehouse.sources import IngestResult, ProgressHook, TargetOutcome
from lakehouse.sources._common import Clock

logger = get_logger(__name__)

CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector"
HEARTBEAT_INTERVAL_MS = 10_000
# Debezium's default topic.heartbeat.prefix: heartbeats go to <prefix>.<topic.prefix>.
HEARTBEAT_PREFIX = "__debezium-heartbeat"


class CaptureError(RuntimeError):
    """Capture cannot run; the message is the one line to show."""


def _cdc(contract: Contract) -> tuple[PostgresSource, ChangeCapture]:
    src = contract.source
    if not isinstance(src, PostgresSource) or src.cdc is None:
        raise TypeError(f"source {contract.name!r} has no change data capture (capture: cdc)")
    return src, src.cdc


def connector_name(contract: Contract) -> str:
    return f"{contract.name}-capture"


def heartbeat_topic(contract: Contract) -> str:
    """The connector's heartbeat topic: offsets only, no change event (bronze never reads it)."""
    _, cdc = _cdc(contract)
    return f"{HEARTBEAT_PREFIX}.{cdc.topic_prefix}"


def worker(settings: Settings, contract: Contract) -> ConnectWorker:
    """The Kafka Connect worker that runs this source's connector (not started here); its
    Connect cluster is named for the topic prefix, the capture's identity in Kafka."""
    _, cdc = _cdc(contract)
    return ConnectWorker(settings, connector_name(contract), cluster=str(cdc.topic_prefix))


def connector_config(contract: Contract, dsn: str, worker: ConnectWorker) -> dict[str, str]:
    """The Debezium connector's properties (the password by reference, never in the file)."""
    src, cdc = _cdc(contract)
    parts = conninfo_to_dict(dsn)
    return {
        "connector.class": CONNECTOR_CLASS,
        "tasks.max": "1",
        "plugin.name": "pgoutput",
        "database.hostname": str(parts.get("host") or "localhost"),
        "database.port": str(parts.get("port") or 5432),
        "database.user": str(parts.get("user") or ""),
        "database.password": worker.secret_ref("password"),
        "database.dbname": str(parts.get("dbname") or ""),
        "topic.prefix": cdc.topic_prefix,
        "slot.name": cdc.slot,
        "publication.name": cdc.publication,
        "publication.autocreate.mode": "filtered",
        "table.include.list": ",".join(t.table for t in src.tables.values()),
        "snapshot.mode": "initial",
        "decimal.handling.mode": "string",
        "time.precision.mode": "adaptive_time_microseconds",
        "tombstones.on.delete": "true",
        "heartbeat.interval.ms": str(HEARTBEAT_INTERVAL_MS),
        "topic.heartbeat.prefix": HEARTBEAT_PREFIX,
        # The broker creates no topic by itself: Connect creates the table topics.
        "topic.creation.default.replication.factor": "-1",
        "topic.creation.default.partitions": "1",
        # Small polls on a small machine; a change reaches Kafka within about a second.
        "poll.interval.ms": "200",
        "status.update.interval.ms": "1000",
    }


@dataclass
class Replication:
    """What the database says about the capture's slot and publication."""

    wal_level: str
    slot_exists: bool
    publication_exists: bool


def replication(dsn: str, cdc: ChangeCapture) -> Replication:
    with psycopg.connect(dsn, connect_timeout=10, application_name="lakehouse-capture") as conn:
        wal_level = conn.execute("show wal_level").fetchone()[0]
        slot = conn.execute(
            "select 1 from pg_replication_slots where slot_name = %s", [cdc.slot]
        ).fetchone()
        publication = conn.execute(
            "select 1 from pg_publication where pubname = %s", [cdc.publication]
        ).fetchone()
    return Replication(wal_level, slot is not None, publication is not None)


def check_replication(dsn: str, cdc: ChangeCapture, *, ran_before: bool) -> str | None:
    """None when capture can start or resume; else the one line saying what is wrong.

    Raises :class:`CaptureError` when the database cannot do logical decoding at all.
    """
    return _judge(replication(dsn, cdc), cdc, ran_before=ran_before)


def _drop_slot(dsn: str, slot: str) -> None:
    with psycopg.connect(dsn, connect_timeout=10, autocommit=True) as conn:
        conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
            "where slot_name = %s and not active",
            [slot],
        )


def _judge(found: Replication, cdc: ChangeCapture, *, ran_before: bool) -> str | None:
    """None when capture can start or resume; else the one line saying what is wrong."""
    if found.wal_level != "logical":
        raise CaptureError(
            f"the database runs with wal_level={found.wal_level}; change data capture needs "
            "wal_level=logical (postgresql.conf, then a restart)"
        )
    if not found.slot_exists:
        if not ran_before:
            return None  # a first start: Debezium creates the slot and snapshots
        return (
            f"replication slot {cdc.slot!r} is gone (dropped?): the changes since capture last "
            "ran cannot be replayed; re-snapshotting the tables"
        )
    if not found.publication_exists:
        # A slot without its publication cannot decode anything (pgoutput reads the publication
        # as of each change, so one created now does not cover the changes already waiting).
        return (
            f"publication {cdc.publication!r} is missing (dropped?): the slot cannot decode "
            "without it; dropping the slot and re-snapshotting the tables"
        )
    return None


def ensure_capture(
    settings: Settings, contract: Contract, dsn: str, *, foreground: bool = False
) -> tuple[ConnectWorker, list[str], subprocess.Popen | None]:
    """Make sure the source's connector runs (slot, publication, snapshot then streaming).

    Returns the worker, the warnings of this start (a recovery said in one line) and, with
    ``foreground``, the worker's process (this process's child, to supervise).
    """
    _, cdc = _cdc(contract)
    capture = worker(settings, contract)
    # The database as it was before the worker starts: a worker that starts resumes its
    # connector from Kafka at once, which may create a slot that was gone.
    found = replication(dsn, cdc)
    _judge(found, cdc, ran_before=False)  # wal_level first: nothing starts without it
    password = conninfo_to_dict(dsn).get("password") or ""
    warnings: list[str] = []
    config = connector_config(contract, dsn, capture)
    proc = None
    try:
        proc = capture.launch(
            bootstrap=ensure_bootstrap(settings),
            secrets={"password": str(password)},
            client=client_properties(),
            foreground=foreground,
        )
        problem = _judge(found, cdc, ran_before=capture.has_offsets())
        if problem is not None:
            # Recovery: a new snapshot from a new slot; bronze dedupes the rows it already has.
            warnings.append(problem)
            log_event(
                logger, "capture.recovering", logging.WARNING, source=contract.name, reason=problem
            )
            if capture.exists():
                capture.stop_connector()  # a slot in use cannot be dropped
            _drop_slot(dsn, cdc.slot)
            capture.reset_offsets(config)
        # Resumed from Kafka or already running: the same configuration is left alone.
        capture.submit(config)
        status = capture.status()
    except BaseException:
        if foreground:
            capture.stop()
        raise
    log_event(
        logger,
        "capture.running",
        source=contract.name,
        connector=capture.name,
        pid=status.pid,
        start_seconds=status.start_seconds,
        warnings=warnings,
    )
    return capture, warnings, proc


def run_capture(settings: Settings, contract: Contract, dsn: str) -> int:
    """``lakehouse capture run``: the source's worker in the foreground until SIGTERM/SIGINT
    (exit 0 after a clean stop) or a connector failure (exit 1); raises what stops a start."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt  # unwinds the start; ensure_capture stops the worker

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        capture, warnings, proc = ensure_capture(settings, contract, dsn, foreground=True)
    except KeyboardInterrupt:
        log_event(logger, "capture.stopped_while_starting", source=contract.name)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert proc is not None
    return capture.supervise(proc)


def run(
    settings: Settings,
    contract: Contract,
    dsn: str | None,
    no_dsn: str,
    server: str,
    progress: ProgressHook,
) -> IngestResult:
    """``lakehouse ingest`` of a capture source: the connector runs; bronze reads its topics."""
    src, _ = _cdc(contract)
    clock = Clock()
    by_entity = {entity: topic for topic, entity in contract.topic_landings.items()}
    targets = [
        TargetOutcome(key=entity, label=by_entity[entity], status="failed") for entity in src.tables
    ]
    warnings: list[str] = []
    reason = ""
    if not dsn:
        reason = no_dsn
    else:
        progress("capture", "starting change data capture")
        try:
            _, warnings, _ = ensure_capture(settings, contract, dsn)
        except (CaptureError, KafkaBrokerError) as exc:
            reason = str(exc).splitlines()[0]
        except psycopg.Error as exc:
            from lakehouse.sources.postgres import failure_line

            reason = failure_line(exc, dsn)
    for target in targets:
        target.status = "failed" if reason else "ok"
        target.reason = reason
        target.warnings = list(warnings)
        if not reason:
            target.path = target.label
    return clock.result(
        contract,
        window="change data capture",
        endpoint=f"postgresql://{server} -> kafka",
        landing_dir=Path(settings.lake.layer("landing")) / contract.name,
        targets=targets,
    )
