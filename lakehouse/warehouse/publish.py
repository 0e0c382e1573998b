"""Publish the gold marts into the warehouse so BI users never see a half load.

Write-audit-publish on the warehouse side: the lake's published gold (after its gate passed) is
copied into a fresh schema ``gold__staging_<build>`` with COPY and committed; then ONE transaction
locks the current ``gold`` tables, renames ``gold`` away, renames the staging schema to ``gold``,
drops the old one and records the build in ``lakehouse_meta.publishes``. A reader sees the old
marts or the new ones, never a mix: the swap's exclusive locks wait for readers that are using
the old tables, and readers that arrive during the swap wait for it and then see the new schema.
A failure before the swap drops the staging schema and leaves ``gold`` as it was.

Indexes: a mart's dbt YAML may declare the indexes its analysts' questions need, as lists of
columns under ``config.meta.warehouse.indexes``; they are built in the staging schema after the
load, so the swap publishes them with the rows (see :func:`declared_indexes`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from lakehouse.log import get_logger, log_event
from lakehouse.runs import new_run_id
from lakehouse.settings import Settings
from lakehouse.warehouse.server import WarehouseError, open_connection, require_target

_log = get_logger("warehouse.publish")

GOLD_SCHEMA = "gold"
META_SCHEMA = "lakehouse_meta"
STAGING_PREFIX = "gold__staging_"
RETIRED_PREFIX = "gold__retired_"
# Any fixed 64-bit number: publishes to one database take turns on this advisory lock.
_PUBLISH_LOCK_KEY = 7_146_240_091
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class PublishResult:
    """What one publish did."""

    build_id: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _postgres_type(arrow_type: pa.DataType, column: str) -> str:
    """The PostgreSQL type a BI tool should see for an Arrow column."""
    t = pa.types
    if t.is_boolean(arrow_type):
        return "boolean"
    if t.is_int8(arrow_type) or t.is_int16(arrow_type) or t.is_uint8(arrow_type):
        return "smallint"
    if t.is_int32(arrow_type) or t.is_uint16(arrow_type):
        return "integer"
    if t.is_int64(arrow_type) or t.is_uint32(arrow_type):
        return "bigint"
    if t.is_uint64(arrow_type):
        return "numeric(20, 0)"
    if t.is_float16(arrow_type) or t.is_float32(arrow_type):
        return "real"
    if t.is_float64(arrow_type):
        return "double precision"
    if t.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision}, {arrow_type.scale})"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type):
        return "text"
    if t.is_dictionary(arrow_type):
        return _postgres_type(arrow_type.value_type, column)
    if t.is_date(arrow_type):
        return "date"
    if t.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if t.is_time(arrow_type):
        return "time"
    if t.is_binary(arrow_type) or t.is_large_binary(arrow_type):
        return "bytea"
    raise WarehouseError(
        f"column {column!r} has Arrow type {arrow_type}, which the warehouse publish does not "
        "map; cast it in the mart (marts expose flat, typed columns)"
    )


def _slug(build_id: str) -> str:
    slug = re.sub(r"[^a-z0-9_]", "_", build_id.lower())
    return slug[-(63 - len(STAGING_PREFIX)) :]


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise WarehouseError(
            f"{what} {name!r} is not a plain lower-case SQL name; BI tools and the ODBC DSN "
            "expect names like dim_date"
        )


def _load_table(
    cur, schema: str, name: str, table: pa.Table, indexes: Sequence[Sequence[str]] = ()
) -> int:
    """Create ``schema.name`` from the Arrow schema, COPY the rows in and build ``indexes``."""
    from psycopg import sql

    _check_name(name, "mart")
    for column in table.column_names:
        _check_name(column, f"column of {name}:")
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(_postgres_type(f.type, f.name)))
        for f in table.schema
    )
    cur.execute(
        sql.SQL("create table {}.{} ({})").format(
            sql.Identifier(schema), sql.Identifier(name), columns
        )
    )
    copy_sql = sql.SQL("copy {}.{} ({}) from stdin").format(
        sql.Identifier(schema),
        sql.Identifier(name),
        sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names),
    )
    with cur.copy(copy_sql) as copy:
        for batch in table.to_batches(max_chunksize=50_000):
            for row in zip(*(column.to_pylist() for column in batch.columns), strict=True):
                copy.write_row(row)
    for columns in indexes:
        unknown = sorted(set(columns) - set(table.column_names))
        if unknown:
            raise WarehouseError(
                f"mart {name!r} declares an index on {', '.join(unknown)}, which it does not "
                "have (config.meta.warehouse.indexes in its dbt YAML)"
            )
        # Built after the COPY (one sort, not one insert per row); the name is Postgres's own.
        cur.execute(
            sql.SQL("create index on {}.{} ({})").format(
                sql.Identifier(schema),
                sql.Identifier(name),
                sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            )
        )
    cur.execute(sql.SQL("analyze {}.{}").format(sql.Identifier(schema), sql.Identifier(name)))
    return table.num_rows


def declared_indexes(manifest: Mapping) -> dict[str, list[list[str]]]:
    """Indexes the marts declare (mart -> lists of columns), from dbt's manifest.

    A mart declares them in its YAML, for the questions analysts ask of it::

        config:
          meta:
            warehouse:
              indexes:
                - [arrival_year, arrival_month]
    """
    from lakehouse.dbt import mart_models

    found: dict[str, list[list[str]]] = {}
    for name, node in mart_models(dict(manifest)).items():
        meta = node.get("meta") or (node.get("config") or {}).get("meta") or {}
        indexes = (meta.get("warehouse") or {}).get("indexes") or []
        if not isinstance(indexes, list) or not all(
            isinstance(cols, list) and cols and all(isinstance(c, str) for c in cols)
            for cols in indexes
        ):
            raise WarehouseError(
                f"mart {name!r}: config.meta.warehouse.indexes must be a list of column lists, "
                f"got {indexes!r}"
            )
        if indexes:
            found[name] = [list(cols) for cols in indexes]
    return found


def _drop_leftovers(conn) -> None:
    """Drop staging/retired schemas a killed publish left behind (we hold the publish lock)."""
    from psycopg import sql

    rows = conn.execute(
        "select nspname from pg_namespace where nspname like %s or nspname like %s",
        (STAGING_PREFIX.replace("_", r"\_") + "%", RETIRED_PREFIX.replace("_", r"\_") + "%"),
    ).fetchall()
    for (schema,) in rows:
        conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
        log_event(_log, "warehouse.leftover_dropped", schema=schema)


def publish_tables(
    settings: Settings,
    tables: Mapping[str, pa.Table],
    *,
    build_id: str | None = None,
    lock_timeout_s: float = 120.0,
    indexes: Mapping[str, Sequence[Sequence[str]]] | None = None,
) -> PublishResult:
    """Publish ``tables`` (mart name -> rows) as the warehouse's ``gold`` schema, atomically.

    Args:
        settings: Settings naming the warehouse and its password.
        tables: Every mart of the build; marts missing here are absent from the new ``gold``.
        build_id: The gold build being published (recorded in ``lakehouse_meta.publishes``).
        lock_timeout_s: How long the swap may wait for readers of the old marts before giving
            up (the old marts then stay published).
        indexes: Indexes to build per mart (lists of columns), as :func:`declared_indexes`
            reads them; indexes of marts not in ``tables`` are ignored.

    Returns:
        The build id, the target and the row count per mart.

    Raises:
        WarehouseError: The warehouse is not reachable, a mart cannot be mapped, or the load or
            swap failed; ``gold`` is unchanged in every such case.
    """
    from psycopg import errors, sql

    if not tables:
        raise WarehouseError("nothing to publish: the gold build has no marts")
    build_id = build_id or new_run_id()
    started = time.monotonic()
    target = require_target(settings)
    staging = STAGING_PREFIX + _slug(build_id)
    retired = RETIRED_PREFIX + _slug(build_id)[: 63 - len(RETIRED_PREFIX)]
    rows: dict[str, int] = {}
    with open_connection(target, settings, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_PUBLISH_LOCK_KEY,))
        try:
            _drop_leftovers(conn)
            # Load: one transaction builds the staging schema; nobody reads it.
            try:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute(sql.SQL("create schema {}").format(sql.Identifier(staging)))
                    for name, table in sorted(tables.items()):
                        rows[name] = _load_table(
                            cur, staging, name, table, (indexes or {}).get(name, ())
                        )
            except errors.Error as exc:
                raise WarehouseError(f"loading gold into the warehouse failed: {exc}") from None
            # Swap: one transaction, so readers see the old gold or the new, never a mix.
            _swap_with_retries(conn, staging, retired, build_id, rows, lock_timeout_s)
        except BaseException:
            _drop_quietly(conn, staging)
            raise
        finally:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", (_PUBLISH_LOCK_KEY,))
    result = PublishResult(
        build_id=build_id,
        target=target.describe(),
        rows=rows,
        seconds=round(time.monotonic() - started, 3),
    )
    log_event(
        _log,
        "warehouse.published",
        build_id=build_id,
        target=result.target,
        marts=len(rows),
        rows=sum(rows.values()),
        seconds=result.seconds,
    )
    return result


def _swap_with_retries(
    conn, staging: str, retired: str, build_id: str, rows: Mapping[str, int], lock_timeout_s: float
) -> None:
    """Run :func:`_swap`, giving way to readers: on a deadlock the swap (not the reader) retries."""
    from psycopg import errors

    deadline = time.monotonic() + lock_timeout_s
    attempt = 0
    while True:
        attempt += 1
        remaining = max(deadline - time.monotonic(), 0.1)
        try:
            _swap(conn, staging, retired, build_id, rows, remaining)
            return
        except errors.DeadlockDetected:
            if time.monotonic() >= deadline:
                break
            log_event(_log, "warehouse.swap_retry", build_id=build_id, attempt=attempt)
            time.sleep(min(0.2 * attempt, 2.0))
        except errors.LockNotAvailable:
            break
        except errors.Error as exc:
            raise WarehouseError(f"swapping in the new gold failed: {exc}") from None
    raise WarehouseError(
        f"readers held the published marts longer than {lock_timeout_s:g}s; the previous gold "
        "stays published, retry the publish"
    )


def _swap(
    conn, staging: str, retired: str, build_id: str, rows: Mapping[str, int], timeout_s: float
) -> None:
    """Rename ``gold`` away, staging to ``gold``, drop the old marts: one transaction."""
    from psycopg import sql

    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            sql.SQL("set local lock_timeout = {}").format(sql.Literal(f"{int(timeout_s * 1000)}ms"))
        )
        # A reader holding one mart while waiting for another deadlocks with the swap; the
        # process whose deadlock_timeout fires first detects it and aborts itself, so a short
        # timeout here makes the swap the one that gives way (and retries), not the reader.
        cur.execute("set local deadlock_timeout = '100ms'")
        old_tables = [
            r[0]
            for r in cur.execute(
                "select tablename from pg_tables where schemaname = %s order by tablename",
                (GOLD_SCHEMA,),
            ).fetchall()
        ]
        has_gold = cur.execute(
            "select 1 from pg_namespace where nspname = %s", (GOLD_SCHEMA,)
        ).fetchone()
        if old_tables:
            # Wait here, before any rename, until readers of the old marts finish.
            cur.execute(
                sql.SQL("lock table {} in access exclusive mode").format(
                    sql.SQL(", ").join(sql.Identifier(GOLD_SCHEMA, t) for t in old_tables)
                )
            )
        if has_gold:
            cur.execute(
                sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(GOLD_SCHEMA), sql.Identifier(retired)
                )
            )
        cur.execute(
            sql.SQL("alter schema {} rename to {}").format(
                sql.Identifier(staging), sql.Identifier(GOLD_SCHEMA)
            )
        )
        if has_gold:
            cur.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(retired)))
        _record(cur, build_id, rows)


def _record(cur, build_id: str, rows: Mapping[str, int]) -> None:
    from psycopg import sql
    from psycopg.types.json import Jsonb

    cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(META_SCHEMA)))
    cur.execute(
        sql.SQL(
            "create table if not exists {}.publishes ("
            "build_id text not null, published_at timestamptz not null default now(), "
            "marts jsonb not null)"
        ).format(sql.Identifier(META_SCHEMA))
    )
    cur.execute(
        sql.SQL("insert into {}.publishes (build_id, marts) values (%s, %s)").format(
            sql.Identifier(META_SCHEMA)
        ),
        (build_id, Jsonb(dict(rows))),
    )


def _drop_quietly(conn, schema: str) -> None:
    """Best-effort cleanup of a staging schema after a failure (the next publish retries it)."""
    from psycopg import Error, sql

    try:
        if conn.closed:
            return
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
    except Error:
        pass


def last_publish(settings: Settings) -> dict | None:
    """The newest ``lakehouse_meta.publishes`` row (build_id, published_at, marts), or None."""
    target = require_target(settings)
    with open_connection(target, settings, autocommit=True) as conn:
        exists = conn.execute(
            "select 1 from pg_tables where schemaname = %s and tablename = 'publishes'",
            (META_SCHEMA,),
        ).fetchone()
        if not exists:
            return None
        row = conn.execute(
            f"select build_id, published_at, marts from {META_SCHEMA}.publishes "
            "order by published_at desc limit 1"
        ).fetchone()
    if row is None:
        return None
    return {"build_id": row[0], "published_at": row[1], "marts": row[2]}


def publish_gold(
    settings: Settings, build_id: str | None = None, *, with_indexes: bool = True
) -> PublishResult:
    """Publish the lake's published gold (every mart of one consistent build) to the warehouse,
    with the indexes the marts declare (``with_indexes=False`` leaves them out: benchmarks)."""
    from lakehouse import gold
    from lakehouse.dbt import load_manifest

    pointer = gold.published_pointer(settings)
    if pointer is None:
        raise WarehouseError("no published gold on the lake yet: run `lakehouse transform` first")
    return publish_tables(
        settings,
        gold.read_marts(settings),
        build_id=build_id or pointer["build_id"],
        indexes=declared_indexes(load_manifest(settings)) if with_indexes else None,
    )


def publish_after_lake(settings: Settings, build_id: str) -> dict:
    """The transform's warehouse step, run only after the lake's gold gate passed and published.

    The lake never needs the warehouse: with ``warehouse_publish=auto`` the step publishes when
    the project's server is running or a port is configured and otherwise says why it skipped;
    a failing warehouse is reported, not raised. With ``always`` a failure raises.

    Returns:
        ``{"step": "warehouse", "published": bool, ...}`` with ``target``/``rows`` or ``reason``.
    """
    from lakehouse.warehouse.server import resolve_target

    step: dict = {"step": "warehouse", "published": False}
    if settings.warehouse_publish == "never":
        return step | {"reason": "disabled (LAKEHOUSE_WAREHOUSE_PUBLISH=never)"}
    if settings.warehouse_publish == "auto" and resolve_target(settings) is None:
        return step | {"reason": "warehouse not running (lakehouse warehouse start)"}
    try:
        result = publish_gold(settings, build_id=build_id)
    except WarehouseError as exc:
        if settings.warehouse_publish == "always":
            raise
        log_event(
            _log,
            "warehouse.publish_failed",
            level=logging.WARNING,
            build_id=build_id,
            error=str(exc),
        )
        return step | {"reason": f"failed: {exc}"}
    return step | {
        "published": True,
        "target": result.target,
        "rows": sum(result.rows.values()),
        "seconds": result.seconds,
    }
