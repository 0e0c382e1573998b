"""Read landing objects (``lakehouse.landing`` format) with Spark, on a local folder or S3 alike.

Each object is one gzip JSON document ``{"envelope": {...}, "body": "<raw text>"}``. Objects are
listed through Hadoop's FileSystem (the same call serves ``file:`` and ``s3://``), read whole with
the text source (Hadoop decompresses ``.gz``), and split into envelope columns plus the raw body.
Objects whose envelope is unreadable, whose HTTP status is not 2xx or whose body no longer matches
the envelope's sha256 carry an object-level problem; the parser does not parse their bodies and
they become one quarantine row each.
"""

from __future__ import annotations

import re

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakehouse.landing import OBJECT_GLOB
from spark.validate import problem_struct

# Everything as text: a malformed envelope field must not null the whole document.
_ENVELOPE = T.StructType(
    [
        T.StructField(name, T.StringType())
        for name in (
            "source",
            "entity",
            "key",
            "request",
            "http_status",
            "content_type",
            "fetched_at",
            "batch_id",
            "sha256",
            "body_bytes",
        )
    ]
)
_DOCUMENT = T.StructType(
    [
        T.StructField("envelope", _ENVELOPE),
        T.StructField("body", T.StringType()),
        T.StructField("_corrupt", T.StringType()),
    ]
)

_KEY_PATTERN = r"(fetch_date=[^/]+/[^/]+)$"
RECORD_PREFIX_CHARS = 2000


def object_key(path: str) -> str:
    """Stable id of an object, independent of scheme and lake root: ``fetch_date=.../name``."""
    match = re.search(_KEY_PATTERN, path)
    if not match:
        raise ValueError(f"{path} is not a landing object path (…/fetch_date=YYYY-MM-DD/<name>)")
    return match.group(1)


def list_objects(spark: SparkSession, landing_uri: str) -> dict[str, str]:
    """All landed objects under ``landing_uri`` as ``{object_key: path}``, oldest fetch first."""
    jvm = spark.sparkContext._jvm
    pattern = jvm.org.apache.hadoop.fs.Path(f"{landing_uri}/{OBJECT_GLOB}")
    fs = pattern.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    statuses = fs.globStatus(pattern)
    if statuses is None:  # the landing folder does not exist yet
        return {}
    paths = sorted(str(s.getPath().toString()) for s in statuses if s.isFile())
    return {object_key(p): p for p in paths}


def body_prefix(body: Column) -> Column:
    """The start of a body, as the ``record`` of an object-level quarantine row."""
    return F.substring(F.coalesce(body, F.lit("")), 1, RECORD_PREFIX_CHARS)


def read_objects(spark: SparkSession, paths: list[str], ingested_at: Column) -> DataFrame:
    """Read ``paths`` into one row per object, good or not.

    Rows carry ``key``, ``body`` and the metadata columns (``_batch_id``, ``_landing_path``,
    ``_fetched_at``, ``_ingested_at``, ``_source_sha256``), plus ``_object_problem`` (a
    field/raw_value/reason struct, null for a good object) and ``_record`` (what the quarantine
    row of a bad object shows). Bad objects stay in the frame instead of being split off, so the
    job reads and parses every object once.
    """
    text = (
        spark.read.text(paths, wholetext=True)
        .select(F.col("value"), F.col("_metadata.file_path").alias("_landing_path"))
        .withColumn(
            "doc", F.from_json("value", _DOCUMENT, {"columnNameOfCorruptRecord": "_corrupt"})
        )
    )
    env = F.col("doc.envelope")
    body = F.col("doc.body")
    objects = text.select(
        env["key"].alias("key"),
        env["source"].alias("source"),
        env["entity"].alias("entity"),
        env["http_status"].cast("int").alias("http_status"),
        body.alias("body"),
        env["batch_id"].alias("_batch_id"),
        F.col("_landing_path"),
        F.try_to_timestamp(env["fetched_at"]).alias("_fetched_at"),
        ingested_at.alias("_ingested_at"),
        env["sha256"].alias("_source_sha256"),
        F.col("doc._corrupt").isNotNull().alias("_unreadable"),
        F.sha2(F.encode(F.coalesce(body, F.lit("")), "UTF-8"), 256).alias("_body_sha256"),
        F.col("value"),
    )
    objects = objects.withColumn(
        "_unreadable", F.col("_unreadable") | (F.col("body").isNull() & F.col("key").isNull())
    )
    status = F.col("http_status")
    # First failing check wins: (condition, field, raw value, reason).
    checks = [
        (
            F.col("_unreadable"),
            "envelope",
            F.lit(None).cast("string"),
            F.lit("unreadable landing object: not an {envelope, body} JSON document"),
        ),
        (
            F.col("_fetched_at").isNull(),
            "envelope.fetched_at",
            F.lit(None).cast("string"),
            F.lit("envelope has no valid fetched_at"),
        ),
        (
            status.isNull() | ~status.between(200, 299),
            "envelope.http_status",
            status.cast("string"),
            F.concat(
                F.lit("http_status "),
                F.coalesce(status.cast("string"), F.lit("missing")),
                F.lit(" is not 2xx"),
            ),
        ),
        (
            F.col("_body_sha256") != F.coalesce(F.col("_source_sha256"), F.lit("")),
            "envelope.sha256",
            F.col("_source_sha256"),
            F.lit("body does not match the envelope's sha256 (altered after landing)"),
        ),
    ]
    problem = F.coalesce(
        *[F.when(cond, problem_struct(F.lit(field), raw, why)) for cond, field, raw, why in checks]
    )
    record = F.when(
        F.col("_unreadable"), F.substring(F.col("value"), 1, RECORD_PREFIX_CHARS)
    ).otherwise(body_prefix(F.col("body")))
    return (
        objects.withColumn("_object_problem", problem)
        .withColumn("_record", F.when(F.col("_object_problem").isNotNull(), record))
        .drop("_unreadable", "_body_sha256", "value")
    )
