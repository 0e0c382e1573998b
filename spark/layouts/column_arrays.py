"""Parallel arrays: index i of each array under ``layout.arrays`` is row i.

A body looks like ``{"latitude": ..., "utc_offset_seconds": ..., "hourly": {"time": [...],
"temperature_2m": [...], ...}}`` (an hourly forecast API). The event time's ``source_field``
names the array that decides how many rows there are; a field whose path is not ``$.`` or
``envelope.`` names another array. The arrays are zipped before they are exploded, so a row
carries its own values only, not the whole arrays (exploding one array beside the others copies
every array into every row).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark.fields import EntityPlan
from spark.layouts import body_problem, carried
from spark.layouts.json_tree import CORRUPT, Node, get, parse, unparseable
from spark.validate import FATAL


def body_schema(plan: EntityPlan) -> T.StructType:
    """Root values as text and, under ``layout.arrays``, each array as an array of text."""
    root = Node()
    for value in plan.by_scope("root"):
        root.add(value.rel)
    arrays = plan.entity.layout.arrays
    for value in plan.by_scope("record"):
        root.add(f"{arrays}.{value.rel}", T.ArrayType(T.StringType()))
    return root.struct()


def rows(objects: DataFrame, plan: EntityPlan) -> DataFrame:
    arrays = plan.entity.layout.arrays
    event = plan.value(plan.event_check.raw_col)
    if event.scope != "record":
        raise ValueError(
            f"column_arrays: the event time's source_field {event.path!r} must name an array "
            f"under {arrays!r}"
        )
    ok = F.col(FATAL).isNull()
    parsed = objects.withColumn("_body", parse(F.when(ok, F.col("body")), body_schema(plan)))
    times = get(F.col("_body"), f"{arrays}.{event.rel}")
    time_path = f"{arrays}.{event.rel}"
    checked = body_problem(
        parsed,
        [
            (F.col("body").isNull() | (F.trim(F.col("body")) == ""), "body", F.lit("empty body")),
            (F.col(f"_body.{CORRUPT}").isNotNull(), "body", unparseable(F.col("body"))),
            (times.isNull(), time_path, F.lit(f"missing required field {time_path}")),
            (F.size(times) == 0, time_path, F.lit(f"body has no {arrays} values")),
        ],
    )
    record_values = plan.by_scope("record")
    # A missing array becomes an empty one (its values read as null: "missing required field"),
    # because arrays_zip of a null array is null and the object's rows would vanish.
    empty = F.array().cast(T.ArrayType(T.StringType()))
    zipped = F.arrays_zip(
        *[
            F.coalesce(get(F.col("_body"), f"{arrays}.{v.rel}"), empty).alias(f"v{i}")
            for i, v in enumerate(record_values)
        ]
    )
    keep = carried(checked, drop=("body", "_body"))
    ok = F.col(FATAL).isNull()
    exploded = (
        checked.select(
            *keep,
            *[get(F.col("_body"), v.rel).alias(v.column) for v in plan.by_scope("root")],
            F.size(times).alias("_rows"),
            # _outer: an object with a problem keeps one row (null position) for its quarantine.
            F.posexplode_outer(F.when(ok, zipped)).alias("_p", "_values"),
        )
        # arrays_zip pads to the longest array; the event time's array decides the row count.
        .where(~ok | (F.col("_p") < F.col("_rows")))
    )
    return exploded.select(
        *keep,
        *[v.column for v in plan.by_scope("root")],
        *[F.col("_values").getField(f"v{i}").alias(v.column) for i, v in enumerate(record_values)],
        F.array(F.col("_p")).alias("_pos"),
    )
