"""Kind ``postgres`` with ``capture: polling``: tables read by watermark into JSON-lines batches.

Per table of ``source.tables`` (keyed by landing entity), one read-only REPEATABLE READ
transaction:

1. ``W`` = the greatest ``watermark_column`` at or after ``since`` (``since`` = the stored
   watermark minus ``overlap_s`` for timestamps and dates; the stored watermark itself for
   numbers and text; nothing stored: the whole table).
2. The rows with ``since <= watermark <= W``, ordered by the watermark then the primary key (no
   primary key: the row's text), through a server-side cursor, ``batch_rows`` at a time.
3. Each batch lands as one JSON-lines document: one object per row, columns in table order,
   values as JSON (numbers, text, booleans, nested JSON; decimals as strings; timestamps as
   ISO-8601, with their offset for ``timestamptz``, read in UTC), transport ``{"kind":
   "postgres", "table", "server", "watermark_from", "watermark_to", "rows"}``. ``server`` is
   ``host:port/database``; the DSN is a secret and is never logged, landed or recorded.
4. After each batch lands, the watermark is stored in
   ``<lake>/_state/ingest/<source>/<entity>.json``.

Rows re-read within the overlap land again (bronze dedupes on the natural key). Batches are cut
where the overlap of this poll begins (``W - overlap``), so the rows the next poll re-reads form
batches of their own: a poll with nothing new reads exactly those rows again, produces the same
bytes, and landing's sha256 dedupe lands nothing. A late row with an older watermark within the
overlap changes the tail's bytes and is landed.

A connection or query failure fails that table alone with one line (the server's own reason,
without the DSN); the other tables go on. ``capture: cdc`` runs Debezium instead
(:mod:`lakehouse.sources.postgres_cdc`).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from lakehouse.contracts import Contract, PostgresSource, PostgresTable
from lakehouse.lake import Lake
from lakehouse.landing import land_body
from lakehouse.log import get_logger, log_event
from lakehouse.settings import Settings
from lakehouse.source_settings import env_name
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
    state_dir,
    utc_text,
    write_state,
)
from lakehouse.sources.postgres_local import configured_dsn, local_server_created, resolve_dsn
from lakehouse.warehouse.server import WarehouseError

logger = get_logger(__name__)

CONTENT_TYPE = "application/x-ndjson"
CONNECT_TIMEOUT_S = 10


class _Failed(Exception):
    """This table cannot be polled; the message is the one line to show."""


# ------------------------------------------------------------------ values


def json_value(value: Any) -> Any:
    """A column value as JSON: numbers, text, booleans; decimals as strings; times as ISO-8601."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


def row_line(names: list[str], values: tuple[Any, ...]) -> bytes:
    """One row as one JSON line (columns in table order, compact, stable)."""
    record = {name: json_value(v) for name, v in zip(names, values, strict=True)}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _encode_watermark(value: Any) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, int | float):
        return {"type": type(value).__name__, "value": value}
    return {"type": "str", "value": str(value)}


