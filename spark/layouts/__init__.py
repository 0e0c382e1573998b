"""Body layouts: how the objects of an entity become candidate rows, chosen by ``layout.type``.

Every layout returns the same frame: one row per candidate record with the raw text of every
value the contract reads (``raw__<field>``), ``_pos`` (the record's position in its object, an
array of indexes), ``_fatal`` (problems that replace the field checks: an unreadable object,
an unparseable line, an envelope value the contract rejects), ``_record`` (what a rejected
object's quarantine row shows), the typed envelope values and the metadata columns. A bad object
is one row in the same frame, so every object is read and parsed once.

- JSON layouts (``column_arrays``, ``records``, ``json_lines``, ``debezium``): objects are opened
  on the executors (:func:`spark.objects.read_documents`), Spark parses the body text.
- Table layouts (``csv``, ``parquet``, ``sas7bdat``, ``text``, ``sas_formats``): the executors
  read the records in chunks with pandas/pyarrow/ReadStat (:func:`spark.objects.read_tables`);
  a large SAS7BDAT file is split into row ranges read by parallel tasks.
"""

from __future__ import annotations

import math
from functools import partial
from types import ModuleType

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark.fields import SPLIT_LAYOUTS, TABLE_LAYOUTS, EntityPlan
from spark.layouts.json_tree import prefix
from spark.objects import ReadSpec, document_columns, read_documents, read_tables, table_columns
from spark.storage import LandedRef
from spark.validate import FATAL, PROBLEMS, apply_checks, problem_struct

METADATA = ["_batch_id", "_landing_path", "_fetched_at", "_ingested_at", "_source_sha256"]
# Gzip bytes of documents per read task (bodies are about ten times that once decompressed).
TASK_BYTES = 16 * 1024 * 1024


def layout_module(kind: str) -> ModuleType:
    """The module that parses bodies of layout ``kind``."""
    from spark.layouts import column_arrays, debezium, json_lines, records, tabular

    modules = {
        "column_arrays": column_arrays,
        "records": records,
        "json_lines": json_lines,
        "debezium": debezium,
        **{kind: tabular for kind in TABLE_LAYOUTS},
    }
    try:
        return modules[kind]
    except KeyError:
        raise ValueError(
            f"no bronze reader for layout {kind!r} (known: {sorted(modules)})"
        ) from None


def read_spec(plan: EntityPlan) -> ReadSpec:
    layout = plan.entity.layout.model_dump()
    envelope = {v.column: v.rel for v in plan.by_scope("envelope")}
    values: dict[str, str] = {}
    if plan.layout in TABLE_LAYOUTS:
        values = {v.column: v.rel for v in plan.values if v.scope != "envelope"}
    required = {c.raw_col for c in plan.checks if c.required}
    return ReadSpec(layout=layout, envelope=envelope, values=values, required=required)


def read_tasks(spark: SparkSession, refs: list[LandedRef]) -> int:
    """Tasks that read ``refs``: about ``TASK_BYTES`` of objects each, at least one per core."""
    total = sum(r.size for r in refs)
    return max(spark.sparkContext.defaultParallelism, math.ceil(total / TASK_BYTES))


def _paths_frame(spark: SparkSession, refs: list[LandedRef], split: bool = False) -> DataFrame:
    """One row per object (path, document, part, parts), spread over about ``TASK_BYTES`` per
    task. With ``split`` (layouts that read a row range), a larger object is ``parts`` rows,
    each read by its own task."""
    rows = []
    # Largest first, dealt round-robin: tasks get similar bytes.
    for r in sorted(refs, key=lambda r: -r.size):
        parts = max(1, math.ceil(r.size / TASK_BYTES)) if split else 1
        rows += [(r.path, r.document, part, parts) for part in range(parts)]
    tasks = max(1, min(len(rows), read_tasks(spark, refs)))
    frame = spark.createDataFrame(rows, "path string, document boolean, part int, parts int")
    return frame.repartition(tasks)


def _schema(columns: list[str], long_columns: tuple[str, ...] = ()) -> T.StructType:
    return T.StructType(
        [T.StructField(c, T.LongType() if c in long_columns else T.StringType()) for c in columns]
    )


def _finish_objects(frame: DataFrame, ingested_at: Column) -> DataFrame:
    """Metadata typed, the reader's problem as ``_fatal``."""
    problem = problem_struct(
        F.col("_problem_field"), F.col("_problem_raw"), F.col("_problem_reason")
    )
    return (
        frame.withColumn("_fetched_at", F.try_to_timestamp(F.col("_fetched_at")))
        .withColumn("_ingested_at", ingested_at)
        .withColumn(FATAL, F.when(F.col("_problem_reason").isNotNull(), F.array(problem)))
        .drop("_problem_field", "_problem_raw", "_problem_reason")
    )


def _object_checks(frame: DataFrame, plan: EntityPlan) -> DataFrame:
    """Checks of envelope values: a failure is the object's (or row's) only problem."""
    if not plan.object_checks:
        return frame
    checked = apply_checks(frame, plan.object_checks, F.col(FATAL))
    return checked.withColumn(FATAL, F.col(PROBLEMS)).drop(PROBLEMS)


def read_candidates(
    spark: SparkSession, plan: EntityPlan, refs: list[LandedRef], ingested_at: Column
) -> DataFrame:
    """Candidate rows of the objects ``refs`` (see the module docstring)."""
    spec = read_spec(plan)
    paths = _paths_frame(spark, refs, split=plan.layout in SPLIT_LAYOUTS)
    module = layout_module(plan.layout)
    if plan.layout in TABLE_LAYOUTS:
        columns = table_columns(spec)
        # Arrow batches straight from the readers: no pandas frames of Python strings between.
        rows = paths.mapInArrow(
            partial(read_tables, spec=spec), _schema(columns, long_columns=("_pos",))
        )
        rows = _object_checks(_finish_objects(rows, ingested_at), plan)
        # An envelope value the contract rejects rejects the object once, not once per record.
        rows = rows.where(F.col(FATAL).isNull() | F.col("_pos").isNull() | (F.col("_pos") == 0))
        return module.rows(rows, plan)
    objects = paths.mapInPandas(partial(read_documents, spec=spec), _schema(document_columns(spec)))
    objects = _object_checks(_finish_objects(objects, ingested_at), plan)
    return module.rows(objects, plan)


def carried(objects: DataFrame, drop: tuple[str, ...] = ("body",)) -> list[str]:
    """Columns of the object frame that every row of the object carries."""
    return [c for c in objects.columns if c not in drop]


def body_problem(objects: DataFrame, checks: list[tuple[Column, str, Column]]) -> DataFrame:
    """Add the first failing body check to ``_fatal`` (objects already failing keep theirs)."""
    problem = F.coalesce(
        *[
            F.when(cond, F.array(problem_struct(F.lit(field), F.lit(None), why)))
            for cond, field, why in checks
        ]
    )
    return objects.withColumn(FATAL, F.coalesce(F.col(FATAL), problem)).withColumn(
        "_record",
        F.coalesce(F.col("_record"), F.when(F.col(FATAL).isNotNull(), prefix(F.col("body")))),
    )
