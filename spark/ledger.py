"""The ledger of landing objects a bronze table has already absorbed (a small Delta table).

It lives under ``<lake>/_state/bronze/<table>/processed_objects``, outside the data layers, and is
appended only after the bronze MERGE has committed. A crash between the two leaves the objects
unrecorded, so the next run reads them again; the MERGE keeps the row with the latest
``_fetched_at`` and keeps the existing row on ties, so re-merging them changes no data.
"""

from __future__ import annotations

from datetime import datetime

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

LEDGER_SCHEMA = T.StructType(
    [
        T.StructField("object_key", T.StringType(), False),
        T.StructField("landing_path", T.StringType(), False),
        T.StructField("run_id", T.StringType(), False),
        T.StructField("bronze_version", T.LongType()),
        T.StructField("processed_at", T.TimestampType(), False),
    ]
)


def processed_keys(spark: SparkSession, ledger_uri: str) -> set[str]:
    """Keys (``fetch_date=.../name``) of every object recorded as processed."""
    if not DeltaTable.isDeltaTable(spark, ledger_uri):
        return set()
    rows = spark.read.format("delta").load(ledger_uri).select("object_key").distinct().collect()
    return {r.object_key for r in rows}


def record_processed(
    spark: SparkSession,
    ledger_uri: str,
    objects: dict[str, str],
    run_id: str,
    bronze_version: int | None,
    processed_at: datetime,
) -> None:
    """Append one ledger row per object (``{object_key: landing_path}``)."""
    # Built from two array literals inside the JVM (constant-folded into one value each):
    # spark.createDataFrame(list) would start Python workers just to deserialize the rows.
    keys = sorted(objects)
    frame = (
        spark.range(1)
        .select(
            F.posexplode(F.lit(keys)).alias("pos", "object_key"),
            F.lit([objects[k] for k in keys]).alias("paths"),
        )
        .select(
            "object_key",
            F.element_at("paths", F.col("pos") + 1).alias("landing_path"),
            F.lit(run_id).alias("run_id"),
            F.lit(bronze_version).cast("long").alias("bronze_version"),
            F.lit(processed_at).cast("timestamp").alias("processed_at"),
        )
    )
    frame.write.format("delta").mode("append").save(ledger_uri)