def _decode_watermark(stored: dict[str, Any]) -> Any:
    kind, value = stored["type"], stored["value"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def _minus_overlap(value: Any, overlap_s: int) -> Any:
    """Where the re-read starts: ``overlap_s`` earlier for times; the value itself otherwise."""
    if isinstance(value, datetime):
        return value - timedelta(seconds=overlap_s)
    if isinstance(value, date):
        return value - timedelta(days=overlap_s // 86400)
    return value


# ------------------------------------------------------------------ connection


def describe_server(dsn: str) -> str:
    """``host:port/database`` of a DSN (never its user or password)."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "(a DSN that cannot be parsed)"
    host = str(parts.get("host") or parts.get("hostaddr") or "localhost")
    port = str(parts.get("port") or "5432")
    return f"{host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def _secrets_of(dsn: str) -> list[str]:
    try:
        password = conninfo_to_dict(dsn).get("password")
    except psycopg.Error:
        password = None
    return [dsn] + ([str(password)] if password else [])


def _server_reason(exc: psycopg.Error) -> str:
    """The server's own words, on one line: 'password authentication failed for user "x"'."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    for marker in ("FATAL:", "ERROR:"):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    text = re.sub(r"^connection failed:\s*", "", text.strip())
    return re.sub(r"\s+", " ", text).strip() or type(exc).__name__


def failure_line(exc: psycopg.Error, dsn: str) -> str:
    """A connection failure as one line: the server and its reason, never the DSN's secrets."""
    reason = _scrub(_server_reason(exc), _secrets_of(dsn))
    return f"cannot connect to PostgreSQL at {describe_server(dsn)}: {reason}"


def _connect(dsn: str, server: str) -> psycopg.Connection:
    try:
        conn = psycopg.connect(
            dsn, connect_timeout=CONNECT_TIMEOUT_S, application_name="lakehouse-ingest"
        )
    except psycopg.Error as exc:
        raise _Failed(failure_line(exc, dsn)) from None
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    return conn


def _relation(table: str) -> sql.Identifier:
    return sql.Identifier(*table.split(".", 1))


def _primary_key(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "select a.attname from pg_index i "
        "join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
        "where i.indrelid = %s::regclass and i.indisprimary "
        "order by array_position(i.indkey::int2[], a.attnum)",
        [table],
    ).fetchall()
    return [r[0] for r in rows]


# ------------------------------------------------------------------ one table


class _TablePoll:
    def __init__(
        self,
        lake: Lake,
        contract: Contract,
        entity: str,
        table: PostgresTable,
        *,
        server: str,
        batch_id: str,
        progress: ProgressHook,
    ) -> None:
        self.lake, self.contract, self.entity, self.table = lake, contract, entity, table
        self.server, self.batch_id, self.progress = server, batch_id, progress
        self.state_path = state_dir(lake, contract.name) / f"{entity}.json"
        self.outcome = TargetOutcome(key=entity, label=table.table, status="failed")
        self.watermark: Any = None
        self.batch: list[bytes] = []
        self.batch_from: Any = None
        self.batch_to: Any = None

    def _query(self, conn: psycopg.Connection, since: Any, upto: Any) -> sql.Composed:
        t = self.table
        wm = sql.Identifier(t.watermark_column)
        columns = sql.SQL("t.*")
        if t.columns:
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in t.columns)
        key = _primary_key(conn, t.table)
        order = sql.SQL(", ").join(sql.Identifier(k) for k in key) if key else sql.SQL("t::text")
        where = sql.SQL("{wm} <= {upto}").format(wm=wm, upto=sql.Literal(upto))
        if since is not None:
            where = sql.SQL("{wm} >= {since} and ").format(wm=wm, since=sql.Literal(since)) + where
        return sql.SQL(
            "select {wm} as {alias}, {columns} from {table} as t where {where} "
            "order by {wm}, {order}"
        ).format(
            wm=wm,
            alias=sql.Identifier("__lakehouse_watermark"),
            columns=columns,
            table=_relation(t.table),
            where=where,
            order=order,
        )

    def _flush(self) -> None:
        if not self.batch:
            return
        transport = {
            "kind": "postgres",
            "table": self.table.table,
            "server": self.server,
            "watermark_from": json_value(self.batch_from),
            "watermark_to": json_value(self.batch_to),
            "rows": len(self.batch),
        }
        landed = land_body(
            self.lake,
            source=self.contract.name,
            entity=self.entity,
            key=self.table.table,
            body=b"".join(self.batch),
            batch_id=self.batch_id,
            transport=transport,
            content_type=CONTENT_TYPE,
        )
        out = self.outcome
        out.objects += 1 if landed.created else 0
        out.bytes += landed.body_bytes
        out.rows += len(self.batch)
        out.path = str(landed.path)
        out.first_event = out.first_event or str(transport["watermark_from"])
        out.last_event = str(transport["watermark_to"])
        # Only now that the rows are landed does the stored watermark move (never backwards).
        if self.watermark is None or self.batch_to > self.watermark:
            self.watermark = self.batch_to
        write_state(
            self.state_path,
            {
                "table": self.table.table,
                "watermark_column": self.table.watermark_column,
                "watermark": _encode_watermark(self.watermark),
                "batch_id": self.batch_id,
                "updated_at": utc_text(datetime.now(UTC)),
            },
        )
        self.batch = []
        self.progress(self.entity, f"{out.rows} rows landed")

    def run(self, dsn: str) -> TargetOutcome:
        t, out = self.table, self.outcome
        stored = read_state(self.state_path)
        self.watermark = _decode_watermark(stored["watermark"]) if stored else None
        since = _minus_overlap(self.watermark, t.overlap_s) if self.watermark is not None else None
        self.progress(self.entity, f"polling {t.table}")
        try:
            with _connect(dsn, self.server) as conn:
                conn.execute("set time zone 'UTC'")
                self._poll(conn, since)
                if t.track_deletes:
                    self._land_deletes(conn)
            out.status = "ok"
        except _Failed as exc:
            out.reason = str(exc)
        except psycopg.Error as exc:
            reason = exc.diag.message_primary if exc.diag and exc.diag.message_primary else None
            out.reason = f"{t.table}: {_scrub(reason or _server_reason(exc), _secrets_of(dsn))}"
        except OSError as exc:
            out.reason = f"could not write the landing object: {exc}"
        out.duplicate = out.rows > 0 and out.objects == 0
        return out

    def _land_deletes(self, conn: psycopg.Connection) -> None:
        """Land the primary keys gone since the last poll as delete markers (``track_deletes``).

        A marker is the key's columns, the watermark column at the newest watermark this source
        has shown (the table's own clock, so a simulated or lagging clock stays consistent) and
        ``"_deleted": true``. The key set is stored after the markers land, so a crash lands them
        again rather than never.
        """
        t = self.table
        key = _primary_key(conn, t.table)
        if not key:
            raise _Failed(f"{t.table}: track_deletes needs a primary key, and the table has none")
        cols = sql.SQL(", ").join(sql.Identifier(k) for k in key)
        query = sql.SQL("select {cols} from {table}").format(cols=cols, table=_relation(t.table))
        now = {json.dumps([json_value(v) for v in row]) for row in conn.execute(query)}
        keys_path = self.state_path.with_name(f"{self.entity}.keys.json")
        stored = read_state(keys_path)
        gone = sorted(set(stored["keys"]) - now) if stored else []
        if gone and self.watermark is not None:
            mark = json_value(self.watermark)
            lines = [
                json.dumps(
                    {
                        **dict(zip(key, json.loads(k), strict=True)),
                        t.watermark_column: mark,
                        "_deleted": True,
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                ).encode("utf-8")
                + b"\n"
                for k in gone
            ]
            landed = land_body(
                self.lake,
                source=self.contract.name,
                entity=self.entity,
                key=self.table.table,
                body=b"".join(lines),
                batch_id=self.batch_id,
                transport={
                    "kind": "postgres",
                    "table": t.table,
                    "server": self.server,
                    "deleted_keys": len(lines),
                    "watermark_to": mark,
                },
                content_type=CONTENT_TYPE,
            )
            self.outcome.objects += 1 if landed.created else 0
            self.outcome.rows += len(lines)
            self.progress(self.entity, f"{len(lines)} deleted keys landed")
        write_state(keys_path, {"table": t.table, "columns": key, "keys": sorted(now)})

    def _poll(self, conn: psycopg.Connection, since: Any) -> None:
        t = self.table
        wm = sql.Identifier(t.watermark_column)
        top = sql.SQL("select max({wm}) from {table}").format(wm=wm, table=_relation(t.table))
        if since is not None:
            top += sql.SQL(" where {wm} >= {since}").format(wm=wm, since=sql.Literal(since))
        upto = conn.execute(top).fetchone()[0]
        if upto is None:
            return  # nothing at or after the watermark: nothing to land
        tail_from = _minus_overlap(upto, t.overlap_s)
        with conn.cursor(name=f"lakehouse_poll_{self.entity}") as cur:
            cur.itersize = t.batch_rows
            cur.execute(self._query(conn, since, upto))
            names = [d.name for d in cur.description][1:]
            in_tail = None
            for row in cur:
                mark, values = row[0], row[1:]
                tail = mark >= tail_from
                # The rows the next poll re-reads start a batch of their own (same bytes then).
                if self.batch and (len(self.batch) >= t.batch_rows or tail != in_tail):
                    self._flush()
                if not self.batch:
                    self.batch_from, in_tail = mark, tail
                self.batch.append(row_line(names, values))
                self.batch_to = mark
            self._flush()


# ------------------------------------------------------------------ the source


def check_request(contract: Contract, request: IngestRequest) -> None:
    """Refuse, before anything runs, what this kind cannot do (``lakehouse ingest`` exit 2)."""
    if request.start_date or request.end_date:
        raise WindowError(
            f"source {contract.name} (kind postgres) takes no dates: each poll reads the rows "
            "from the stored watermark (minus the overlap) on"
        )


def _nothing_yet(contract: Contract, clock: Clock, lake: Lake, variable: str) -> IngestResult:
    src = contract.source
    assert isinstance(src, PostgresSource)
    note = (
        f"the project's own {contract.name} database has not been created yet, so there is "
        f"nothing to poll (`lakehouse simulate {contract.name}` creates and fills it where a "
        f"simulator exists; or set {variable})"
    )
    targets = [
        TargetOutcome(key=entity, label=table.table, status="ok", warnings=[note])
        for entity, table in src.tables.items()
    ]
    log_event(logger, "no database yet", logging.WARNING, source=contract.name)
    return clock.result(
        contract,
        window="by watermark",
        endpoint="(no database yet)",
        landing_dir=Path(lake.layer("landing")) / contract.name,
        targets=targets,
    )


def run(
    settings: Settings,
    contract: Contract,
    request: IngestRequest,
    progress: ProgressHook | None = None,
) -> IngestResult:
    """Poll every table of the contract into landing (see the module docstring)."""
    src = contract.source
    if not isinstance(src, PostgresSource):
        raise TypeError(f"source {contract.name!r} is kind {src.kind!r}, not postgres")
    report = progress or (lambda _key, _text: None)
    clock = Clock()
    lake = settings.lake
    variable = env_name(contract.name, src.dsn_setting)
    no_dsn = f"{variable} is not set (the PostgreSQL connection string, a secret)"
    if src.local_server and not configured_dsn(contract):
        if not local_server_created(settings, contract):
            # The local stand-in of the source's database does not exist yet: nothing to poll,
            # and no server started just to find that out (the daily refresh runs every source).
            return _nothing_yet(contract, clock, lake, variable)
    try:
        dsn = resolve_dsn(settings, contract)
    except WarehouseError as exc:  # the project's own server for this source did not start
        dsn, no_dsn = None, str(exc).splitlines()[0]
    server = describe_server(dsn) if dsn else "(no DSN)"
    if src.capture == "cdc":
        from lakehouse.sources import postgres_cdc

        return postgres_cdc.run(settings, contract, dsn, no_dsn, server, report)
    targets: list[TargetOutcome] = []
    for entity, table in src.tables.items():
        if not dsn:
            outcome = TargetOutcome(key=entity, label=table.table, status="failed")
            outcome.reason = no_dsn
        else:
            poll = _TablePoll(
                lake,
                contract,
                entity,
                table,
                server=server,
                batch_id=clock.batch_id,
                progress=report,
            )
            outcome = poll.run(dsn)
        log_event(
            logger,
            "table landed" if outcome.ok else "table failed",
            logging.INFO if outcome.ok else logging.ERROR,
            table=table.table,
            server=server,
            rows=outcome.rows,
            objects=outcome.objects,
            watermark_to=outcome.last_event,
            reason=outcome.reason,
        )
        report(entity, f"landed {outcome.rows} rows" if outcome.ok else f"failed: {outcome.reason}")
        targets.append(outcome)
    return clock.result(
        contract,
        window="by watermark",
        endpoint=f"postgresql://{server}",
        landing_dir=Path(lake.layer("landing")) / contract.name,
        targets=targets,
    )
