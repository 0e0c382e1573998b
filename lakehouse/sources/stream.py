"""Kind ``stream``: an HTTP stream of JSON lines or server-sent events, landed in batches.

One GET to ``base_url + path`` with ``params``, read as it arrives (httpx streaming):

- ``format: json_lines``: every non-blank line is a record; ``format: sse``: every event's
  ``data:`` lines are a record (several ``data:`` lines of one event are joined with a space, so
  a JSON value split over lines stays one JSON line; comments, ``id:`` and ``event:`` are not
  landed).
- Every ``batch_records`` records land as one document (:func:`lakehouse.landing.land_body`):
  the body is the records' lines exactly as received, one per line (JSON lines); the transport
  is ``{"kind": "stream", "url", "params", "first", "last", "records"}`` where first/last are
  the ``resume_field`` values of the batch's first and last record.
- A line that is not JSON is kept in its batch (bronze quarantines it), counted, and reported
  as a warning of the run; it is never dropped.
- The run stops at ``request.max_records``, at ``request.max_seconds``, or when the server ends
  the stream.
- A dropped connection (network error, timeout, a cut chunked body, HTTP 429/5xx) is reopened
  with ``resume_param=<resume_field of the last record read>``; a line cut by the drop is
  discarded (the server sends it again). Records the server repeats (a resume parameter that is
  inclusive) are recognised by their bytes among those at the last resume value and skipped.
  ``http_max_attempts`` bounds the reconnects in a row that deliver nothing, waiting as
  :mod:`lakehouse.http` does between them; other 4xx answers fail at once.
- The position (last resume value, digests of the records read at that value) is kept in
  ``<lake>/_state/ingest/<source>/position.json``, written after each batch lands, so the next
  run resumes where the last landed batch ended.

With ``topic:`` the records go to Kafka instead of landing (:class:`TopicSink`): each record,
unchanged (its line without the newline), is produced to the topic keyed by ``key_field``, by an
idempotent producer with ``acks=all``; the topic is created when missing. The position is written
once the producer has every record of the batch acknowledged, so a dropped connection or a new
run resumes with ``resume_param`` at the last record produced. A line that is not JSON is not a
record: it lands as a document of the entity (bronze quarantines it) and is counted. The
streaming bronze job (``spark/kafka_to_bronze.py``) lands the topic's records as they arrive.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from lakehouse import __version__
from lakehouse.contracts import Contract, StreamSource
from lakehouse.http import RETRY_EXCEPTIONS, RETRY_STATUS_MIN, RETRY_STATUSES, api_reason
from lakehouse.landing import land_body
from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings
from lakehouse.sources import (
    IngestRequest,
    IngestResult,
    ProgressHook,
    TargetOutcome,
    WindowError,
)
from lakehouse.sources._common import (
    Clock,
    read_state,
    setting,
    state_dir,
    utc_text,
    write_state,
)

logger = get_logger(__name__)

POSITION_FILE = "position.json"
CONTENT_TYPE = "application/x-ndjson"


class StreamFailed(Exception):
    """The stream could not be read (any more); the message is the reason."""


class _Retryable(Exception):
    """A failure worth reconnecting after (HTTP 429/5xx)."""


@dataclass
class Record:
    line: bytes  # the record's line as landed, ending in a newline
    value: Any = None  # its resume_field value (None: absent or not JSON)
    valid: bool = True  # the line is JSON


@dataclass
class Position:
    """Where the stream was read up to: the last resume value and the records read at it."""

    value: Any = None
    seen: set[str] = field(default_factory=set)
    # Lines without a resume value (not JSON) read after the last value, in order: a resume at
    # that value sends them again, and they must not count twice.
    after: list[str] = field(default_factory=list)
    _replay: list[str] = field(default_factory=list)

    def reconnected(self) -> None:
        """A new connection starts at ``value``: expect ``after`` again before anything new."""
        self._replay = list(self.after)

    def already_read(self, record: Record) -> bool:
        digest = _digest(record.line)
        if record.value is None:
            if self._replay and self._replay[0] == digest:
                self._replay.pop(0)
                return True
            return False
        return record.value == self.value and digest in self.seen

    def advance(self, record: Record) -> None:
        self._replay = []  # past the resumed value's repeats: every line is new from here
        if record.value is None:
            if self.value is not None:
                self.after.append(_digest(record.line))
            return
        if record.value != self.value:
            self.value, self.seen = record.value, set()
        self.seen.add(_digest(record.line))
        self.after = []

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "seen": sorted(self.seen), "after": self.after}


def _digest(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\r\n")).hexdigest()


def _path_value(obj: Any, path: str | None) -> Any:
    if not path:
        return None
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj if isinstance(obj, str | int | float) and not isinstance(obj, bool) else None


def _record(line: bytes, resume_field: str | None) -> Record:
    if not line.endswith(b"\n"):
        line += b"\n"
    try:
        obj = json.loads(line)
    except ValueError:
        return Record(line, None, False)
    return Record(line, _path_value(obj, resume_field), True)


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Complete lines (with their newline); a last line cut by an exception is never yielded."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if b"\n" not in chunk:
            continue
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line + b"\n"
    if buffer:
        yield buffer  # the stream ended cleanly without a final newline


def _json_lines(lines: Iterator[bytes]) -> Iterator[bytes]:
    for line in lines:
        if line.strip():
            yield line


def _sse_events(lines: Iterator[bytes]) -> Iterator[bytes]:
    data: list[bytes] = []
    for raw in lines:
        line = raw.rstrip(b"\r\n")
        if not line:
            if data:
                yield b" ".join(data) + b"\n"
            data = []
        elif line.startswith(b"data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(b" ") else value)
        # comments (":"), id:, event: and retry: are not records
    # an event without its closing blank line is incomplete: the server sends it again


class StreamReader:
    """Reads records from the stream, reconnecting with the resume parameter after a drop."""

    def __init__(
        self,
        settings: Settings,
        src: StreamSource,
        url: str,
        position: Position,
        *,
        deadline: float | None,
        progress: ProgressHook,
        key: str,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.src = src
        self.url = url
        self.position = position
        self.deadline = deadline
        self.progress = progress
        self.key = key
        self.client = client or httpx.Client(
            follow_redirects=True, headers={"User-Agent": f"lakehouse/{__version__}"}
        )
        self.attempts = 0  # connections opened
        self.reconnects: list[str] = []  # why each reconnect happened
        self.skipped = 0  # records the server sent again after a resume
        self.params: dict[str, Any] = dict(src.params)  # of the current connection
        self.ended = ""  # why reading ended: end of stream, deadline, no resume

    def close(self) -> None:
        self.client.close()

    def _params(self) -> dict[str, Any]:
        params = dict(self.src.params)
        if self.src.resume_param and self.position.value is not None:
            params[self.src.resume_param] = self.position.value
        return params

    def _timeout(self) -> httpx.Timeout:
        limit = self.settings.http_timeout_s
        if self.deadline is not None:
            limit = max(0.05, min(limit, self.deadline - time.monotonic()))
        return httpx.Timeout(self.settings.http_timeout_s, read=limit)

    def _backoff(self, failures: int) -> float:
        base, cap = self.settings.http_backoff_base_s, self.settings.http_backoff_max_s
        return min(base * 2 ** (failures - 1) + random.uniform(0, base), cap)

    def _past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _connection(self) -> Iterator[Record]:
        self.attempts += 1
        self.position.reconnected()
        self.params = self._params()
        with self.client.stream(
            "GET", self.url, params=self.params, timeout=self._timeout()
        ) as response:
            status = response.status_code
            if status >= 300:
                response.read()
                reason = f"HTTP {status}: {api_reason(response)}"
                if status in RETRY_STATUSES or status >= RETRY_STATUS_MIN:
                    raise _Retryable(reason)
                raise StreamFailed(reason)
            lines = _lines(response.iter_bytes())
            events = _sse_events(lines) if self.src.format == "sse" else _json_lines(lines)
            for line in events:
                yield _record(line, self.src.resume_field)

    def records(self) -> Iterator[Record]:
        """Every record once, in stream order, until the stream ends or the deadline passes."""
        failures = 0  # connections in a row that delivered nothing
        while True:
            delivered = 0
            try:
                for record in self._connection():
                    if self.position.already_read(record):
                        self.skipped += 1
                        continue
                    delivered += 1
                    self.position.advance(record)
                    yield record
                self.ended = "end of stream"
                return
            except (*RETRY_EXCEPTIONS, _Retryable) as exc:
                reason = str(exc) or type(exc).__name__
                if isinstance(exc, httpx.TimeoutException) and self._past_deadline():
                    self.ended = "time limit"
                    return
                if isinstance(exc, httpx.TimeoutException):
                    reason = f"timed out ({type(exc).__name__})"
            failures = 1 if delivered else failures + 1
            if self._past_deadline():
                self.ended = "time limit"
                return
            if not self.src.resume_param:
                self.ended = f"connection dropped ({reason}); not reopened: no resume_param"
                return
            if failures >= self.settings.http_max_attempts:
                raise StreamFailed(
                    f"{reason} (gave up after {failures} connections in a row without a record)"
                )
            delay = self._backoff(failures)
            self.reconnects.append(reason)
            log_event(
                logger,
                "stream reconnect",
                logging.WARNING,
                stream=self.key,
                reason=reason,
                resume=self.position.value,
                delay_s=round(delay, 2),
            )
            self.progress(self.key, f"reconnect in {delay:.1f}s after {reason}")
            time.sleep(delay)


def _not_json_warning(count: int) -> str:
    return (
        f"{count} line{'s' if count != 1 else ''} not JSON "
        "(landed as received; bronze quarantines them)"
    )


class TopicSink:
    """Produces records unchanged to a Kafka topic, keyed by a record field."""

    def __init__(self, settings: Settings, topic: str, key_field: str | None) -> None:
        from confluent_kafka import Producer

        from lakehouse.kafka import ensure_bootstrap
        from lakehouse.kafka.broker import create_topic

        self.bootstrap = ensure_bootstrap(settings)
        self.topic = topic
        self.key_field = key_field
        create_topic(self.bootstrap, topic)  # False when it exists already
        self.errors: list[str] = []
        self.producer = Producer(
            {
                "bootstrap.servers": self.bootstrap,
                # No duplicates from the producer's own retries, nothing acknowledged before
                # every in-sync replica has it.
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 20,
                "log_level": 3,
            }
        )

    def _delivered(self, err, _msg) -> None:  # noqa: ANN001 - confluent_kafka callback
        if err is not None:
            self.errors.append(str(err))

    def produce(self, records: list[Record]) -> int:
        """Produce ``records`` and wait until Kafka acknowledged all; returns bytes produced."""
        size = 0
        for record in records:
            value = record.line.rstrip(b"\r\n")
            key = _path_value(json.loads(value), self.key_field) if self.key_field else None
            while True:
                try:
                    self.producer.produce(
                        self.topic,
                        value=value,
                        key=None if key is None else str(key).encode(),
                        on_delivery=self._delivered,
                    )
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    self.producer.poll(0.5)
            size += len(value)
        left = self.producer.flush(60)
        if left or self.errors:
            why = self.errors[0] if self.errors else f"{left} records not acknowledged in 60 s"
            raise StreamFailed(
                f"producing to topic {self.topic!r} at {self.bootstrap} failed: {why}"
            )
        return size


def check_request(contract: Contract, request: IngestRequest) -> None:
    """Refuse, before anything runs, what this kind cannot do (``lakehouse ingest`` exit 2)."""
    if request.start_date or request.end_date:
        raise WindowError(
            f"source {contract.name} (kind stream) takes no dates: it resumes from its stored "
            "position; bound a run with --max-records or --max-seconds"
        )


def run(
    settings: Settings,
    contract: Contract,
    request: IngestRequest,
    progress: ProgressHook | None = None,
    *,
    client: httpx.Client | None = None,
) -> IngestResult:
    """Read the contract's stream into landing (see the module docstring)."""
    src = contract.source
    if not isinstance(src, StreamSource):
        raise TypeError(f"source {contract.name!r} is kind {src.kind!r}, not stream")
    report = progress or (lambda _key, _text: None)
    clock = Clock()
    lake = settings.lake
    entity = src.lands_as or contract.default_landing()
    base = request.base_url or setting(contract, "base_url") or src.base_url
    key = entity
    outcome = TargetOutcome(key=key, label=f"stream {src.path}", status="failed")
    if not base:
        outcome.reason = (
            f"no base URL: set LAKEHOUSE_{contract.name.upper()}_BASE_URL or base_url: in the "
            "contract"
        )
        return clock.result(
            contract,
            window="",
            endpoint=src.path,
            landing_dir=lake.landing(contract.name, entity),
            targets=[outcome],
        )
    url = str(base).rstrip("/") + src.path
    position_path = state_dir(lake, contract.name) / POSITION_FILE
    stored = read_state(position_path) or {}
    position = Position(
        stored.get("value"), set(stored.get("seen") or []), list(stored.get("after") or [])
    )
    window = (
        f"{src.resume_param}={position.value}"
        if src.resume_param and position.value is not None
        else "from the start of the stream"
    )
    deadline = time.monotonic() + request.max_seconds if request.max_seconds else None
    sink: TopicSink | None = None
    if src.topic:
        try:
            sink = TopicSink(settings, src.topic, src.key_field)
        except Exception as exc:  # KafkaBrokerError, KafkaException: the broker is the problem
            outcome.reason = f"Kafka: {exc}"
            return clock.result(
                contract,
                window=window,
                endpoint=url,
                landing_dir=lake.landing(contract.name, entity),
                targets=[outcome],
            )
    reader = StreamReader(
        settings, src, url, position, deadline=deadline, progress=report, key=key, client=client
    )

    batch: list[Record] = []
    batch_params: dict[str, Any] = {}
    invalid = 0
    landed_records = 0

    def flush() -> None:
        nonlocal landed_records
        if not batch:
            return
        values = [r.value for r in batch if r.value is not None]
        transport = {
            "kind": "stream",
            "url": url,
            "params": batch_params,
            "first": values[0] if values else None,
            "last": values[-1] if values else None,
            "records": len(batch),
        }
        # To a topic, only the records go; lines that are not JSON land, as without a topic.
        to_land = [r for r in batch if not r.valid] if sink else batch
        if sink:
            outcome.bytes += sink.produce([r for r in batch if r.valid])
            outcome.path = f"kafka topic {sink.topic}"
            transport["records"] = len(to_land)
        if to_land:
            landed = land_body(
                lake,
                source=contract.name,
                entity=entity,
                key=key,
                body=b"".join(r.line for r in to_land),
                batch_id=clock.batch_id,
                transport=transport,
                content_type=CONTENT_TYPE,
            )
            outcome.objects += 1 if landed.created else 0
            outcome.bytes += 0 if sink else landed.body_bytes
            outcome.path = outcome.path if sink else str(landed.path)
        outcome.first_event = outcome.first_event or _text(transport["first"])
        outcome.last_event = _text(transport["last"]) or outcome.last_event
        landed_records += len(batch)
        batch.clear()
        if src.resume_field:
            write_state(
                position_path,
                {
                    "resume_param": src.resume_param,
                    "resume_field": src.resume_field,
                    **position.to_dict(),
                    "batch_id": clock.batch_id,
                    "updated_at": utc_text(datetime.now(UTC)),
                },
            )
        report(key, f"{landed_records} records landed")

    report(key, f"reading {url}")
    stopped = ""
    try:
        for record in reader.records():
            if not batch:
                batch_params = dict(reader.params)
            batch.append(record)
            invalid += 0 if record.valid else 1
            if len(batch) >= src.batch_records:
                flush()
            if request.max_records and landed_records + len(batch) >= request.max_records:
                stopped = f"{request.max_records} records"
                break
            if deadline is not None and time.monotonic() >= deadline:
                stopped = "time limit"
                break
        flush()
        outcome.status = "ok"
    except StreamFailed as exc:
        outcome.reason = f"{url}: {exc}"
    except OSError as exc:
        outcome.reason = f"could not write the landing object: {exc}"
    finally:
        try:
            flush()  # records read before a failure are good data: land them
        except OSError as exc:
            outcome.status, outcome.reason = "failed", f"could not write the landing object: {exc}"
        except StreamFailed as exc:
            outcome.status, outcome.reason = "failed", str(exc)
        reader.close()

    outcome.rows = landed_records
    outcome.attempts = reader.attempts
    outcome.duplicate = landed_records > 0 and outcome.objects == 0
    if invalid:
        outcome.warnings.append(_not_json_warning(invalid))
    if reader.ended.startswith("connection dropped"):
        outcome.warnings.append(reader.ended)
    ended = stopped or reader.ended
    log_event(
        logger,
        "stream landed" if outcome.ok else "stream failed",
        logging.INFO if outcome.ok else logging.ERROR,
        stream=key,
        url=url,
        records=landed_records,
        objects=outcome.objects,
        not_json=invalid,
        reconnects=len(reader.reconnects),
        repeated=reader.skipped,
        ended=ended,
        reason=outcome.reason,
    )
    report(
        key,
        f"landed {landed_records} records ({ended})" if outcome.ok else f"failed: {outcome.reason}",
    )
    return clock.result(
        contract,
        window=window,
        endpoint=url,
        landing_dir=lake.landing(contract.name, entity),
        targets=[outcome],
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
