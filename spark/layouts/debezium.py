"""Debezium change events, one per line (Kafka message values), as rows of the source table.

An event is ``{"op", "before", "after", "source": {"lsn", ...}, "ts_ms"}``, possibly wrapped as
``{"schema": ..., "payload": {...}}`` by Kafka Connect's JSON converter. ``op`` ``c`` (create),
``u`` (update) and ``r`` (snapshot read) give the ``after`` image; ``d`` (delete) gives the
``before`` image with ``_deleted`` true. Field paths are relative to the image; ``$.`` paths
(and a late-record ``version_field`` such as ``source.lsn``) read the event. Tombstones (a
``null`` value, or an event with neither op nor images) are skipped: the delete event before
them already says what happened. Bronze gets ``_op`` and ``_deleted`` columns.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark.fields import OP_COLUMN, EntityPlan
from spark.layouts.json_lines import explode_lines, with_line_problem
from spark.layouts.json_tree import CORRUPT, Node, get, prefix, unparseable
from spark.validate import FATAL

OPS = ("c", "u", "d", "r")


def event_type(plan: EntityPlan) -> T.StructType:
    event = Node()
    for value in plan.by_scope("root"):
        event.add(value.rel)
    image = Node()
    for value in plan.by_scope("record"):
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
    roots = [v for v in plan.by_scope("root") if v.column != f"raw__{OP_COLUMN}"]
    return lines.select(
        *keep,
        *[get(ev, v.rel).alias(v.column) for v in roots],
        *[get(image, v.rel).alias(v.column) for v in plan.by_scope("record")],
        op.alias(f"raw__{OP_COLUMN}"),
        F.array(F.col("_p")).alias("_pos"),
    )
