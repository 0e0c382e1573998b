"""Debezium change events, one per line (Kafka message values), as rows of the source table.

An event is ``{"op", "before", "after", "source": {"lsn", ...}, "ts_ms"}``, possibly wrapped as
``{"schema": ..., "payload": {...}}`` by Kafka Connect's JSON converter. ``op`` ``c`` (create),
``u`` (update) and ``r`` (snapshot read) give the ``after`` image; ``d`` (delete) gives the
``before`` image with ``_deleted`` true. Field paths are relative to the image; ``$.`` paths
(and a late-record ``version_field`` such as ``source.lsn``) read the event. Tombstones (a
``null`` value, or an event with neither op nor images) are skipped: the delete event before
them already says what happened. Bronze gets ``_op`` and ``_deleted`` columns; a field whose
path is ``_deleted`` reads true on a delete (as a polled delete marker's ``"_deleted": true``).

Values read as a polled row's (:mod:`lakehouse.sources.postgres`) so both captures parse alike:
for a contract field of type ``date``, an integer (Debezium's days since 1970-01-01) becomes
``yyyy-mm-dd``; of type ``timestamp``, an integer (microseconds since 1970-01-01,
``time.precision.mode=adaptive_time_microseconds``) becomes ISO-8601 without an offset, and
``timestamptz`` text (``2026-01-02T06:41:00.000000Z``) becomes ISO-8601 with ``+00:00``, the
fraction only when there is one (Python's ``isoformat``). The event time is read likewise.

``delete_image: key`` (what ``capture: cdc`` sets): a delete is a marker like a polled one - its
natural key's fields from ``before`` (under PostgreSQL's default replica identity the other
columns are placeholders), ``_deleted`` true, every other field null, and an event time on the
table's own clock: the newest event time among the other changes of its transaction in the same
landed batch (what a poll right after that transaction stamps its marker with), else the commit
time ``source.ts_ms``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark.fields import OP_COLUMN, EntityPlan, Value
from spark.layouts.json_lines import explode_lines, with_line_problem
from spark.layouts.json_tree import CORRUPT, Node, get, prefix, unparseable
from spark.validate import FATAL

OPS = ("c", "u", "d", "r")
DELETED_PATH = "_deleted"
# Where an event says which transaction and commit it belongs to.
TX_ID, COMMIT_MS = "source.txId", "source.ts_ms"


def event_type(plan: EntityPlan) -> T.StructType:
    event = Node()
    for value in plan.by_scope("root"):
        event.add(value.rel)
    event.add(TX_ID)
    event.add(COMMIT_MS)
    image = Node()
    for value in plan.by_scope("record"):
        if value.rel != DELETED_PATH:
            image.add(value.rel)
    image_type = image.struct()
    fields = [f for f in event.struct().fields if f.name not in ("before", "after")]
    return T.StructType(
        [*fields, T.StructField("before", image_type), T.StructField("after", image_type)]
    )


def line_schema(plan: EntityPlan) -> T.StructType:
    event = event_type(plan)
    return T.StructType([*event.fields, T.StructField("payload", event)])


def rows(objects: DataFrame, plan: EntityPlan) -> DataFrame:
    event = event_type(plan)
    lines, keep = explode_lines(objects, line_schema(plan))
    top = F.struct(*[F.col("_j").getField(f.name).alias(f.name) for f in event.fields])
    lines = lines.withColumn("_event", F.coalesce(F.col("_j.payload"), top))
    ev = F.col("_event")
    ok = F.col(FATAL).isNull()
    tombstone = (
        ok
        & F.col("_j").isNotNull()
        & F.col(f"_j.{CORRUPT}").isNull()
        & (
            ev.getField("op").isNull()
            & ev.getField("before").isNull()
            & ev.getField("after").isNull()
        )
    )
    lines = lines.where(~tombstone)
    lines = with_line_problem(
        lines,
        F.col(f"_j.{CORRUPT}").isNotNull() | F.col("_j").isNull(),
        F.lit("record"),
        prefix(F.col("_line")),
        unparseable(F.col("_line"), "record"),
    )
    op = ev.getField("op")
    op_reason = F.concat(
        F.lit("op="), F.coalesce(op, F.lit("null")), F.lit(f" is not one of [{', '.join(OPS)}]")
    )
    lines = with_line_problem(lines, op.isNull() | ~op.isin(*OPS), F.lit("op"), op, op_reason)
    image = F.when(op == "d", ev.getField("before")).otherwise(ev.getField("after"))
    types = {c.raw_col: c.type for c in plan.checks}
    records = plan.by_scope("record")
    keys = set(_key_columns(plan))
    by_key_only = getattr(plan.entity.layout, "delete_image", "before") == "key"
    event_raw = plan.event_check.raw_col

    def value(v: Value) -> Column:
        if v.rel == DELETED_PATH:
            return F.when(op == "d", F.lit("true"))
        text = as_polled(get(image, v.rel), types.get(v.column))
        if by_key_only and v.column not in keys:
            return F.when(op != "d", text)
        return text

    roots = [v for v in plan.by_scope("root") if v.column != f"raw__{OP_COLUMN}"]
    out = lines.select(
        *keep,
        *[get(ev, v.rel).alias(v.column) for v in roots],
        *[value(v).alias(v.column) for v in records],
        op.alias(f"raw__{OP_COLUMN}"),
        F.array(F.col("_p")).alias("_pos"),
        get(ev, TX_ID).alias("_tx"),
        get(ev, COMMIT_MS).alias("_commit_ms"),
    )
    if by_key_only and event_raw in {v.column for v in records}:
        out = _delete_time(out, event_raw)
    return out.drop("_tx", "_commit_ms")


def _key_columns(plan: EntityPlan) -> list[str]:
    """Raw columns of the natural key (the event time's when it is part of the key)."""
    names = set(plan.entity.natural_key)
    cols = [c.raw_col for c in plan.checks if c.name in names and c is not plan.event_check]
    if plan.entity.event_time.column in names or plan.event_check.name in names:
        cols.append(plan.event_check.raw_col)
    return cols


def as_polled(text: Column, type_name: str | None) -> Column:
    """Debezium's rendering of a date or timestamp as polling lands it (module docstring)."""
    integer = text.rlike(r"^-?[0-9]+$")
    if type_name == "date":
        days = F.date_add(F.lit("1970-01-01").cast("date"), text.cast("int"))
        return F.when(integer, F.date_format(days, "yyyy-MM-dd")).otherwise(text)
    if type_name == "timestamp":
        micros_from_int = text.cast("long")
        zoned = text.rlike(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")
        parsed = F.to_timestamp(F.regexp_replace(text, "Z$", "+00:00"))
        return (
            F.when(integer, _isoformat(micros_from_int, ""))
            .when(zoned, _isoformat(F.unix_micros(parsed), "+00:00"))
            .otherwise(text)
        )
    return text


def _isoformat(micros: Column, offset: str) -> Column:
    """Python's ``datetime.isoformat()`` of UTC microseconds: fraction only when not zero."""
    whole = F.date_format(F.timestamp_micros(micros), "yyyy-MM-dd'T'HH:mm:ss")
    fraction = F.pmod(micros, F.lit(1_000_000))
    return F.concat(
        whole,
        F.when(
            fraction != 0, F.concat(F.lit("."), F.lpad(fraction.cast("string"), 6, "0"))
        ).otherwise(F.lit("")),
        F.lit(offset),
    )


def _delete_time(rows: DataFrame, event_raw: str) -> DataFrame:
    """A delete marker's event time: its transaction's newest, else its commit time."""
    from pyspark.sql import Window

    op = F.col(f"raw__{OP_COLUMN}")
    when = F.to_timestamp(F.col(event_raw))
    same_tx = Window.partitionBy("_landing_path", "_tx")
    newest = F.max(F.when(op != "d", when)).over(same_tx)
    commit = _isoformat(F.col("_commit_ms").cast("long") * 1000, "+00:00")
    # Rendered like the table's own values: with an offset when they carry one.
    offset = F.max(F.when(op != "d", F.col(event_raw).rlike(r"[+-][0-9]{2}:[0-9]{2}$"))).over(
        same_tx
    )
    newest_text = _isoformat(F.unix_micros(newest), "")
    newest_text = F.when(offset, F.concat(newest_text, F.lit("+00:00"))).otherwise(newest_text)
    filled = F.when(newest.isNotNull(), newest_text).otherwise(commit)
    return rows.withColumn(event_raw, F.when(op == "d", filled).otherwise(F.col(event_raw)))
