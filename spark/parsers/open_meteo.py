"""Open-Meteo's column-array layout: ``hourly.time[i]`` with ``hourly.<field>[i]`` is one row.

A body looks like ``{"latitude", "longitude", "elevation", "utc_offset_seconds", ...,
"hourly": {"time": ["2025-03-05T00:00", ...], "temperature_2m": [...], ...}}``. The arrays to read
are the contract's fields; every value is kept as the text the API sent, and
:mod:`spark.validate` applies the contract's types and ranges. ``time`` is local wall time of the
response's time zone, so ``observed_at = time - utc_offset_seconds`` (requests ask for GMT, so the
offset is normally 0, but a response in another zone still lands on the right UTC hour).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.contracts import Contract, Entity
from spark.landing_reader import body_prefix
from spark.schema import Check
from spark.validate import problem_struct, raw

# The grid cell the API answered for; not contract fields, but part of every Open-Meteo body.
CONTEXT: list[Check] = [
    Check("latitude", "double", True, (-90.0, 90.0)),
    Check("longitude", "double", True, (-180.0, 180.0)),
    Check("elevation", "double", True, (-500.0, 9000.0)),
    Check("utc_offset_seconds", "integer", True, (-86400.0, 86400.0)),
]

KEY_COLUMN = "city_id"


def body_schema(entity: Entity) -> T.StructType:
    """Schema to read a body with: the contract's fields as arrays of raw text."""
    arrays = [entity.event_time.source_field] + [f.name for f in entity.fields]
    hourly = T.StructType([T.StructField(n, T.ArrayType(T.StringType())) for n in arrays])
    return T.StructType(
        [T.StructField(c.name, T.StringType()) for c in CONTEXT]
        + [T.StructField("hourly", hourly), T.StructField("_corrupt", T.StringType())]
    )


def checks(entity: Entity) -> list[Check]:
    """Every value a row is validated on: event time, context, then the contract's fields."""
    time = Check(entity.event_time.source_field, "timestamp", True, None, entity.event_time.format)
    return [time, *CONTEXT, *(Check.from_contract(f) for f in entity.fields)]


def event_time(entity: Entity) -> Column:
    """UTC event time from the typed wall-clock ``time`` and the response's UTC offset."""
    local = F.col(entity.event_time.source_field)
    return F.timestamp_seconds(F.unix_seconds(local) - F.col("utc_offset_seconds"))


def _unparseable(body: Column) -> Column:
    tail = F.substring(body, -40, 40)
    return F.concat(
        F.lit("unparseable body: not valid JSON ("),
        F.length(body).cast("string"),
        F.lit(" characters, ends with '"),
        tail,
        F.lit("')"),
    )


def explode(objects: DataFrame, contract: Contract, entity: Entity) -> DataFrame:
    """Turn landing objects (:func:`spark.landing_reader.read_objects`) into candidate rows.

    A good object becomes one row per hour with raw values; an object with a problem (from the
    reader, or a body this parser cannot use) becomes a single row whose ``_object_problem``
    says why, so the job handles every object in one pass.
    """
    time_field = entity.event_time.source_field
    # Resolved by name where used: first the reader's problem, then with the body's added.
    ok = F.col("_object_problem").isNull()
    parsed = objects.withColumn(
        "_body",
        F.from_json(
            F.when(ok, F.col("body")),
            body_schema(entity),
            {"columnNameOfCorruptRecord": "_corrupt"},
        ),
    )
    known_cities = [c.id for c in contract.cities]
    times = F.col(f"_body.hourly.{time_field}")
    problems = [
        (
            F.col("body").isNull() | (F.trim(F.col("body")) == ""),
            "body",
            F.lit("empty body"),
        ),
        (F.col("_body._corrupt").isNotNull(), "body", _unparseable(F.col("body"))),
        (
            F.col("key").isNull() | ~F.col("key").isin(known_cities),
            KEY_COLUMN,
            F.concat(
                F.lit(f"{KEY_COLUMN} '"),
                F.coalesce(F.col("key"), F.lit("")),
                F.lit(f"' is not a city of contract {contract.name}"),
            ),
        ),
        (
            times.isNull(),
            f"hourly.{time_field}",
            F.lit(f"missing required field hourly.{time_field}"),
        ),
        (F.size(times) == 0, f"hourly.{time_field}", F.lit("body has no hourly values")),
    ]
    body_problem = F.coalesce(
        *[
            F.when(cond, problem_struct(F.lit(field), F.lit(None), why))
            for cond, field, why in problems
        ]
    )
    checked = parsed.withColumn(
        "_object_problem", F.coalesce(F.col("_object_problem"), body_problem)
    ).withColumn(
        "_record",
        F.coalesce(
            F.col("_record"),
            F.when(F.col("_object_problem").isNotNull(), body_prefix(F.col("body"))),
        ),
    )
    metadata = ["_batch_id", "_landing_path", "_fetched_at", "_ingested_at", "_source_sha256"]
    # Zip the arrays first so each exploded row carries its own values only: exploding the time
    # array beside the whole `hourly` struct copies every month's arrays into every hour's row.
    # A missing array becomes an empty one (its values read as null: "missing required field"),
    # because arrays_zip of a null array is null and the object's rows would vanish.
    names = [time_field, *(f.name for f in entity.fields)]
    empty = F.array().cast(T.ArrayType(T.StringType()))
    zipped = F.arrays_zip(*[F.coalesce(F.col(f"_body.hourly.{n}"), empty).alias(n) for n in names])
    return (
        checked.select(
            F.col("key").alias(KEY_COLUMN),
            *[F.col(f"_body.{c.name}").alias(raw(c.name)) for c in CONTEXT],
            F.size(times).alias("_hours"),
            # _outer: an object with a problem keeps one row (null position) for its quarantine row.
            F.posexplode_outer(F.when(ok, zipped)).alias("_pos", "_values"),
            "_object_problem",
            "_record",
            *metadata,
        )
        # arrays_zip pads to the longest array; the time array decides how many hours there are.
        .where(~ok | (F.col("_pos") < F.col("_hours")))
        .select(
            KEY_COLUMN,
            *[F.col("_values")[n].alias(raw(n)) for n in names],
            *[raw(c.name) for c in CONTEXT],
            "_pos",
            "_object_problem",
            "_record",
            *metadata,
        )
    )
